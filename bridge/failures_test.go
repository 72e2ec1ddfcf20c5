package bridge_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tmux-orc/tmux-orc/bridge"
	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/internal/agentsim"
	"github.com/tmux-orc/tmux-orc/subjects"
)

// TestSessionCreatedAfterThePublish publishes for a session that does not exist yet, with
// no tmux server at all (the bridge keeps retrying to attach), then for a window that does
// not exist yet in that session.
func TestSessionCreatedAfterThePublish(t *testing.T) {
	w := newWorld(t)
	w.startBridge()
	e := w.publish("late:0", subjects.High, "you were not there yet")
	time.Sleep(300 * time.Millisecond) // the bridge is polling for a server meanwhile
	log := w.agent("late:0")
	if r := w.only(e); r.Outcome != bus.Delivered || r.PaneTarget != "late:0.0" {
		t.Fatalf("receipt %+v", r)
	}
	if got := waitAccepted(t, log, 1); len(got) != 1 || got[0] != bridge.Render(e, bridge.DefaultMaxInline) {
		t.Fatalf("accepted %q", got)
	}

	// Several messages parked for a window that does not exist yet (in a session that does)
	// reach it in publication order.
	var es []*subjects.Envelope
	var want []string
	for i := range 4 {
		es = append(es, w.publish("late:work", subjects.Normal, fmt.Sprintf("and you neither %d", i)))
		want = append(want, bridge.Render(es[i], bridge.DefaultMaxInline))
	}
	quiet(300 * time.Millisecond) // consumed and parked
	log2 := w.agent("late:work")
	for _, e := range es {
		if r := w.only(e); r.Outcome != bus.Delivered || r.PaneTarget != "late:1.0" {
			t.Fatalf("receipt %+v", r)
		}
	}
	if got := waitAccepted(t, log2, 4); !slices.Equal(got, want) {
		t.Fatalf("accepted %q, want %q", got, want)
	}
}

// TestMissingWindowExpires publishes for a window that never appears in an existing
// session: after Expiry the message is undeliverable, with a reason, and the session's
// management group is alerted.
func TestMissingWindowExpires(t *testing.T) {
	w := newWorld(t, func(c *bridge.Config) { c.Expiry = 2 * time.Second })
	log := w.agent("be:agent")
	w.startBridge()
	e := w.publish("be:nosuchwindow", subjects.High, "where are you")
	r := w.only(e)
	if r.Outcome != bus.Undeliverable || r.Pane != "" ||
		r.Reason != `no pane for `+w.cfg.Host+`.be:nosuchwindow appeared in session "be" within 2s` {
		t.Fatalf("receipt %+v", r)
	}
	if age := time.Since(e.Timestamp); age < 2*time.Second {
		t.Fatalf("undeliverable after %s, before the expiry", age)
	}
	a := w.waitAlert("be", e.ID)
	if a.Message.Priority != subjects.High || !a.HasTag("delivery") || !a.HasTag("undeliverable") ||
		!strings.Contains(a.Message.Content.Body, e.ID) || !strings.Contains(a.Message.Content.Body, r.Reason) {
		t.Fatalf("alert %+v", a.Envelope)
	}
	if got := accepted(t, log); len(got) != 0 {
		t.Fatalf("another pane took it: %q", got)
	}
	// The alert itself has no pane to go to (no pm here) and expires too, but a failed
	// delivery alert raises no alert of its own.
	if r := w.only(a.Envelope); r.Outcome != bus.Undeliverable {
		t.Fatalf("alert receipt %+v", r)
	}
	quiet(300 * time.Millisecond)
	if more := w.alerts("be", a.ID); len(more) != 0 {
		t.Fatalf("an alert about the alert: %+v", more[0].Envelope)
	}
}

// TestSessionGoneAndBack kills the session a parked message waits in and creates it again
// with the window: the message, given back to the server when the session went away, is
// delivered at once (not after the minute-long ack wait).
func TestSessionGoneAndBack(t *testing.T) {
	w := newWorld(t)
	w.agent("keep:agent") // keeps the server up
	w.agent("be:agent")
	w.startBridge()
	e := w.publish("be:later", subjects.Normal, "wait for me")
	quiet(500 * time.Millisecond) // consumed and parked
	w.tmux("kill-session", "-t", "=be")
	quiet(500 * time.Millisecond) // the bridge notices and stops serving be
	log := w.agent("be:later")
	if r := w.only(e); r.Outcome != bus.Delivered || r.PaneTarget != "be:0.0" {
		t.Fatalf("receipt %+v", r)
	}
	if got := waitAccepted(t, log, 1); len(got) != 1 || got[0] != bridge.Render(e, bridge.DefaultMaxInline) {
		t.Fatalf("accepted %q", got)
	}
}

// TestDeadPane sends to a pane whose program has exited (remain-on-exit keeps it).
func TestDeadPane(t *testing.T) {
	w := newWorld(t)
	log := w.agent("be:agent")
	w.tmux("set-option", "-g", "remain-on-exit", "on")
	w.tmux("new-window", "-d", "-t", "be:", "-n", "dead", "true")
	waitFor(t, "the pane to die", func() bool { return w.format("be:dead", "#{pane_dead}") == "1" })
	w.startBridge()
	e := w.publish("be:dead", subjects.Normal, "anyone?")
	r := w.only(e)
	if r.Outcome != bus.Undeliverable || r.PaneTarget != "be:1.0" || !strings.Contains(r.Reason, "dead") || !r.Typed.IsZero() {
		t.Fatalf("receipt %+v", r)
	}
	a := w.waitAlert("be", e.ID)
	if !a.HasTag("undeliverable") || !strings.Contains(a.Message.Content.Body, "be:1.0") {
		t.Fatalf("alert %+v", a.Envelope)
	}
	if got := accepted(t, log); len(got) != 0 {
		t.Fatalf("the agent in another window took it: %q", got)
	}
}

// TestDialogNeverAnswered: while a dialog is open (one that takes Enter, digits and y/n as
// answers, like Claude Code's permission dialog), the bridge sends it no key at all: the
// message waits, and after ReadyWait it is recorded undeliverable with the reason and
// alerted. A message waiting when a person answers the dialog is delivered after it.
func TestDialogNeverAnswered(t *testing.T) {
	w := newWorld(t)
	log := w.agent("be:agent", "-modal", "-modal-keys")
	w.startBridge()
	e := w.publish("be:agent", subjects.High, "please answer 1 y")
	r := w.only(e)
	if r.Outcome != bus.Undeliverable || !r.Typed.IsZero() || r.EnterPresses != 0 ||
		!strings.Contains(r.Reason, "not ready") || !strings.Contains(r.Reason, "Do you want to proceed?") {
		t.Fatalf("receipt %+v", r)
	}
	if q := w.queuedReceipts(e); len(q) != 1 || !strings.Contains(q[0].Reason, "a dialog is open") {
		t.Fatalf("queued receipts %+v", q)
	}
	a := w.waitAlert("be", e.ID)
	if !slices.Equal(a.Metadata.Tags, []string{"delivery", "undeliverable"}) || a.Message.Priority != subjects.High {
		t.Fatalf("alert %+v", a.Envelope)
	}
	l := agentLog(t, log)
	if len(l.Prompts) != 0 || l.Count(agentsim.EventModalAnswer) != 0 || l.Count(agentsim.EventModalDropped) != 0 ||
		l.Count(agentsim.EventSwallowed) != 0 {
		t.Fatalf("keys reached the dialog: %+v", l.Events)
	}

	// The next message waits while the dialog is open; the person answers it (No), and the
	// message is typed then.
	e2 := w.publish("be:agent", subjects.Critical, "after the dialog")
	waitFor(t, "e2 queued", func() bool { return len(w.queuedReceipts(e2)) == 1 })
	w.tmux("send-keys", "-t", "be:agent", "n")
	if r := w.only(e2); r.Outcome != bus.Delivered || r.EnterPresses != 1 {
		t.Fatalf("receipt %+v", r)
	}
	if got := waitAccepted(t, log, 1); len(got) != 1 || got[0] != bridge.Render(e2, bridge.DefaultMaxInline) {
		t.Fatalf("accepted %q", got)
	}
	l = agentLog(t, log)
	if l.Count(agentsim.EventModalAnswer) != 1 || l.Events[len(l.Events)-1].Kind == agentsim.EventModalDropped {
		t.Fatalf("events %+v", l.Events)
	}
	for _, ev := range l.Events {
		if ev.Kind == agentsim.EventModalAnswer && ev.Text != agentsim.AnswerNo {
			t.Fatalf("the dialog was answered %q, not by the person", ev.Text)
		}
	}
}

// TestBusyAgentQueues: a busy agent queues the prompt (shows "Queued"); that counts as
// delivered, and the agent accepts it when it is done.
func TestBusyAgentQueues(t *testing.T) {
	w := newWorld(t)
	log := w.agent("be:agent", "-start-busy", "3s") // well past the bridge start, even on a loaded machine
	w.startBridge()
	e := w.publish("be:agent", subjects.Normal, "when you are free")
	r := w.only(e)
	if r.Outcome != bus.Delivered || !r.Queued || r.EnterPresses != 1 {
		t.Fatalf("receipt %+v", r)
	}
	l := agentLog(t, log)
	want := bridge.Render(e, bridge.DefaultMaxInline)
	if len(l.Prompts) != 0 || l.Count(agentsim.EventQueued) != 1 {
		t.Fatalf("while busy: accepted %q, queued %d", l.Texts(), l.Count(agentsim.EventQueued))
	}
	if got := waitAccepted(t, log, 1); len(got) != 1 || got[0] != want {
		t.Fatalf("accepted %q", got)
	}
}

// TestPersonTyping: text a person left in the composer is never submitted or wiped; the
// message gives up after ReadyWait. If the person clears the line in time it is delivered.
func TestPersonTyping(t *testing.T) {
	w := newWorld(t, func(c *bridge.Config) { c.ReadyWait = 1500 * time.Millisecond })
	log := w.agent("be:agent")
	w.startBridge()
	w.tmux("send-keys", "-t", "be:agent", "-l", "half a thought")
	waitFor(t, "the typed text on screen", func() bool { return strings.Contains(w.capture("be:agent"), "> half a thought") })

	e := w.publish("be:agent", subjects.High, "do not clobber")
	r := w.only(e)
	if r.Outcome != bus.Undeliverable || !r.Typed.IsZero() ||
		!strings.HasPrefix(r.Reason, "not typed: the pane was not ready for 1.5s: the input box holds text (a person's draft?)") {
		t.Fatalf("receipt %+v", r)
	}
	if scr := w.capture("be:agent"); !slices.Contains(strings.Split(scr, "\n"), "> half a thought") {
		t.Fatalf("the person's text is gone:\n%s", scr)
	}
	if got := accepted(t, log); len(got) != 0 {
		t.Fatalf("submitted %q", got)
	}
	w.waitAlert("be", e.ID)

	// The person clears the line while the next message waits.
	e2 := w.publish("be:agent", subjects.High, "now it is your turn")
	time.Sleep(400 * time.Millisecond)
	if got := accepted(t, log); len(got) != 0 {
		t.Fatalf("submitted %q before the line was cleared", got)
	}
	w.tmux("send-keys", "-t", "be:agent", "C-u")
	if r := w.only(e2); r.Outcome != bus.Delivered {
		t.Fatalf("receipt %+v", r)
	}
	if got := waitAccepted(t, log, 1); len(got) != 1 || got[0] != bridge.Render(e2, bridge.DefaultMaxInline) {
		t.Fatalf("accepted %q", got)
	}
}

// TestCopyMode: a pane in copy mode swallows keys; the bridge waits ReadyWait for the
// person to leave it, then leaves it itself and delivers.
func TestCopyMode(t *testing.T) {
	w := newWorld(t, func(c *bridge.Config) { c.ReadyWait = time.Second })
	log := w.agent("be:agent")
	w.startBridge()
	w.tmux("copy-mode", "-t", "be:agent")
	if w.format("be:agent", "#{pane_in_mode}") != "1" {
		t.Fatal("not in copy mode")
	}
	e := w.publish("be:agent", subjects.Normal, "scrolling?")
	r := w.only(e)
	if r.Outcome != bus.Delivered || r.EnterPresses != 1 {
		t.Fatalf("receipt %+v", r)
	}
	if wait := r.Typed.Sub(e.Timestamp); wait < time.Second {
		t.Fatalf("typed %s after the publish, without waiting ReadyWait", wait)
	}
	if w.format("be:agent", "#{pane_in_mode}") != "0" {
		t.Fatal("still in copy mode")
	}
	if got := waitAccepted(t, log, 1); len(got) != 1 || got[0] != bridge.Render(e, bridge.DefaultMaxInline) {
		t.Fatalf("accepted %q", got)
	}
}

// TestNotReadyAfterReadyGivesClaimBack: a pane that was ready (a message was just delivered)
// and then holds a person's draft: the next message is claimed before the pane is read (the
// fast path), found not ready, and its claim is given back, so a message waiting for a pane
// holds no claim (a bridge killed meanwhile would leave it to the next one to type). Nothing
// is typed into the draft; once the person clears it, the message is delivered once.
func TestNotReadyAfterReadyGivesClaimBack(t *testing.T) {
	w := newWorld(t, func(c *bridge.Config) { c.ReadyWait = time.Minute })
	log := w.agent("be:agent")
	pane := w.format("be:agent", "#{pane_id}")
	w.startBridge()
	e1 := w.publish("be:agent", subjects.High, "while you are free")
	if r := w.only(e1); r.Outcome != bus.Delivered {
		t.Fatalf("receipt %+v", r)
	}
	waitAccepted(t, log, 1)
	w.tmux("send-keys", "-t", "be:agent", "-l", "a person's draft")
	waitFor(t, "the draft on screen", func() bool { return strings.Contains(w.capture("be:agent"), "> a person's draft") })

	e2 := w.publish("be:agent", subjects.Critical, "wait for the draft")
	waitFor(t, "e2 queued", func() bool { return len(w.queuedReceipts(e2)) == 1 })
	if q := w.queuedReceipts(e2); !strings.Contains(q[0].Reason, "the input box holds text") {
		t.Fatalf("queued %+v", q)
	}
	// Another bridge can claim it now (and gives it back at once).
	ctx := context.Background()
	if err := w.c.Claim(ctx, e2.Message.Priority, e2.ID, w.cfg.Host, pane); err != nil {
		t.Fatalf("the waiting message is still claimed: %v", err)
	}
	if err := w.c.Release(ctx, e2.Message.Priority, e2.ID, w.cfg.Host, pane); err != nil {
		t.Fatal(err)
	}
	if scr := w.capture("be:agent"); !strings.Contains(scr, "> a person's draft") || strings.Contains(scr, e2.ID) {
		t.Fatalf("the draft was touched:\n%s", scr)
	}
	w.tmux("send-keys", "-t", "be:agent", "C-u")
	if r := w.only(e2); r.Outcome != bus.Delivered || r.EnterPresses != 1 {
		t.Fatalf("receipt %+v", r)
	}
	quiet(300 * time.Millisecond)
	if got := accepted(t, log); len(got) != 2 || got[1] != bridge.Render(e2, bridge.DefaultMaxInline) {
		t.Fatalf("accepted %q", got)
	}
}

// TestDraftDuringClaim: a person starts typing while the bridge writes the claim of a
// message for a pane it is reading at the same time (the read answered before the draft
// appeared). The read is too old by the time the claim is written, so the pane is read
// again: the draft is seen, nothing is typed into it, and the message is delivered once the
// person clears the line.
func TestDraftDuringClaim(t *testing.T) {
	var once sync.Once
	var w *world
	w = newWorld(t, func(c *bridge.Config) {
		c.ReadyWait = time.Minute
		bridge.WhileClaiming(c, func() {
			once.Do(func() {
				w.tmux("send-keys", "-t", "be:agent", "-l", "typed while claiming")
				waitFor(t, "the draft on screen", func() bool { return strings.Contains(w.capture("be:agent"), "> typed while claiming") })
			})
		})
	})
	log := w.agent("be:agent")
	w.startBridge()
	e := w.publish("be:agent", subjects.High, "not into the draft")
	waitFor(t, "e queued", func() bool { return len(w.queuedReceipts(e)) == 1 })
	if q := w.queuedReceipts(e); !strings.Contains(q[0].Reason, "the input box holds text") {
		t.Fatalf("queued %+v", q)
	}
	quiet(300 * time.Millisecond)
	if scr := w.capture("be:agent"); !strings.Contains(scr, "> typed while claiming") || strings.Contains(scr, e.ID) {
		t.Fatalf("the draft was touched:\n%s", scr)
	}
	if got := accepted(t, log); len(got) != 0 {
		t.Fatalf("submitted %q", got)
	}
	w.tmux("send-keys", "-t", "be:agent", "C-u")
	if r := w.only(e); r.Outcome != bus.Delivered || r.EnterPresses != 1 {
		t.Fatalf("receipt %+v", r)
	}
	if got := waitAccepted(t, log, 1); len(got) != 1 || got[0] != bridge.Render(e, bridge.DefaultMaxInline) {
		t.Fatalf("accepted %q", got)
	}
}
