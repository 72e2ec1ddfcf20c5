package monitor_test

import (
	"strings"
	"testing"

	"github.com/tmux-orc/tmux-orc/subjects"
)

func TestAgentCrashAlertsItsSessionOnly(t *testing.T) {
	w := newWorld(t)
	w.agent("alpha:pm", "pm")
	dev := w.agent("alpha:dev", "")
	w.agent("beta:pm", "pm")
	w.agent("beta:dev", "")
	w.start()
	w.crash(dev)
	got := w.waitAlerts("alpha", "crash", 1)
	w.settle()
	all := w.all()
	if len(all) != 1 {
		t.Fatalf("want exactly one message on the bus, got %d:%s", len(all), describe(all))
	}
	a := got[0]
	if a.Message.Priority != subjects.High || !a.Metadata.RequiresAck || a.Target.String() != "group:management@"+w.cfg.Host+".alpha" {
		t.Fatalf("alert %s", describe(got))
	}
	if want := "Agent alpha:1.0 crashed (pane dead)"; !strings.HasPrefix(a.Message.Content.Body, want) {
		t.Fatalf("body %q, want prefix %q", a.Message.Content.Body, want)
	}
	for _, tag := range []string{"monitoring", "health", "crash"} {
		if !a.HasTag(tag) {
			t.Errorf("tag %q missing: %v", tag, a.Metadata.Tags)
		}
	}
	if ctx := a.Message.Content.Context; ctx["agent"] != "alpha:1.0" || ctx["issue_type"] != "crash" {
		t.Errorf("context %v", ctx)
	}
	if s := w.mon.Status().Agents; len(s) != 4 || s[1].State != "crashed" || s[1].LastAlert == nil || s[1].LastAlert.ID != a.ID {
		t.Errorf("status %+v", s)
	}
}

func TestPMCrashIsCritical(t *testing.T) {
	w := newWorld(t)
	pm := w.agent("alpha:pm", "pm")
	w.agent("alpha:dev", "")
	w.start()
	w.crash(pm)
	got := w.waitAlerts("alpha", "crash", 1)
	w.settle()
	if all := w.all(); len(all) != 1 {
		t.Fatalf("want one message, got%s", describe(all))
	}
	if got[0].Message.Priority != subjects.Critical || !strings.HasPrefix(got[0].Message.Content.Body, "PM crash detected alpha:0.0") {
		t.Fatalf("alert%s", describe(got))
	}
}

// TestClosedPanesAreReported covers agents whose pane disappears (no remain-on-exit, or the
// window killed): an agent is reported gone (high), the PM missing (critical), and nothing is
// said when the whole session is ended.
func TestClosedPanesAreReported(t *testing.T) {
	w := newWorld(t)
	w.agent("alpha:pm", "pm")
	w.agent("alpha:dev", "")
	w.agent("beta:pm", "pm")
	w.agent("beta:dev", "")
	w.agent("gamma:pm", "pm")
	w.agent("gamma:dev", "")
	w.start()
	w.tmux("kill-window", "-t", "=alpha:dev")
	got := w.waitAlerts("alpha", "gone", 1)
	if got[0].Message.Priority != subjects.High || !got[0].Metadata.RequiresAck ||
		!strings.HasPrefix(got[0].Message.Content.Body, "Agent alpha:1.0 gone: its pane") {
		t.Fatalf("agent gone:%s", describe(got))
	}
	w.tmux("kill-window", "-t", "=beta:pm")
	got = w.waitAlerts("beta", "gone", 1)
	if got[0].Message.Priority != subjects.Critical || !strings.HasPrefix(got[0].Message.Content.Body, "PM missing: the pane of beta:0.0") {
		t.Fatalf("PM missing:%s", describe(got))
	}
	w.tmux("kill-session", "-t", "=gamma")
	w.settle()
	if all := w.all(); len(all) != 2 {
		t.Fatalf("want the two alerts only, got%s", describe(all))
	}
}
