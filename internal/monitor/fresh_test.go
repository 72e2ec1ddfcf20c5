package monitor_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tmux-orc/tmux-orc/subjects"
)

// TestFreshAgentIsReportedOnceThenResolvedWhenBriefed: an agent that started and got no task
// within FreshAfter is reported once (normal, not also as idle), and a resolved message
// follows when it starts working.
func TestFreshAgentIsReportedOnceThenResolvedWhenBriefed(t *testing.T) {
	w := newWorld(t)
	w.cfg.FreshAfter, w.cfg.FreshSettle = 400*time.Millisecond, 0
	w.cfg.IdleAfter = 800 * time.Millisecond
	w.agent("alpha:pm", "pm")
	w.agent("alpha:dev", "agent")
	w.start()
	got := w.waitAlerts("alpha", "fresh", 1)
	w.settle()
	if fresh := tagged(w.alerts("alpha"), "fresh"); len(fresh) != 1 {
		t.Fatalf("want one fresh alert, got%s", describe(fresh))
	}
	a := got[0]
	if a.Message.Priority != subjects.Normal || !strings.HasPrefix(a.Message.Content.Body, "Fresh agent alpha:1.0 started") {
		t.Fatalf("fresh alert%s", describe(got))
	}
	// Not reported idle as well, and the PM is never "fresh".
	for _, r := range w.alerts("alpha") {
		if r.HasTag("idle") || strings.Contains(r.Message.Content.Body, "alpha:0.0") {
			t.Fatalf("unexpected alert %q %v; all:%s", r.Message.Content.Body, r.Metadata.Tags, describe(w.alerts("alpha")))
		}
	}
	w.tmux("send-keys", "-t", "=alpha:dev", "-l", "your task: fix the build")
	time.Sleep(200 * time.Millisecond)
	w.tmux("send-keys", "-t", "=alpha:dev", "Enter")
	res := w.waitAlerts("alpha", "resolved", 1)
	if !strings.Contains(res[0].Message.Content.Body, "got its first task") || res[0].Metadata.CorrelationID != a.ID {
		t.Fatalf("resolved%s", describe(res))
	}
}

// TestAllHealthyAfterTrouble: after a crash is dealt with (the agent restarted), the session's
// management hears "All agents healthy - N active, M idle" once.
func TestAllHealthyAfterTrouble(t *testing.T) {
	w := newWorld(t)
	w.agent("alpha:pm", "pm")
	dev := w.agent("alpha:dev", "")
	w.start()
	w.settle()
	if h := tagged(w.alerts("alpha"), "status"); len(h) != 0 {
		t.Fatalf("healthy summary without trouble before it%s", describe(h))
	}
	w.crash(dev)
	w.waitAlerts("alpha", "crash", 1)
	if _, err := w.mon.Restart(context.Background(), "alpha:dev", true); err != nil {
		t.Fatal(err)
	}
	got := w.waitAlerts("alpha", "status", 1)
	w.settle()
	if h := tagged(w.alerts("alpha"), "status"); len(h) != 1 {
		t.Fatalf("want one healthy summary, got%s", describe(h))
	}
	if b := got[0].Message.Content.Body; !strings.HasPrefix(b, "All agents healthy - ") || !strings.Contains(b, "monitoring stable") ||
		got[0].Message.Priority != subjects.Normal {
		t.Fatalf("summary%s", describe(got))
	}
}
