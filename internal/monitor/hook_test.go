package monitor_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tmux-orc/tmux-orc/internal/monitor"
	"github.com/tmux-orc/tmux-orc/subjects"
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
		if err := monitor.ReportHook(context.Background(), w.c, "", ev); err != nil {
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

// hookSender reports hook events of a pane, as `tmux-orc hook claude-code` does.
func (w *world) hookSender(target string) func(json string) {
	pane := w.tmux("display-message", "-p", "-t", target, "#{pane_id}")
	return func(json string) {
		w.t.Helper()
		ev, ok, err := monitor.ParseClaudeHook(strings.NewReader(json), pane, time.Now())
		if err != nil || !ok {
			w.t.Fatalf("parsing %s: %v %v", json, ok, err)
		}
		if err := monitor.ReportHook(context.Background(), w.c, w.cfg.Host, ev); err != nil {
			w.t.Fatal(err)
		}
	}
}

// TestIdlePromptIsIdleNotStuck: Claude Code's idle_prompt notification, about a minute after
// a turn, is idleness: no stuck alert, state idle, and idle counts from the end of the turn.
func TestIdlePromptIsIdleNotStuck(t *testing.T) {
	w := newWorld(t)
	w.cfg.StuckAfter = 300 * time.Millisecond
	w.cfg.IdleAfter = 1500 * time.Millisecond
	w.cfg.TurnFinished = false
	w.agent("alpha:pm", "pm")
	w.agent("alpha:dev", "")
	w.agent("alpha:qa", "", "-start-busy", "60s")
	hook := w.hookSender("=alpha:dev")
	w.start()
	hook(`{"hook_event_name":"UserPromptSubmit","prompt":"go"}`)
	hook(`{"hook_event_name":"Stop","last_assistant_message":"done"}`)
	stop := time.Now()
	time.Sleep(500 * time.Millisecond)
	hook(`{"hook_event_name":"Notification","notification_type":"idle_prompt","message":"Claude is waiting for your input"}`)
	got := w.waitAlerts("alpha", "idle", 1)
	w.settle()
	if s := tagged(w.alerts("alpha"), "stuck"); len(s) != 0 {
		t.Fatalf("idle_prompt made a stuck alert:%s", describe(s))
	}
	if d := got[0].Timestamp.Sub(stop); d < w.cfg.IdleAfter-w.cfg.Poll {
		t.Fatalf("idle alert %s after the Stop, want idle counted from it (about %s)", d, w.cfg.IdleAfter)
	}
	if st := w.mon.Status().Agents[1]; st.State != monitor.Idle || st.Reason != "" {
		t.Fatalf("status %+v, want idle", st)
	}
}

// TestSubagentStopDoesNotMakeTheParentIdle: a subagent finishing says nothing about its
// parent, which keeps working.
func TestSubagentStopDoesNotMakeTheParentIdle(t *testing.T) {
	w := newWorld(t)
	w.agent("alpha:dev", "")
	hook := w.hookSender("=alpha:dev")
	pane := w.tmux("display-message", "-p", "-t", "=alpha:dev", "#{pane_id}")
	w.start()
	hook(`{"hook_event_name":"UserPromptSubmit","prompt":"go"}`)
	waitFor(t, "busy from the hook", func() bool { return w.mon.Status().Agents[0].State == monitor.Busy })
	if _, ok, err := monitor.ParseClaudeHook(strings.NewReader(`{"hook_event_name":"SubagentStop"}`), pane, time.Now()); ok || err != nil {
		t.Fatalf("SubagentStop reported: %v %v", ok, err)
	}
	w.settle()
	if st := w.mon.Status().Agents[0]; st.State != monitor.Busy || st.Hook.Event != "UserPromptSubmit" {
		t.Fatalf("status %+v, want still busy", st)
	}
}

// TestPermissionPromptIsWaitingThenStuck: a permission notification makes the agent waiting
// at once and stuck (high, with ack) after StuckAfter; the next tool hook ends it.
func TestPermissionPromptIsWaitingThenStuck(t *testing.T) {
	w := newWorld(t)
	w.cfg.StuckAfter = 1200 * time.Millisecond
	w.agent("alpha:dev", "")
	hook := w.hookSender("=alpha:dev")
	w.start()
	hook(`{"hook_event_name":"PreToolUse","tool_name":"Bash"}`)
	hook(`{"hook_event_name":"Notification","notification_type":"permission_prompt","message":"Claude needs your permission to use Bash"}`)
	waitFor(t, "waiting", func() bool { return w.mon.Status().Agents[0].State == monitor.Waiting })
	if st := w.mon.Status().Agents[0]; st.Reason != "waiting for the user: Claude needs your permission to use Bash" {
		t.Fatalf("status %+v", st)
	}
	got := w.waitAlerts("alpha", "stuck", 1)
	if got[0].Message.Priority != subjects.High || !got[0].Metadata.RequiresAck {
		t.Fatalf("stuck%s", describe(got))
	}
	hook(`{"hook_event_name":"PostToolUse","tool_name":"Bash"}`)
	res := w.waitAlerts("alpha", "resolved", 1)
	if b := res[0].Message.Content.Body; b != "Resolved: agent alpha:0.0 is no longer stuck (now busy)" {
		t.Fatalf("resolved %q", b)
	}
	st := w.mon.Status().Agents[0]
	if st.LastAlert == nil || st.LastAlert.ID != got[0].ID || st.LastAlert.Resolved == nil {
		t.Fatalf("last alert %+v, want the stuck alert, marked resolved", st.LastAlert)
	}
}

// TestTurnFinishedTellsManagement: a Stop (or StopFailure) of an agent reaches its
// session's management group at once, low (normal for a failure), coalesced per pane, with
// its last message; a PM's own turns are not reported, nor anything when it is off.
func TestTurnFinishedTellsManagement(t *testing.T) {
	w := newWorld(t)
	w.cfg.TurnCoalesce = 700 * time.Millisecond
	w.agent("alpha:pm", "pm")
	w.agent("alpha:dev", "")
	dev := w.hookSender("=alpha:dev")
	pm := w.hookSender("=alpha:pm")
	w.start()
	at := time.Now()
	dev(`{"hook_event_name":"Stop","last_assistant_message":"All tests pass.\nCommitted as abc123."}`)
	got := w.waitAlerts("alpha", "turn", 1)
	n := got[0]
	if n.Message.Priority != subjects.Low || n.Metadata.RequiresAck ||
		n.Message.Content.Body != `Turn finished: agent alpha:1.0 is idle - last message: "All tests pass. Committed as abc123."` {
		t.Fatalf("notice%s", describe(got))
	}
	if d := n.Timestamp.Sub(at); d > 3*time.Second {
		t.Fatalf("notice after %s", d)
	}
	// Three turn ends within the window: one notice, the last message, the count.
	dev(`{"hook_event_name":"Stop","last_assistant_message":"one"}`)
	dev(`{"hook_event_name":"Stop","last_assistant_message":"two"}`)
	dev(`{"hook_event_name":"StopFailure","error":"server_error"}`)
	got = w.waitAlerts("alpha", "turn", 2)
	if b := got[1].Message.Content.Body; got[1].Message.Priority != subjects.Normal || !got[1].HasTag("turn-failed") ||
		!strings.HasPrefix(b, "Turn failed: agent alpha:1.0 stopped on an error (server_error) and is idle (3 turns ended within 700ms, 1 failed)") {
		t.Fatalf("coalesced%s", describe(got))
	}
	pm(`{"hook_event_name":"Stop","last_assistant_message":"my own turn"}`)
	time.Sleep(w.cfg.TurnCoalesce + time.Second)
	if got := tagged(w.alerts("alpha"), "turn"); len(got) != 2 {
		t.Fatalf("the PM's own turn was reported:%s", describe(got))
	}
	if st := w.mon.Status().Agents[1]; st.State != monitor.Idle || st.Hook.Error != "server_error" {
		t.Fatalf("after the failure: %+v", st)
	}
}

func TestTurnFinishedCanBeTurnedOff(t *testing.T) {
	w := newWorld(t)
	w.cfg.TurnFinished = false
	w.cfg.TurnCoalesce = 200 * time.Millisecond
	w.agent("alpha:dev", "")
	dev := w.hookSender("=alpha:dev")
	w.start()
	dev(`{"hook_event_name":"Stop","last_assistant_message":"done"}`)
	waitFor(t, "idle", func() bool { return w.mon.Status().Agents[0].Hook != nil })
	time.Sleep(time.Second)
	if all := w.all(); len(all) != 0 {
		t.Fatalf("want nothing with turn-finished off, got%s", describe(all))
	}
}
