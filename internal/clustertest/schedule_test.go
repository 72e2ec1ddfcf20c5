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
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
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
	// The agent role may also list and cancel schedules, and list the consumers that
	// pubsub stats sums into its queue depth.
	later := envelope("sched", 1)
	lsid, err := cl.Schedule(ctx, later, []time.Time{time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if ls, err := cl.Schedules(ctx); err != nil || len(ls) != len(times)+1 {
		t.Fatalf("schedules as the agent role: %d, %v", len(ls), err)
	}
	if n, err := cl.CancelSchedule(ctx, lsid); err != nil || n != 1 {
		t.Fatalf("cancelling as the agent role: %d, %v", n, err)
	}
	t.Logf("listed and cancelled %s after the schedule", time.Since(first.Add(-4*time.Second)).Round(time.Millisecond))
	st, err := cl.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range st.Priorities {
		if p.QueueDepth < 0 {
			t.Errorf("queue depth of %s unknown to the agent role", p.Priority)
		}
	}
	t.Logf("stats %s after the schedule", time.Since(first.Add(-4*time.Second)).Round(time.Millisecond))
	admin := c.Connect(bus.Options{})
	defer admin.Close()
	leader := leaderOf(t, c, admin, subjects.ScheduleStream)
	t.Logf("killing node %d, the leader of %s", leader, subjects.ScheduleStream)
	c.Kill(leader)

	deadline := time.Now().Add(90 * time.Second)
	last := time.Now()
	for n := 1; n <= len(times); n++ {
		id := subjects.OccurrenceID(sid, n)
		for {
			// Each attempt with its own bound: a request in flight on the connection to the
			// killed node is never answered.
			gctx, gcancel := context.WithTimeout(ctx, 2*time.Second)
			r, err := cl.Get(gctx, id)
			gcancel()
			if err == nil {
				due := times[n-1].Truncate(time.Second)
				if r.Stored.Before(due) {
					t.Errorf("occurrence %d stored at %s, before it was due (%s)", n, r.Stored, due)
				}
				t.Logf("occurrence %d stored %s after it was due", n, r.Stored.Sub(due).Round(time.Millisecond))
				break
			}
			if time.Now().After(deadline) {
				ls, lerr := admin.Schedules(context.Background())
				_, aerr := admin.Get(context.Background(), id)
				t.Logf("waiting: %d %v; admin get: %v; agent on %s %v", len(ls), lerr, aerr, cl.Conn().ConnectedServerName(), cl.Conn().Status())
				t.Fatalf("occurrence %d (%s) never stored: %v", n, id, err)
			}
			if time.Since(last) > 10*time.Second {
				t.Logf("occurrence %d: %v", n, err)
				last = time.Now()
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
	lctx, lcancel := context.WithTimeout(ctx, 10*time.Second)
	defer lcancel()
	if ls, err := cl.Schedules(lctx); err != nil || len(ls) != 0 {
		t.Errorf("still waiting after all were due: %+v, %v", ls, err)
	}
}
