package subjects_test

import (
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tmux-orc/tmux-orc/subjects"
)

func FuzzTokenRoundTrip(f *testing.F) {
	for _, s := range []string{"backend-dev", "a.b", " ", "*", ">", "日本", "%41", "~", "%", "a%2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if utf8.ValidString(s) && s != "" {
			tok := subjects.EncodeToken(s)
			if strings.ContainsAny(tok, ". \t\r\n*>") || tok == subjects.Any {
				t.Fatalf("EncodeToken(%q) = %q is not a safe subject token", s, tok)
			}
			back, err := subjects.DecodeToken(tok)
			if err != nil || back != s {
				t.Fatalf("DecodeToken(EncodeToken(%q)) = %q, %v", s, back, err)
			}
		}
		// Any token that decodes must be canonical: encoding the name gives the token back.
		if name, err := subjects.DecodeToken(s); err == nil && subjects.EncodeToken(name) != s {
			t.Fatalf("DecodeToken(%q) = %q but that encodes to %q", s, name, subjects.EncodeToken(name))
		}
	})
}

func FuzzParseMessageSubject(f *testing.F) {
	f.Add("orc.high.h1.backend-dev.2.abc")
	f.Add("orc.critical.~.~.@management.x1")
	f.Add("orc.normal.h1.backend.@agents.x1")
	f.Add("orc.low.h1.a%20b.~.id")
	f.Add("orc.low.h1.b.%40w.id")
	f.Fuzz(func(t *testing.T, s string) {
		p, a, id, err := subjects.ParseMessageSubject(s)
		if err != nil {
			return
		}
		again, err := subjects.MessageSubject(p, a, id)
		if err != nil || again != s {
			t.Fatalf("ParseMessageSubject(%q) gave %v %+v %q, which renders as %q (%v)", s, p, a, id, again, err)
		}
	})
}

func FuzzParseTarget(f *testing.F) {
	for _, s := range []string{"backend:2", "h1.backend:2", ".b", "h.", "a.b.c", "h1.pm:1:x.y", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := subjects.ParseTarget(s)
		if err != nil {
			return
		}
		// A target that parses renders back to itself and, with a host, has a subject.
		if a.String() != s {
			t.Fatalf("ParseTarget(%q).String() = %q", s, a.String())
		}
		if a.Host == "" {
			a.Host = "h"
		}
		subj, err := subjects.MessageSubject(subjects.Normal, a, "id")
		if err != nil {
			t.Fatalf("MessageSubject(%+v): %v", a, err)
		}
		if _, back, _, err := subjects.ParseMessageSubject(subj); err != nil || back != a {
			t.Fatalf("%q: subject %q parses to %+v, %v", s, subj, back, err)
		}
	})
}

func FuzzDecodeEnvelope(f *testing.F) {
	b, _ := validEnvelope().Encode()
	f.Add(b)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"id":"x","message":{"priority":"urgent"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := subjects.Decode(data)
		if err != nil {
			return
		}
		// Whatever decodes is valid, encodes, and decodes to the same subject.
		out, err := e.Encode()
		if err != nil {
			t.Fatalf("decoded envelope does not encode: %v", err)
		}
		e2, err := subjects.Decode(out)
		if err != nil {
			t.Fatalf("re-encoded envelope does not decode: %v", err)
		}
		s1, _ := e.Subject()
		s2, _ := e2.Subject()
		if s1 != s2 {
			t.Fatalf("subject changed: %q vs %q", s1, s2)
		}
	})
}

// FuzzDecodeMatchesStdlib checks Decode's fast path against encoding/json, the authority:
// whatever the fast decoder accepts must be exactly what encoding/json makes of the same
// bytes, and Decode must accept and refuse exactly what encoding/json and Validate do.
func FuzzDecodeMatchesStdlib(f *testing.F) {
	b, _ := validEnvelope().Encode()
	f.Add(b)
	e := validEnvelope()
	e.Message.Content.Context = map[string]any{"n": 1.5, "s": "x", "l": []any{true, nil}, "m": map[string]any{"k": "v"}}
	e.Metadata.CorrelationID = "c-1"
	b, _ = e.Encode()
	f.Add(b)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"id":"x","message":{"priority":"urgent"}}`))
	f.Add([]byte(`{"ID":"a1","id":"b2","Message":{"Priority":"high"}}`))
	f.Add([]byte("{\"id\":\"a1\",\"message\":{\"content\":{\"body\":\"\xff\xfe\"}}}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, gerr := subjects.Decode(data)
		want, werr := subjects.DecodeStd(data)
		if (gerr == nil) != (werr == nil) {
			t.Fatalf("Decode error %v, encoding/json %v", gerr, werr)
		}
		if gerr == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("Decode gives\n%+v\nencoding/json\n%+v", got, want)
		}
		if fast, ok := subjects.DecodeFast(data); ok && fast.Validate() == nil {
			if werr != nil {
				t.Fatalf("the fast decoder accepts what encoding/json refuses (%v): %+v", werr, fast)
			}
			if !reflect.DeepEqual(fast, want) {
				t.Fatalf("fast decoder gives\n%+v\nencoding/json\n%+v", fast, want)
			}
		}
	})
}
