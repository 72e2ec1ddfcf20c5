package bridge_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tmux-orc/tmux-orc/bridge"
	"github.com/tmux-orc/tmux-orc/subjects"
)

// These need no tmux: they measure turning envelopes into the line the bridge types.

func renderEnvelope(b *testing.B, p subjects.Priority, body string) *subjects.Envelope {
	a, err := subjects.ParseTarget("backend-dev:2")
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now().UTC()
	return &subjects.Envelope{ID: subjects.NewID(now), Timestamp: now, Source: subjects.Source{Type: "cli", Identifier: "pm:1"},
		Target: a, Message: subjects.Message{Type: "notification", Priority: p,
			Content: subjects.Content{Subject: subjects.SubjectLine(body), Body: body}}}
}

func BenchmarkRender(b *testing.B) {
	for name, body := range map[string]string{
		"short":     "Agent backend-dev:2 idle 15min",
		"multiline": "STATUS REQUEST:\n- current task\n- progress\n- blockers\n\nreply with tmux-orc ack",
		"4KiB":      strings.Repeat("rebase onto main; tests in ./bridge fail — see log. ", 80), // cut at MaxInline
	} {
		b.Run(name, func(b *testing.B) {
			e := renderEnvelope(b, subjects.High, body)
			b.ReportAllocs()
			for b.Loop() {
				_ = bridge.Render(e, bridge.DefaultMaxInline)
			}
		})
	}
}

func BenchmarkRenderBatch(b *testing.B) {
	for _, n := range []int{3, 20} {
		b.Run(fmt.Sprintf("%d-low", n), func(b *testing.B) {
			es := make([]*subjects.Envelope, n)
			for i := range es {
				es[i] = renderEnvelope(b, subjects.Low, fmt.Sprintf("low-priority note %d: lint warnings in ./cli", i))
			}
			b.ReportAllocs()
			for b.Loop() {
				_ = bridge.RenderBatch(es, bridge.DefaultMaxInline)
			}
		})
	}
}
