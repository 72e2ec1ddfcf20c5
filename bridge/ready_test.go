package bridge_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tmux-orc/tmux-orc/bridge"
	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/subjects"
)

// TestCatOneLineOneEnter: a program that draws no prompt (cat, writing to a file) gets one
// message as exactly one line: one Enter, no extra empty line.
func TestCatOneLineOneEnter(t *testing.T) {
	w := newWorld(t)
	w.agent("keep:0")
	out := filepath.Join(w.dir, "cat.out")
	w.tmux("new-session", "-d", "-s", "cat", "-x", "200", "-y", "50", "sh", "-c", "echo ready; exec cat > "+out)
	waitFor(t, "cat running", func() bool { return w.format("cat:0", "#{pane_current_command}") == "cat" })
	w.startBridge()
	e := w.publish("cat", subjects.Normal, "one line only")
	if r := w.only(e); r.Outcome != bus.Delivered || r.EnterPresses != 1 {
		t.Fatalf("receipt %+v", r)
	}
	want := bridge.Render(e, bridge.DefaultMaxInline) + "\n"
	waitFor(t, "the line in the file", func() bool { b, _ := os.ReadFile(out); return len(b) > 0 })
	quiet(500 * time.Millisecond) // an extra Enter would add an empty line by now
	if b, _ := os.ReadFile(out); string(b) != want {
		t.Fatalf("cat read %q, want %q", b, want)
	}
}

// TestSlowStart: messages for an agent that has not drawn its prompt yet wait for it, and are
// delivered once it is ready, each exactly once.
func TestSlowStart(t *testing.T) {
	w := newWorld(t)
	w.agent("keep:0")
	w.startBridge()
	log := filepath.Join(w.dir, "slow.log")
	// The command as separate arguments: tmux execs it directly, with no sh -c in between that
	// the gate would (rightly) see as a shell for a moment.
	w.tmux("new-session", "-d", "-s", "slow", "-x", "200", "-y", "50", simBinary, "-log", log, "-start-delay", "2s")
	e1 := w.publish("slow", subjects.High, "first, while starting")
	e2 := w.publish("slow", subjects.Normal, "second")
	for _, e := range []*subjects.Envelope{e1, e2} {
		if r := w.only(e); r.Outcome != bus.Delivered {
			t.Fatalf("receipt %+v", r)
		}
	}
	if q := w.queuedReceipts(e1); len(q) != 1 || !strings.Contains(q[0].Reason, "not on the screen") {
		t.Fatalf("queued %+v", q)
	}
	got := waitAccepted(t, log, 2)
	if len(got) != 2 || got[0] != bridge.Render(e1, bridge.DefaultMaxInline) || got[1] != bridge.Render(e2, bridge.DefaultMaxInline) {
		t.Fatalf("accepted %q", got)
	}
}

// TestStuckTextDoesNotBlock: when an agent turns Enter into a newline (here: any Enter within
// 1.5 s of typed text), the message's text stays in its box (unconfirmed). It does not make
// the pane's later messages undeliverable: with the next message, once the agent takes Enter
// again, it is submitted (recorded delivered, late), and the next message is typed after it.
func TestStuckTextDoesNotBlock(t *testing.T) {
	w := newWorld(t, func(c *bridge.Config) {
		c.EnterDelay, c.VerifyDelay, c.EnterRetries = 20*time.Millisecond, 50*time.Millisecond, 1
	})
	log := w.agent("be:agent", "-enter-window", "1500ms")
	w.startBridge()
	e1 := w.publish("be:agent", subjects.High, "stuck at first")
	if r := w.only(e1); r.Outcome != bus.Unconfirmed || r.Typed.IsZero() {
		t.Fatalf("receipt %+v", r)
	}
	time.Sleep(1500 * time.Millisecond)
	e2 := w.publish("be:agent", subjects.Critical, "and then me")
	if r := w.only(e2); r.Outcome == bus.Undeliverable || r.Typed.IsZero() {
		t.Fatalf("receipt %+v", r)
	}
	got := waitAccepted(t, log, 1)
	if !strings.HasPrefix(got[0], bridge.Render(e1, bridge.DefaultMaxInline)) || strings.Contains(got[0], e2.ID) {
		t.Fatalf("accepted %q", got)
	}
	var late bool
	for _, r := range w.outcome(e1) {
		late = late || (r.Outcome == bus.Delivered && strings.Contains(r.Reason, "late"))
	}
	if !late {
		t.Fatalf("no late delivery of %s: %+v", e1.ID, w.outcome(e1))
	}
}
