package bridge_test

import (
	"strings"
	"testing"
	"time"

	"github.com/tmux-orc/tmux-orc/bridge"
	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/internal/agentsim"
	"github.com/tmux-orc/tmux-orc/internal/claudetest"
	"github.com/tmux-orc/tmux-orc/subjects"
)

// Fast tests of the readiness gate against the agent simulator drawing Claude Code 2.x's
// screen (-style claude), read with the claude-code profile (@orc-agent claude-code).

func (w *world) simClaude(target string, args ...string) string {
	w.t.Helper()
	log := w.agent(target, append([]string{"-style", "claude"}, args...)...)
	w.tmux("set-option", "-p", "-t", target, "@orc-agent", "claude-code")
	return log
}

// TestSimDialogAndPicker: neither a permission dialog that takes digits, y/n and Enter, nor a
// /model picker, ever gets a key from the bridge; a message waiting while the person has the
// picker open is delivered once they close it.
func TestSimDialogAndPicker(t *testing.T) {
	w := newWorld(t)
	dlog := w.simClaude("be:dialog", "-modal", "-modal-keys")
	plog := w.simClaude("be:picker", "-editing", "-picker-command", "/model", "-burst-chars", "0")
	w.startBridge()

	e := w.publish("be:dialog", subjects.Critical, "1 y yes")
	if r := w.only(e); r.Outcome != bus.Undeliverable || !r.Typed.IsZero() || !strings.Contains(r.Reason, "dialog") {
		t.Fatalf("receipt %+v", r)
	}
	if l := agentLog(t, dlog); l.Count(agentsim.EventModalAnswer) != 0 || l.Count(agentsim.EventModalDropped) != 0 {
		t.Fatalf("the dialog got keys: %+v", l.Events)
	}

	w.tmux("send-keys", "-t", "be:picker", "-l", "/model")
	w.tmux("send-keys", "-t", "be:picker", "Enter")
	waitFor(t, "the picker", func() bool { return strings.Contains(w.capture("be:picker"), agentsim.PickerTitle) })
	e2 := w.publish("be:picker", subjects.High, "after the picker")
	waitFor(t, "e2 queued", func() bool { return len(w.queuedReceipts(e2)) == 1 })
	if l := agentLog(t, plog); l.Count(agentsim.EventPickerAnswer) != 0 {
		t.Fatalf("the picker got keys: %+v", l.Events)
	}
	w.tmux("send-keys", "-t", "be:picker", "Escape") // the person closes it
	if r := w.only(e2); r.Outcome != bus.Delivered {
		t.Fatalf("receipt %+v", r)
	}
	l := agentLog(t, plog)
	if got := l.Texts(); len(got) != 1 || got[0] != bridge.Render(e2, bridge.DefaultMaxInline) {
		t.Fatalf("accepted %q", got)
	}
	for _, ev := range l.Events {
		if ev.Kind == agentsim.EventPickerAnswer && ev.Text != agentsim.AnswerCancel {
			t.Fatalf("the picker was answered %q", ev.Text)
		}
	}
}

// TestSimDraftCursorAnywhere: a draft with the cursor at its start, or on the first of two
// lines, is never typed into nor submitted; once the person clears it the message goes in.
func TestSimDraftCursorAnywhere(t *testing.T) {
	w := newWorld(t, func(c *bridge.Config) { c.ReadyWait = 1500 * time.Millisecond })
	log := w.simClaude("be:agent", "-editing")
	w.startBridge()
	w.tmux("send-keys", "-t", "be:agent", "-l", "half typed by a human")
	w.tmux("send-keys", "-t", "be:agent", "Home")
	e := w.publish("be:agent", subjects.High, "not into the draft")
	if r := w.only(e); r.Outcome != bus.Undeliverable || !r.Typed.IsZero() || !strings.Contains(r.Reason, "draft") {
		t.Fatalf("receipt %+v", r)
	}
	box, ok := claudetest.InputBox(w.capture("be:agent"))
	if !ok || strings.Join(box.Lines, "\n") != "half typed by a human" {
		t.Fatalf("the draft changed: %+v\n%s", box, w.capture("be:agent"))
	}

	w.tmux("send-keys", "-t", "be:agent", "End", "C-j")
	w.tmux("send-keys", "-t", "be:agent", "-l", "second line")
	w.tmux("send-keys", "-t", "be:agent", "Up", "Home")
	e2 := w.publish("be:agent", subjects.Normal, "after the person cleared the box")
	waitFor(t, "e2 queued", func() bool { return len(w.queuedReceipts(e2)) == 1 })
	if got := accepted(t, log); len(got) != 0 {
		t.Fatalf("submitted %q", got)
	}
	// The person deletes both lines: ^U on each, and the newline.
	w.tmux("send-keys", "-t", "be:agent", "Down", "End", "C-u", "BSpace", "End", "C-u")
	if r := w.only(e2); r.Outcome != bus.Delivered {
		t.Fatalf("receipt %+v\n%s", r, w.capture("be:agent"))
	}
	if got := waitAccepted(t, log, 1); len(got) != 1 || got[0] != bridge.Render(e2, bridge.DefaultMaxInline) {
		t.Fatalf("accepted %q", got)
	}
}

// TestSimStartupLosesEnter: an agent that keeps typed text but loses Enter while it starts
// (as Claude Code does) gets its message only once its prompt is drawn, so it is submitted.
func TestSimStartupLosesEnter(t *testing.T) {
	w := newWorld(t)
	log := w.simClaude("slow:main", "-startup", "2s")
	w.startBridge()
	e := w.publish("slow", subjects.High, "during start-up")
	if r := w.only(e); r.Outcome != bus.Delivered {
		t.Fatalf("receipt %+v", r)
	}
	l := agentLog(t, log)
	if l.Count(agentsim.EventStartupEnter) != 0 || l.Count(agentsim.EventStarted) != 1 {
		t.Fatalf("typed while starting: %+v", l.Events)
	}
	if q := w.queuedReceipts(e); len(q) != 1 {
		t.Fatalf("not queued while starting: %+v", q)
	}
	if got := waitAccepted(t, log, 1); got[0] != bridge.Render(e, bridge.DefaultMaxInline) {
		t.Fatalf("accepted %q", got)
	}
}
