package subjects_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tmux-orc/tmux-orc/subjects"
)

func TestTargetsRoundTripThroughSubjects(t *testing.T) {
	names := []string{"backend-dev", "my.project", "with space", "star*", ">", "a>b", "日本語", "équipe",
		"100%", "~", "tilde~", "a:b", "pm", "-leading-dash", "semi;colon", "quote'\"", "emoji🚀", "tab\tname"}
	for _, p := range subjects.Priorities {
		for _, session := range names {
			if strings.Contains(session, ":") || strings.Contains(session, "\t") {
				continue
			}
			for _, window := range append([]string{""}, names...) {
				if strings.Contains(window, "\t") {
					continue
				}
				a := subjects.Address{Kind: subjects.KindSession, Session: session, Window: window}
				subj, err := subjects.MessageSubject(p, a, "m1")
				if err != nil {
					t.Fatalf("MessageSubject(%q:%q): %v", session, window, err)
				}
				if n := len(strings.Split(subj, ".")); n != 6 {
					t.Fatalf("subject %q has %d tokens, want 6", subj, n)
				}
				if strings.ContainsAny(subj, " *>\t") {
					t.Fatalf("subject %q contains a space or wildcard", subj)
				}
				gp, ga, gid, err := subjects.ParseMessageSubject(subj)
				if err != nil {
					t.Fatalf("ParseMessageSubject(%q): %v", subj, err)
				}
				if gp != p || ga != a || gid != "m1" {
					t.Fatalf("round trip of %+v gave %v %+v %q", a, gp, ga, gid)
				}
			}
		}
	}
}

func TestReadableSubjects(t *testing.T) {
	a, err := subjects.ParseTarget("backend-dev:2")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := subjects.MessageSubject(subjects.High, a, "abc")
	if want := "orc.high.session.backend-dev.2.abc"; got != want {
		t.Fatalf("got %q want %q", got, want)
	}
	g, _ := subjects.GroupAddress("management", "")
	got, _ = subjects.MessageSubject(subjects.Critical, g, "abc")
	if want := "orc.critical.group.management.~.abc"; got != want {
		t.Fatalf("got %q want %q", got, want)
	}
	a, _ = subjects.ParseTarget("my.proj:editor window")
	got, _ = subjects.MessageSubject(subjects.Low, a, "x")
	if want := "orc.low.session.my%2Eproj.editor%20window.x"; got != want {
		t.Fatalf("got %q want %q", got, want)
	}
}

func TestParseTargetErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "session name is empty"},
		{":2", "session name is empty"},
		{"pm:", "window after ':' is empty"},
		{"pm\x1b:1", "control character"},
		{"pm:\x00", "control character"},
		{"\xff:1", "not valid UTF-8"},
		{strings.Repeat("a", 300), "limit is 256"},
	} {
		_, err := subjects.ParseTarget(tc.in)
		if err == nil || !errors.Is(err, subjects.ErrTarget) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseTarget(%q) = %v, want ErrTarget mentioning %q", tc.in, err, tc.want)
		}
	}
	a, err := subjects.ParseTarget("pm:1:with:colons")
	if err != nil || a.Session != "pm" || a.Window != "1:with:colons" {
		t.Fatalf("window with colons: %+v %v", a, err)
	}
}

func TestGroupsAndPriorities(t *testing.T) {
	for _, bad := range []string{"", "Management", "has space", "a.b", "-x", strings.Repeat("g", 65)} {
		if _, err := subjects.GroupAddress(bad, ""); !errors.Is(err, subjects.ErrGroup) {
			t.Errorf("group %q: got %v, want ErrGroup", bad, err)
		}
	}
	if _, err := subjects.ParsePriority("urgent"); err == nil || !strings.Contains(err.Error(), `unknown priority "urgent"`) {
		t.Fatalf("got %v", err)
	}
	ps, err := subjects.ParsePriorityList("low,CRITICAL,high,low")
	if err != nil || len(ps) != 3 || ps[0] != subjects.Critical || ps[2] != subjects.Low {
		t.Fatalf("got %v %v", ps, err)
	}
	if _, err := subjects.ParsePriorityList("high,,low"); err == nil {
		t.Fatal("empty list item accepted")
	}
}

func TestFiltersSelectTheRightSubjects(t *testing.T) {
	mk := func(p subjects.Priority, a subjects.Address) string {
		s, err := subjects.MessageSubject(p, a, "id1")
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	w2, _ := subjects.ParseTarget("be:2")
	w3, _ := subjects.ParseTarget("be:3")
	whole, _ := subjects.ParseTarget("be")
	other, _ := subjects.ParseTarget("fe:2")
	mgmt, _ := subjects.GroupAddress("management", "")
	mgmtBe, _ := subjects.GroupAddress("management", "be")
	mgmtFe, _ := subjects.GroupAddress("management", "fe")
	all := map[string]subjects.Address{"w2": w2, "w3": w3, "whole": whole, "other": other, "mgmt": mgmt, "mgmtBe": mgmtBe, "mgmtFe": mgmtFe}
	for _, tc := range []struct {
		sel  subjects.Address
		want []string
	}{
		{w2, []string{"w2"}},
		{whole, []string{"w2", "w3", "whole"}},
		{mgmt, []string{"mgmt", "mgmtBe", "mgmtFe"}},
		{mgmtBe, []string{"mgmt", "mgmtBe"}},
		{subjects.Address{}, []string{"w2", "w3", "whole", "other", "mgmt", "mgmtBe", "mgmtFe"}},
	} {
		got := map[string]bool{}
		for name, a := range all {
			for _, f := range subjects.Filters(subjects.High, tc.sel) {
				if matchSubject(f, mk(subjects.High, a)) {
					got[name] = true
				}
			}
			for _, f := range subjects.Filters(subjects.Low, tc.sel) {
				if matchSubject(f, mk(subjects.High, a)) {
					t.Fatalf("low filter %q matched a high subject", f)
				}
			}
		}
		if len(got) != len(tc.want) {
			t.Errorf("selector %v matched %v, want %v", tc.sel, got, tc.want)
		}
		for _, w := range tc.want {
			if !got[w] {
				t.Errorf("selector %v did not match %s", tc.sel, w)
			}
		}
	}
}

// matchSubject implements NATS wildcard matching for the test.
func matchSubject(filter, subject string) bool {
	f, s := strings.Split(filter, "."), strings.Split(subject, ".")
	for i, tok := range f {
		if tok == ">" {
			return len(s) > i
		}
		if i >= len(s) || (tok != "*" && tok != s[i]) {
			return false
		}
	}
	return len(f) == len(s)
}

func TestNewIDsAreUniqueAndSortByTime(t *testing.T) {
	seen := map[string]bool{}
	prev := ""
	base := time.Now()
	for i := 0; i < 10000; i++ {
		id := subjects.NewID(base.Add(time.Duration(i) * time.Millisecond))
		if err := subjects.ValidateID(id); err != nil {
			t.Fatal(err)
		}
		if seen[id] {
			t.Fatalf("duplicate id %s", id)
		}
		if id[:9] < prev {
			t.Fatalf("ids do not sort by time: %s after %s", id, prev)
		}
		prev = id[:9]
		seen[id] = true
	}
}

func validEnvelope() *subjects.Envelope {
	a, _ := subjects.ParseTarget("backend-dev:2")
	return &subjects.Envelope{
		ID: "daemon-health-1234567890", Timestamp: time.Date(2025, 1, 15, 10, 30, 45, 0, time.UTC),
		Source: subjects.Source{Type: "daemon", Identifier: "monitoring-daemon"}, Target: a,
		Message: subjects.Message{Type: "notification", Category: "health", Priority: subjects.High,
			Content: subjects.Content{Subject: "Agent Health Alert", Body: "Agent backend:1 has been idle for 30 minutes",
				Context: map[string]any{"agent": "backend:1", "idle_duration": 1800.0}}},
		Metadata: subjects.Metadata{RequiresAck: true, Tags: []string{"health", "idle"}, CorrelationID: "session-123"},
	}
}

func TestEnvelopeMatchesTheGuideFormat(t *testing.T) {
	b, err := validEnvelope().Encode()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"id":"daemon-health-1234567890"`, `"timestamp":"2025-01-15T10:30:45Z"`,
		`"source":{"type":"daemon","identifier":"monitoring-daemon"}`, `"priority":"high"`,
		`"content":{"subject":"Agent Health Alert"`, `"requires_ack":true`, `"correlation_id":"session-123"`,
		`"tags":["health","idle"]`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("encoded envelope lacks %s:\n%s", want, b)
		}
	}
	back, err := subjects.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if back.Message.Content.Context["idle_duration"] != 1800.0 || back.Target.Window != "2" {
		t.Fatalf("decoded %+v", back)
	}
}

func TestEnvelopeValidation(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(e *subjects.Envelope)
		want   string
	}{
		{"empty body", func(e *subjects.Envelope) { e.Message.Content.Body = " \n " }, "body is empty"},
		{"huge body", func(e *subjects.Envelope) { e.Message.Content.Body = strings.Repeat("x", subjects.MaxBodyBytes+1) }, "limit is 32768"},
		{"bad utf8", func(e *subjects.Envelope) { e.Message.Content.Body = "a\xffb" }, "not valid UTF-8"},
		{"no priority", func(e *subjects.Envelope) { e.Message.Priority = 0 }, "unknown priority"},
		{"no sender", func(e *subjects.Envelope) { e.Source.Identifier = "" }, "sender"},
		{"bad tag", func(e *subjects.Envelope) { e.Metadata.Tags = []string{"has space"} }, "invalid tag"},
		{"bad id", func(e *subjects.Envelope) { e.ID = "a.b" }, "invalid message id"},
		{"no time", func(e *subjects.Envelope) { e.Timestamp = time.Time{} }, "timestamp"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := validEnvelope()
			tc.mutate(e)
			_, err := e.Encode()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error mentioning %q", err, tc.want)
			}
		})
	}
	if _, err := subjects.Decode([]byte(`{"id":`)); err == nil {
		t.Fatal("truncated JSON accepted")
	}
}

func TestSubjectLine(t *testing.T) {
	if got := subjects.SubjectLine("\n  first line  \nsecond"); got != "first line" {
		t.Fatalf("got %q", got)
	}
	if got := subjects.SubjectLine(strings.Repeat("é", 100)); len([]rune(got)) != 80 {
		t.Fatalf("got %d runes", len([]rune(got)))
	}
}
