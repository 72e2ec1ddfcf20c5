package bridge_test

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tmux-orc/tmux-orc/bridge"
	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/internal/agentsim"
	"github.com/tmux-orc/tmux-orc/subjects"
)

// readAt returns when the agent with raw log raw first read bytes containing id, or the
// zero time.
func readAt(t testing.TB, raw, id string) time.Time {
	rs, err := agentsim.ReadRaw(raw)
	if err != nil {
		return time.Time{}
	}
	for _, r := range rs {
		if bytes.Contains(r.Bytes(), []byte(id)) {
			return r.Time()
		}
	}
	return time.Time{}
}

// TestCriticalOvertakesQueuedMessages publishes five normal messages, waits until the
// first is being typed (its bytes reached the agent, its Enter is EnterDelay away), then
// publishes a critical one. The four normal messages still queued were published well
// before the critical one, so in arrival order the critical one would be sixth; by
// priority it must be second.
func TestCriticalOvertakesQueuedMessages(t *testing.T) {
	w := newWorld(t, func(c *bridge.Config) { c.EnterDelay = 300 * time.Millisecond })
	raw := filepath.Join(w.dir, "agent.raw")
	log := w.agent("be:agent", "-raw", raw)
	w.startBridge()

	var normals []*subjects.Envelope
	for i := range 5 {
		normals = append(normals, w.publish("be:agent", subjects.Normal, fmt.Sprintf("normal %d", i+1)))
	}
	waitFor(t, "the first normal message typed", func() bool { return !readAt(t, raw, normals[0].ID).IsZero() })
	crit := w.publish("be:agent", subjects.Critical, "stop everything")
	if l := agentLog(t, log); len(l.Prompts) != 0 {
		t.Fatalf("the first message was already submitted before the critical one was published: %q", l.Texts())
	}

	got := waitAccepted(t, log, 6)
	want := []string{bridge.Render(normals[0], bridge.DefaultMaxInline), bridge.Render(crit, bridge.DefaultMaxInline)}
	for _, e := range normals[1:] {
		want = append(want, bridge.Render(e, bridge.DefaultMaxInline))
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("accepted in this order:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, e := range append(normals, crit) {
		if r := w.only(e); r.Outcome != bus.Delivered {
			t.Errorf("%s: %+v", e.ID, r)
		}
	}
}

// TestLowMessagesAreBatched publishes three low messages together: they become one
// injection listing all three. A fourth, published after the batch window, is its own.
func TestLowMessagesAreBatched(t *testing.T) {
	w := newWorld(t, func(c *bridge.Config) { c.LowBatch = 300 * time.Millisecond })
	log := w.agent("be:agent")
	w.startBridge()

	var lows []*subjects.Envelope
	for i := range 3 {
		lows = append(lows, w.publish("be:agent", subjects.Low, fmt.Sprintf("fyi %d\nsecond line", i+1)))
	}
	got := waitAccepted(t, log, 1)
	want := bridge.RenderBatch(lows, bridge.DefaultMaxInline)
	if len(got) != 1 || got[0] != want {
		t.Fatalf("accepted %q, want [%q]", got, want)
	}
	prefix := "💤 LOW PRIORITY 3 messages: [" + lows[0].ID + "] fyi 1 ⏎ second line | [" + lows[1].ID + "] fyi 2 ⏎ second line | [" + lows[2].ID + "] fyi 3 ⏎ second line"
	if got[0] != prefix {
		t.Errorf("batch rendered as %q, want %q", got[0], prefix)
	}
	var typed time.Time
	for _, e := range lows {
		r := w.only(e)
		if r.Outcome != bus.Delivered || r.EnterPresses != 1 {
			t.Errorf("%s: %+v", e.ID, r)
		}
		// One injection: the same typing and submission times for all three.
		if typed.IsZero() {
			typed = r.Typed
		} else if !r.Typed.Equal(typed) {
			t.Errorf("%s typed at %s, the batch at %s", e.ID, r.Typed, typed)
		}
	}
	// The first low message waited for the batch window before it was typed.
	if wait := typed.Sub(lows[0].Timestamp); wait < 300*time.Millisecond {
		t.Errorf("the batch was typed %s after the first publish, before the %s window ended", wait, 300*time.Millisecond)
	}

	late := w.publish("be:agent", subjects.Low, "a later one")
	if r := w.only(late); r.Outcome != bus.Delivered {
		t.Fatalf("late low: %+v", r)
	}
	got = waitAccepted(t, log, 2)
	if len(got) != 2 || got[1] != bridge.Render(late, bridge.DefaultMaxInline) || !strings.HasPrefix(got[1], "💤 LOW PRIORITY a later one [id ") {
		t.Fatalf("accepted %q", got)
	}
}
