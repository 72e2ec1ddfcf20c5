package bridge_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tmux-orc/tmux-orc/bridge"
	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/subjects"
)

// TestDeletedConsumerIsRecreated deletes the bridge's consumer of a session (what any
// client allowed to delete consumers could do): the bridge creates it again, the message
// published after the deletion is delivered, and the session's management group is alerted.
func TestDeletedConsumerIsRecreated(t *testing.T) {
	w := newWorld(t)
	log := w.agent("be:agent")
	w.startBridge()
	first := w.publish("be:agent", subjects.Normal, "before the deletion")
	if r := w.only(first); r.Outcome != bus.Delivered {
		t.Fatalf("first: %+v", r)
	}
	js, _ := jetstream.New(w.c.Conn())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	durable := bus.SessionDurable(w.cfg.Host, "be")
	if err := js.DeleteConsumer(ctx, subjects.Normal.Stream(), durable); err != nil {
		t.Fatalf("deleting %s: %v", durable, err)
	}
	second := w.publish("be:agent", subjects.Normal, "after the deletion")
	if r := w.only(second); r.Outcome != bus.Delivered {
		t.Fatalf("second: %+v", r)
	}
	waitAccepted(t, log, 2)
	a, err := subjects.GroupAddress("management", "be")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a consumer-lost alert", func() bool {
		recs, err := w.c.Query(context.Background(), bus.Query{Address: a, Tags: []string{bridge.AlertTag, "consumer-lost"}})
		return err == nil && len(recs) == 1
	})
	if _, err := js.Consumer(ctx, subjects.Normal.Stream(), durable); err != nil {
		t.Fatalf("the consumer was not created again: %v", err)
	}
}
