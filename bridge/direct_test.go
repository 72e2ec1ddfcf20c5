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

// TestDeliverDirect: without a bus (the CLI's fallback), a message is typed into its pane
// through the same gate, typing and verification as the bridge's: the agent takes it once,
// the receipt says delivered via the fallback on this host; a pane kept busy by a person's
// draft is undeliverable after the ready wait, untouched; a target on another host or with
// no pane is an error.
func TestDeliverDirect(t *testing.T) {
	w := newWorld(t, func(c *bridge.Config) { c.ReadyWait = 500 * time.Millisecond })
	log := w.agent("be:agent")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	e := w.envelope("be:agent", subjects.High, "typed without the daemon")
	r, err := bridge.DeliverDirect(ctx, w.cfg, e, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Outcome != bus.Delivered || r.Via != "fallback" || r.Host != w.cfg.Host || !strings.HasPrefix(r.PaneTarget, "be:") ||
		r.Path != bus.PathTyped || r.Typed.IsZero() || r.Submitted.IsZero() || e.Target.Host != w.cfg.Host {
		t.Fatalf("receipt %+v (target %s)", r, e.Target)
	}
	if got := waitAccepted(t, log, 1); len(got) != 1 || !strings.Contains(got[0], "typed without the daemon") {
		t.Fatalf("accepted %q", got)
	}

	w.tmux("send-keys", "-t", "be:agent", "-l", "a person's draft")
	waitFor(t, "the draft on screen", func() bool { return strings.Contains(w.capture("be:agent"), "a person's draft") })
	r, err = bridge.DeliverDirect(ctx, w.cfg, w.envelope("be:agent", subjects.Normal, "must wait"), nil)
	if err != nil || r.Outcome != bus.Undeliverable || r.Reason == "" || !r.Typed.IsZero() {
		t.Fatalf("into a draft: %+v, %v", r, err)
	}
	if !strings.Contains(w.capture("be:agent"), "> a person's draft") || strings.Contains(w.capture("be:agent"), "must wait") {
		t.Fatalf("the draft was touched:\n%s", w.capture("be:agent"))
	}

	if _, err := bridge.DeliverDirect(ctx, w.cfg, w.envelope("elsewhere.be:agent", subjects.Normal, "x"), nil); err == nil ||
		!strings.Contains(err.Error(), "not on this one") {
		t.Fatalf("another host: %v", err)
	}
	if _, err := bridge.DeliverDirect(ctx, w.cfg, w.envelope("nosuch:1", subjects.Normal, "x"), nil); err == nil ||
		!strings.Contains(err.Error(), "no tmux pane") {
		t.Fatalf("no pane: %v", err)
	}
	if got := accepted(t, log); len(got) != 1 {
		t.Fatalf("accepted %d prompts, want 1: %q", len(got), got)
	}
}
