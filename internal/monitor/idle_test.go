package monitor_test

import (
	"strings"
	"testing"
	"time"

	"github.com/tmux-orc/tmux-orc/subjects"
)

func TestIdleAlertOnceThenResolvedThenCooldown(t *testing.T) {
	w := newWorld(t)
	w.cfg.IdleAfter = 800 * time.Millisecond
	w.agent("alpha:pm", "pm")
	w.agent("alpha:dev", "")
	w.agent("alpha:qa", "", "-start-busy", "30s")
	w.start()
	w.waitAlerts("alpha", "idle", 1)
	w.settle()
	idle := tagged(w.alerts("alpha"), "idle")
	if len(idle) != 1 {
		t.Fatalf("want one idle alert, got%s", describe(idle))
	}
	a := idle[0]
	if a.Message.Priority != subjects.Normal || !strings.HasPrefix(a.Message.Content.Body, "Agent alpha:1.0 idle") ||
		a.Message.Content.Context["idle_duration"] == nil || a.Metadata.RequiresAck {
		t.Fatalf("idle alert%s %v", describe(idle), a.Message.Content.Context)
	}
	// Work arrives: the screen changes, the condition ends.
	w.tmux("send-keys", "-t", "=alpha:dev", "-l", "do the thing")
	w.tmux("send-keys", "-t", "=alpha:dev", "Enter")
	res := w.waitAlerts("alpha", "resolved", 1)
	if res[0].Message.Priority != subjects.Normal || !res[0].HasTag("idle") || res[0].Metadata.CorrelationID != a.ID {
		t.Fatalf("resolved%s", describe(res))
	}
	// Idle again within the cooldown: no new alert.
	time.Sleep(w.cfg.IdleAfter + 5*w.cfg.Poll)
	if st := w.mon.Status().Agents[1]; st.State != "idle" {
		t.Fatalf("dev is %s, want idle again", st.State)
	}
	if got := tagged(w.alerts("alpha"), "idle"); len(got) != 2 {
		t.Fatalf("want the idle alert and its resolution only, got%s", describe(got))
	}
}

func TestBusyAgentGetsNoIdleAlert(t *testing.T) {
	w := newWorld(t)
	w.cfg.IdleAfter = 500 * time.Millisecond
	w.agent("alpha:dev", "", "-start-busy", "30s")
	w.start()
	time.Sleep(2 * time.Second)
	if all := w.all(); len(all) != 0 {
		t.Fatalf("want no messages for a busy agent, got%s", describe(all))
	}
	if st := w.mon.Status().Agents[0]; st.State != "busy" {
		t.Fatalf("state %s, want busy", st.State)
	}
}

func TestTeamIdleOncePerEdge(t *testing.T) {
	w := newWorld(t)
	w.cfg.IdleAfter = 500 * time.Millisecond
	w.cfg.Cooldown = 0
	w.agent("alpha:pm", "pm")
	w.agent("alpha:dev", "")
	w.agent("alpha:qa", "")
	w.agent("beta:dev", "", "-start-busy", "30s")
	w.start()
	w.waitAlerts("alpha", "team-idle", 1)
	w.settle()
	team := tagged(w.alerts("alpha"), "team-idle")
	if len(team) != 1 {
		t.Fatalf("want one team idle summary, got%s", describe(team))
	}
	if want := "All agents idle - session alpha: 2 idle, 0 active - assign work"; team[0].Message.Content.Body != want ||
		team[0].Message.Priority != subjects.Normal {
		t.Fatalf("summary%s", describe(team))
	}
	if got := tagged(w.alerts("beta"), "idle"); len(got) != 0 {
		t.Fatalf("beta is busy, got%s", describe(got))
	}
}

func TestLongIdleIsHigh(t *testing.T) {
	w := newWorld(t)
	w.cfg.IdleAfter = 300 * time.Millisecond
	w.cfg.LongIdleAfter = 900 * time.Millisecond
	w.agent("alpha:dev", "")
	w.agent("alpha:qa", "", "-start-busy", "30s")
	w.start()
	long := w.waitAlerts("alpha", "idle-long", 1)
	w.settle()
	idle := tagged(w.alerts("alpha"), "idle")
	if len(idle) != 2 || idle[0].Message.Priority != subjects.Normal || idle[1].Message.Priority != subjects.High ||
		!strings.HasSuffix(long[0].Message.Content.Body, "- investigate or restart") {
		t.Fatalf("idle alerts%s", describe(idle))
	}
}
