package monitor_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tmux-orc/tmux-orc/internal/monitor"
	"github.com/tmux-orc/tmux-orc/subjects"
)

// TestRestartUnderATeamRaisesNothingFalse: the monitor is restarted (as a daemon restart
// does) under a team: a briefed agent is not called fresh, a crash already reported is not
// reported again, an idle agent's idleness counts from before the restart (one idle alert,
// not two), and the unacknowledged crash alert still escalates after the restart.
func TestRestartUnderATeamRaisesNothingFalse(t *testing.T) {
	w := newWorld(t)
	w.cfg.FreshAfter, w.cfg.FreshSettle = 1500*time.Millisecond, 0
	w.cfg.IdleAfter = 2 * time.Second
	w.cfg.EscalateAfter = 5 * time.Second
	w.agent("alpha:pm", "pm")
	w.agent("alpha:dev", "")
	w.agent("alpha:qa", "", "-start-busy", "60s")
	ops := w.agent("alpha:ops", "")
	w.start()
	// Brief dev (its screen moves after start-up) and ops.
	for _, target := range []string{"=alpha:dev", "=alpha:ops"} {
		w.tmux("send-keys", "-t", target, "-l", "your task")
		w.tmux("send-keys", "-t", target, "Enter")
	}
	w.crash(ops)
	crash := w.waitAlerts("alpha", "crash", 1)
	idle := w.waitAlerts("alpha", "idle", 1) // dev, idle since its task
	before := w.mon.Status()
	w.stop()

	// The new monitor (a restarted daemon) starts from the stored view.
	w.start()
	time.Sleep(2*w.cfg.FreshAfter + time.Second)
	all := w.alerts("alpha")
	if got := tagged(all, "fresh"); len(got) != 0 {
		t.Fatalf("fresh alerts for agents that worked before the restart:%s", describe(got))
	}
	if got := tagged(all, "crash"); len(got)-len(tagged(got, "escalated")) != 1 {
		t.Fatalf("the crash reported again after the restart:%s", describe(got))
	}
	if got := tagged(all, "idle"); len(got) != 1 {
		t.Fatalf("idle reported again after the restart:%s", describe(got))
	}
	after := w.mon.Status()
	for i, a := range after.Agents {
		b := before.Agents[i]
		if a.Pane != b.Pane || a.State != b.State || !a.Since.Equal(b.Since) {
			t.Errorf("%s: %s since %s before the restart, %s since %s after", a.Target, b.State, b.Since, a.State, a.Since)
		}
		escalated := a.LastAlert != nil && strings.HasPrefix(a.LastAlert.Body, "ESCALATED")
		if (a.LastAlert == nil) != (b.LastAlert == nil) || (a.LastAlert != nil && a.LastAlert.ID != b.LastAlert.ID && !escalated) {
			t.Errorf("%s: last alert %+v before, %+v after", a.Target, b.LastAlert, a.LastAlert)
		}
	}
	if after.Agents[1].LastAlert == nil || after.Agents[1].LastAlert.ID != idle[0].ID {
		t.Fatalf("dev's last alert %+v", after.Agents[1].LastAlert)
	}
	esc := w.waitAlerts("alpha", "escalated", 1)
	if esc[0].Metadata.CorrelationID != crash[0].ID || esc[0].Message.Priority != subjects.Critical {
		t.Fatalf("escalation%s", describe(esc))
	}
}

// TestGoneAlertEscalates: a pane that closed is reported, and its alert, unacknowledged,
// escalates like any other; the agent shows as gone until then, and is forgotten after.
func TestGoneAlertEscalates(t *testing.T) {
	w := newWorld(t)
	w.cfg.EscalateAfter = 800 * time.Millisecond
	w.agent("alpha:pm", "pm")
	w.agent("alpha:dev", "")
	w.start()
	w.tmux("kill-window", "-t", "=alpha:dev")
	gone := w.waitAlerts("alpha", "gone", 1)
	if st := w.mon.Status(); len(st.Agents) != 2 || st.Agents[1].State != monitor.Gone || st.Agents[1].LastAlert == nil {
		t.Fatalf("status %+v, want dev gone with its alert", st.Agents)
	}
	esc := w.waitAlerts("alpha", "escalated", 1)
	if esc[0].Metadata.CorrelationID != gone[0].ID || esc[0].Message.Priority != subjects.Critical ||
		!strings.Contains(esc[0].Message.Content.Body, "Agent alpha:1.0 gone") {
		t.Fatalf("escalation%s", describe(esc))
	}
	waitFor(t, "dev forgotten", func() bool { return len(w.mon.Status().Agents) == 1 })
	w.settle()
	if all := w.all(); len(all) != 2 {
		t.Fatalf("want the gone alert and its escalation, got%s", describe(all))
	}
}

// TestAckedGoneAlertDoesNotEscalate: acknowledged, the gone alert ends there.
func TestAckedGoneAlertDoesNotEscalate(t *testing.T) {
	w := newWorld(t)
	w.cfg.EscalateAfter = 800 * time.Millisecond
	w.agent("alpha:pm", "pm")
	w.agent("alpha:dev", "")
	w.start()
	w.tmux("kill-window", "-t", "=alpha:dev")
	gone := w.waitAlerts("alpha", "gone", 1)
	if _, _, err := w.c.Ack(context.Background(), gone[0].ID, "alpha:0", "restarting it"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "dev forgotten", func() bool { return len(w.mon.Status().Agents) == 1 })
	w.settle()
	if all := w.all(); len(all) != 1 {
		t.Fatalf("want the gone alert only, got%s", describe(all))
	}
}
