package bus_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/subjects"
)

// waitRecord waits until message id is stored in its priority stream.
func waitRecord(t *testing.T, c *bus.Client, id string, within time.Duration) bus.Record {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		r, err := c.Get(context.Background(), id)
		if err == nil {
			return r
		}
		if !errors.Is(err, bus.ErrNotFound) || time.Now().After(deadline) {
			t.Fatalf("message %s: %v", id, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Scheduled occurrences wait in the schedule stream, are listed, reach their priority
// stream when due (not before), and a cancelled schedule never does.
func TestScheduleListForwardCancel(t *testing.T) {
	_, c := start(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = c.ForwardDue(ctx) }()

	now := time.Now()
	e := env(t, "pm:1", subjects.High, "CHECK-IN: status?")
	times := []time.Time{now.Add(2 * time.Second), now.Add(4 * time.Second)}
	sid, err := c.Schedule(ctx, e, times)
	if err != nil {
		t.Fatal(err)
	}
	keep := env(t, "pm:1", subjects.Low, "cancelled later")
	cancelled, err := c.Schedule(ctx, keep, []time.Time{now.Add(3 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	ls, err := c.Schedules(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ls) != 3 || ls[0].ID != sid+"-1" || ls[1].Schedule != cancelled || ls[2].ID != sid+"-2" {
		t.Fatalf("schedules %+v", ls)
	}
	if !ls[0].Due.Equal(times[0].UTC().Truncate(time.Second)) {
		t.Errorf("due %s, want %s", ls[0].Due, times[0])
	}
	if n, err := c.CancelSchedule(ctx, cancelled); err != nil || n != 1 {
		t.Fatalf("cancel: %d, %v", n, err)
	}
	if _, err := c.CancelSchedule(ctx, cancelled); !errors.Is(err, bus.ErrNoSchedule) {
		t.Fatalf("second cancel: %v", err)
	}
	if _, err := c.Get(ctx, sid+"-1"); !errors.Is(err, bus.ErrNotFound) {
		t.Fatalf("published before it was due: %v", err)
	}
	r1 := waitRecord(t, c, sid+"-1", 10*time.Second)
	if r1.Message.Content.Body != "CHECK-IN: status?" || r1.Stored.Before(times[0].Truncate(time.Second)) {
		t.Fatalf("occurrence 1 %+v stored %s, due %s", r1.Envelope, r1.Stored, times[0])
	}
	r2 := waitRecord(t, c, sid+"-2", 10*time.Second)
	if r2.Stored.Before(times[1].Truncate(time.Second)) {
		t.Fatalf("occurrence 2 stored %s, due %s", r2.Stored, times[1])
	}
	time.Sleep(time.Second)
	if _, err := c.Get(ctx, cancelled+"-1"); !errors.Is(err, bus.ErrNotFound) {
		t.Fatalf("the cancelled schedule was published: %v", err)
	}
	if ls, _ := c.Schedules(ctx); len(ls) != 0 {
		t.Fatalf("left waiting: %+v", ls)
	}
}
