package bridge_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/tmux-orc/tmux-orc/bridge"
	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/subjects"
)

// fakeObserver records what the bridge reports.
type fakeObserver struct {
	mu       sync.Mutex
	outcomes []bus.Receipt
	alerts   int
}

func (o *fakeObserver) Outcome(r bus.Receipt) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.outcomes = append(o.outcomes, r)
}

func (o *fakeObserver) Alert() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.alerts++
}

func (o *fakeObserver) seen() ([]bus.Receipt, int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]bus.Receipt(nil), o.outcomes...), o.alerts
}

// TestObserverSeesOutcomesAlertsAndQueueDepth: a delivered message reaches the observer with
// its publish, typed and submitted times; a message whose window never appears waits
// (queue depth 1), then becomes undeliverable with an alert.
func TestObserverSeesOutcomesAlertsAndQueueDepth(t *testing.T) {
	obs := &fakeObserver{}
	w := newWorld(t, func(c *bridge.Config) { c.Observer = obs; c.Expiry = 2 * time.Second })
	w.agent("be:agent")
	b := bridge.New(w.cfg, w.c, zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)).Named("bridge"))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	defer func() { cancel(); <-done }()

	e := w.publish("be:agent", subjects.High, "Agent backend-dev:2 idle 15min")
	if rs := w.outcome(e); len(rs) != 1 || rs[0].Outcome != bus.Delivered {
		t.Fatalf("outcome %+v", rs)
	}
	waitFor(t, "the observer to see the outcome", func() bool { o, _ := obs.seen(); return len(o) == 1 })
	o, alerts := obs.seen()
	r := o[0]
	if r.ID != e.ID || r.Priority != subjects.High || r.Outcome != bus.Delivered || !r.Published.Equal(e.Timestamp) ||
		r.Typed.Before(r.Published) || r.Submitted.Before(r.Typed) || r.PaneTarget == "" || alerts != 0 {
		t.Fatalf("observed %+v, %d alerts", r, alerts)
	}

	lost := w.publish("be:nowhere", subjects.Normal, "for a window that never appears")
	waitFor(t, "the message to wait in the queue", func() bool { return b.QueueDepths()["be"] == 1 })
	if rs := w.outcome(lost); len(rs) != 1 || rs[0].Outcome != bus.Undeliverable {
		t.Fatalf("outcome %+v", rs)
	}
	waitFor(t, "the observer to see the alert", func() bool { _, a := obs.seen(); return a == 1 })
	o, _ = obs.seen()
	if len(o) != 2 || o[1].ID != lost.ID || o[1].Outcome != bus.Undeliverable || !o[1].Typed.IsZero() {
		t.Fatalf("observed %+v", o)
	}
	// The alert about it waits in turn for a pane of the management group, which session be
	// does not have, and expires too: undeliverable, not alerted again, and the queue is empty.
	waitFor(t, "the alert's own outcome", func() bool { o, _ := obs.seen(); return len(o) == 3 })
	o, alerts = obs.seen()
	if o[2].Outcome != bus.Undeliverable || o[2].Priority != subjects.High || alerts != 1 {
		t.Fatalf("observed %+v, %d alerts", o[2], alerts)
	}
	if d := b.QueueDepths(); d["be"] != 0 {
		t.Fatalf("queue depths at the end %v", d)
	}
}
