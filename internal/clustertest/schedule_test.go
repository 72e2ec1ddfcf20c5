package clustertest_test

import (
	"context"
	"testing"
	"time"

	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/internal/clustertest"
	"github.com/tmux-orc/tmux-orc/subjects"
)

// TestScheduleSurvivesFailover schedules six occurrences (as the agent role), kills -9 the
// node that leads the schedule stream before the first is due, and finds every occurrence
// stored once in its priority stream, none before it was due.
func TestScheduleSurvivesFailover(t *testing.T) {
	c := clustertest.New(t, clustertest.Options{})
	c.Start()
	cl := c.Connect(bus.Options{Creds: c.AgentCreds})
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	e := envelope("sched", 0)
	e.Message.Content.Body = "CHECK-IN: scheduled across a failover"
	first := time.Now().Add(4 * time.Second)
	var times []time.Time
	for i := range 6 {
		times = append(times, first.Add(time.Duration(i)*2*time.Second))
	}
	sid, err := cl.Schedule(ctx, e, times)
	if err != nil {
		t.Fatal(err)
	}
	admin := c.Connect(bus.Options{})
	defer admin.Close()
	leader := leaderOf(t, c, admin, subjects.ScheduleStream)
	t.Logf("killing node %d, the leader of %s", leader, subjects.ScheduleStream)
	c.Kill(leader)

	deadline := time.Now().Add(90 * time.Second)
	for n := 1; n <= len(times); n++ {
		id := subjects.OccurrenceID(sid, n)
		for {
			r, err := cl.Get(ctx, id)
			if err == nil {
				due := times[n-1].Truncate(time.Second)
				if r.Stored.Before(due) {
					t.Errorf("occurrence %d stored at %s, before it was due (%s)", n, r.Stored, due)
				}
				t.Logf("occurrence %d stored %s after it was due", n, r.Stored.Sub(due).Round(time.Millisecond))
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("occurrence %d (%s) never stored: %v", n, id, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	have := storedIDs(t, admin, subjects.Normal.Stream())
	for n := 1; n <= len(times); n++ {
		if got := have[subjects.OccurrenceID(sid, n)]; got != 1 {
			t.Errorf("occurrence %d stored %d times", n, got)
		}
	}
	if ls, err := cl.Schedules(ctx); err != nil || len(ls) != 0 {
		t.Errorf("still waiting after all were due: %+v, %v", ls, err)
	}
}
