package bridge_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tmux-orc/tmux-orc/bridge"
	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/subjects"
)

// TestStopWhileQueued: four messages wait for a pane that is not ready (a person's draft in
// the box). Stopping the bridge does not wait for them: it returns within 10 s, types
// nothing, and gives them back to the store. The next bridge, once the draft is cleared,
// types each of the four exactly once.
func TestStopWhileQueued(t *testing.T) {
	w := newWorld(t, func(c *bridge.Config) { c.ReadyWait = time.Minute })
	log := w.agent("be:agent")
	w.startBridge()
	w.tmux("send-keys", "-t", "be:agent", "-l", "half a thought")
	waitFor(t, "the typed text on screen", func() bool { return strings.Contains(w.capture("be:agent"), "> half a thought") })

	var es []*subjects.Envelope
	for i, p := range []subjects.Priority{subjects.Critical, subjects.High, subjects.Normal, subjects.Normal} {
		es = append(es, w.publish("be:agent", p, "queued while not ready "+string(rune('a'+i))))
	}
	for _, e := range es {
		waitFor(t, "a queued receipt for "+e.ID, func() bool { return len(w.queuedReceipts(e)) > 0 })
	}
	start := time.Now()
	w.stopBridge()
	took := time.Since(start)
	t.Logf("the bridge stopped in %s with four messages queued", took)
	if took > 10*time.Second {
		t.Fatalf("stopping took %s", took)
	}
	if got := accepted(t, log); len(got) != 0 {
		t.Fatalf("submitted %q", got)
	}
	for _, e := range es {
		rs, err := w.c.Receipts(context.Background(), e.Message.Priority, e.ID)
		if err != nil {
			t.Fatal(err)
		}
		if rs = final(rs); len(rs) != 0 {
			t.Fatalf("%s has an outcome after the stop: %+v", e.ID, rs)
		}
	}

	w.tmux("send-keys", "-t", "be:agent", "C-u")
	w.startBridge()
	for _, e := range es {
		if r := w.only(e); r.Outcome != bus.Delivered {
			t.Fatalf("receipt %+v", r)
		}
	}
	waitAccepted(t, log, 4)
	quiet(time.Second) // a second typing would show by now
	got := accepted(t, log)
	if len(got) != 4 {
		t.Fatalf("accepted %d lines: %q", len(got), got)
	}
	for _, e := range es {
		n := 0
		for _, g := range got {
			if g == bridge.Render(e, bridge.DefaultMaxInline) {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("%s typed %d times: %q", e.ID, n, got)
		}
	}
}

// TestReleasedClaimIsTyped: a message a stopping bridge had claimed but not typed (the pane
// stopped being ready in between), and whose claim it gave back, is typed by the next
// bridge, once.
func TestReleasedClaimIsTyped(t *testing.T) {
	w := newWorld(t)
	log := w.agent("be:agent")
	pane := w.format("be:agent", "#{pane_id}")
	e := w.publish("be:agent", subjects.High, "claimed, then given back")
	ctx := context.Background()
	if err := w.c.Claim(ctx, e.Message.Priority, e.ID, w.cfg.Host, pane); err != nil {
		t.Fatal(err)
	}
	if err := w.c.Release(ctx, e.Message.Priority, e.ID, w.cfg.Host, pane); err != nil {
		t.Fatal(err)
	}
	w.startBridge()
	if r := w.only(e); r.Outcome != bus.Delivered {
		t.Fatalf("receipt %+v", r)
	}
	quiet(500 * time.Millisecond)
	if got := accepted(t, log); len(got) != 1 || got[0] != bridge.Render(e, bridge.DefaultMaxInline) {
		t.Fatalf("accepted %q", got)
	}
}

// TestOwnFailedClaimIsTyped: a claim stored by a call whose every answer was lost (the call
// failed, so nothing was typed) is this bridge's own: the redelivered message is claimed
// again with the failed call's token, recognised, and typed once. A claim with another token
// is another's: that message is not typed, and is recorded unconfirmed.
func TestOwnFailedClaimIsTyped(t *testing.T) {
	w := newWorld(t)
	log := w.agent("be:agent")
	pane := w.format("be:agent", "#{pane_id}")
	mine := w.publish("be:agent", subjects.High, "claimed by this bridge, every answer lost")
	theirs := w.publish("be:agent", subjects.High, "claimed by another bridge")
	ctx := context.Background()
	for _, e := range []*subjects.Envelope{mine, theirs} {
		if err := w.c.ClaimAs(ctx, e.Message.Priority, e.ID, w.cfg.Host, pane, "token-"+e.ID); err != nil {
			t.Fatal(err)
		}
	}
	var br *bridge.Bridge
	w.beforeRun = func(b *bridge.Bridge) {
		br = b
		bridge.SetClaimToken(b, mine.ID, pane, "token-"+mine.ID)
		bridge.SetClaimToken(b, theirs.ID, "%9999", "a failed claim in a pane that went away")
	}
	w.startBridge()
	if r := w.only(mine); r.Outcome != bus.Delivered {
		t.Fatalf("own claim: receipt %+v, want delivered", r)
	}
	if r := w.only(theirs); r.Outcome != bus.Unconfirmed {
		t.Fatalf("another's claim: receipt %+v, want unconfirmed", r)
	}
	quiet(500 * time.Millisecond)
	if got := accepted(t, log); len(got) != 1 || got[0] != bridge.Render(mine, bridge.DefaultMaxInline) {
		t.Fatalf("accepted %q", got)
	}
	// Nothing of the failed claims is kept once their messages are done with.
	if n := bridge.ClaimTokens(br); n != 0 {
		t.Fatalf("%d claim tokens kept", n)
	}
}
