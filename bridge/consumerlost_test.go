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

// TestDeletedConsumerIsRecreated deletes the bridge's consumer of its host's sessions (what any
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
	durable := bus.HostDurable(w.cfg.Host)
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

// TestChangedConsumerIsSetBack changes the filter of the bridge's consumer of its sessions
// (what any role allowed to create consumers could do by naming it; NATS cannot match part
// of a consumer name): the bridge notices at its next check, sets it back, delivers, and
// alerts; an untouched consumer raises no alert.
func TestChangedConsumerIsSetBack(t *testing.T) {
	const checkEvery = 300 * time.Millisecond
	t.Cleanup(bus.SetConsumerCheckEvery(checkEvery))
	w := newWorld(t)
	log := w.agent("be:agent")
	w.startBridge()
	first := w.publish("be:agent", subjects.Normal, "before the change")
	if r := w.only(first); r.Outcome != bus.Delivered {
		t.Fatalf("first: %+v", r)
	}
	a, err := subjects.GroupAddress("management", "be")
	if err != nil {
		t.Fatal(err)
	}
	lostAlerts := func() int {
		recs, err := w.c.Query(context.Background(), bus.Query{Address: a, Tags: []string{bridge.AlertTag, "consumer-lost"}})
		if err != nil {
			t.Fatal(err)
		}
		return len(recs)
	}
	time.Sleep(5 * checkEvery)
	if n := lostAlerts(); n != 0 {
		t.Fatalf("%d alerts about an untouched consumer", n)
	}
	js, _ := jetstream.New(w.c.Conn())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	durable := bus.HostDurable(w.cfg.Host)
	cons, err := js.Consumer(ctx, subjects.Normal.Stream(), durable)
	if err != nil {
		t.Fatal(err)
	}
	cfg := cons.CachedInfo().Config
	cfg.FilterSubject = "orc.normal." + w.cfg.Host + ".nobody.>"
	if _, err := js.UpdateConsumer(ctx, subjects.Normal.Stream(), cfg); err != nil {
		t.Fatalf("changing %s: %v", durable, err)
	}
	t0 := time.Now()
	second := w.publish("be:agent", subjects.Normal, "after the change")
	if r := w.only(second); r.Outcome != bus.Delivered {
		t.Fatalf("second: %+v", r)
	}
	t.Logf("the message published after the change was delivered %v later", time.Since(t0).Round(time.Millisecond))
	waitAccepted(t, log, 2)
	waitFor(t, "a consumer-lost alert", func() bool { return lostAlerts() == 1 })
	ctx2, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	cons, err = js.Consumer(ctx2, subjects.Normal.Stream(), durable)
	if err != nil || cons.CachedInfo().Config.FilterSubject != subjects.HostSubjects(subjects.Normal, w.cfg.Host) {
		t.Fatalf("the consumer after the check: %v", err)
	}
}
