package monitor_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tmux-orc/tmux-orc/monitor"
)

func TestHookStateWinsOverTheScreen(t *testing.T) {
	w := newWorld(t)
	w.cfg.IdleAfter = 500 * time.Millisecond
	w.cfg.StuckAfter = 300 * time.Millisecond
	w.agent("alpha:dev", "")
	w.agent("alpha:qa", "", "-start-busy", "30s") // keeps the team from being idle
	pane := w.tmux("display-message", "-p", "-t", "=alpha:dev", "#{pane_id}")
	w.start()
	hook := func(event, msg string) {
		t.Helper()
		ev, ok, err := monitor.ParseClaudeHook(strings.NewReader(`{"hook_event_name":"`+event+`","message":"`+msg+`"}`), pane, time.Now())
		if err != nil || !ok {
			t.Fatalf("parsing %s: %v %v", event, ok, err)
		}
		if err := monitor.ReportHook(context.Background(), w.c, ev); err != nil {
			t.Fatal(err)
		}
	}
	// The screen is still, but the hook says the agent works: no idle alert.
	hook("UserPromptSubmit", "")
	time.Sleep(1500 * time.Millisecond)
	if all := w.all(); len(all) != 0 {
		t.Fatalf("want no alert for an agent its hooks call busy, got%s", describe(all))
	}
	if st := w.mon.Status().Agents[0]; st.State != monitor.Busy || st.Hook == nil || st.Hook.Event != "UserPromptSubmit" {
		t.Fatalf("status %+v", st)
	}
	// Waiting for a permission: stuck, with the hook's message.
	hook("Notification", "Claude needs your permission to use Bash")
	got := w.waitAlerts("alpha", "stuck", 1)
	if want := "Agent alpha:0.0 stuck: waiting for the user: Claude needs your permission to use Bash"; !strings.HasPrefix(got[0].Message.Content.Body, want) {
		t.Fatalf("stuck alert%s", describe(got))
	}
	// Done: idle counts from the Stop, and the stuck alert resolves.
	hook("Stop", "")
	w.waitAlerts("alpha", "resolved", 1)
	w.waitAlerts("alpha", "idle", 1)
}
