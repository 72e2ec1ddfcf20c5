package subjects_test

import (
	"strings"
	"testing"
	"time"

	"github.com/tmux-orc/tmux-orc/subjects"
)

// Names as tmux users write them: plain, with a dot and a space (escaped), and non-ASCII.
var benchNames = []string{"backend-dev", "my.project", "editor window", "équipe-日本"}

func BenchmarkEncodeToken(b *testing.B) {
	for _, name := range benchNames {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = subjects.EncodeToken(name)
			}
		})
	}
}

func benchAddress(b *testing.B) subjects.Address {
	a, err := subjects.ParseTarget("my.project:editor window")
	if err != nil {
		b.Fatal(err)
	}
	return a
}

func BenchmarkMessageSubject(b *testing.B) {
	a := benchAddress(b)
	id := subjects.NewID(time.Now())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := subjects.MessageSubject(subjects.High, a, id); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseMessageSubject(b *testing.B) {
	subj, err := subjects.MessageSubject(subjects.High, benchAddress(b), subjects.NewID(time.Now()))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, _, err := subjects.ParseMessageSubject(subj); err != nil {
			b.Fatal(err)
		}
	}
}

// benchEnvelope is the README's example message: a 30-byte body, two tags, context.
func benchEnvelope(b *testing.B, body string) *subjects.Envelope {
	a, err := subjects.ParseTarget("backend-dev:2")
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now().UTC()
	return &subjects.Envelope{ID: subjects.NewID(now), Timestamp: now,
		Source: subjects.Source{Type: "cli", Identifier: "pm:1", Host: "devbox"}, Target: a,
		Message: subjects.Message{Type: "notification", Category: "health", Priority: subjects.High,
			Content: subjects.Content{Subject: subjects.SubjectLine(body), Body: body,
				Context: map[string]any{"agent": "backend-dev:2", "idle_duration": "900"}}},
		Metadata: subjects.Metadata{RequiresAck: true, Tags: []string{"monitoring", "idle"}, CorrelationID: "session-123"}}
}

var benchBodies = map[string]string{
	"short": "Agent backend-dev:2 idle 15min",
	"4KiB":  strings.Repeat("STATUS: all tests pass; rebasing onto main next. ", 84),
}

func BenchmarkEnvelopeEncode(b *testing.B) {
	for _, size := range []string{"short", "4KiB"} {
		b.Run(size, func(b *testing.B) {
			e := benchEnvelope(b, benchBodies[size])
			b.ReportAllocs()
			for b.Loop() {
				if _, err := e.Encode(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkEnvelopeDecode(b *testing.B) {
	for _, size := range []string{"short", "4KiB"} {
		b.Run(size, func(b *testing.B) {
			data, err := benchEnvelope(b, benchBodies[size]).Encode()
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := subjects.Decode(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
