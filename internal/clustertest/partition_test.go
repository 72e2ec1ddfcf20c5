package clustertest_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/internal/clustertest"
	"github.com/tmux-orc/tmux-orc/subjects"
)

// TestMinorityPartition cuts every route of the node that leads the stream (its routes run
// through proxies): a client on that node cannot store anything, the other two elect a new
// leader and go on storing, and once the routes are back the cut-off node catches up and
// holds every message the majority stored, and nothing it refused.
func TestMinorityPartition(t *testing.T) {
	if testing.Short() {
		t.Skip("three daemons")
	}
	c := clustertest.New(t, clustertest.Options{Proxied: true})
	c.Start()
	all := c.Connect(bus.Options{Name: "all"})
	cut := leaderOf(t, c, all, subjects.Normal.Stream())
	var majority []int
	for i := range c.Nodes {
		if i != cut {
			majority = append(majority, i)
		}
	}
	minorityClient := c.Connect(bus.Options{Name: "minority"}, cut)
	majorityClient := c.Connect(bus.Options{Name: "majority"}, majority...)
	var stored []string
	for i := range 20 {
		e := envelope("team", i)
		if _, err := all.Publish(context.Background(), e); err != nil {
			t.Fatal(err)
		}
		stored = append(stored, e.ID)
	}

	c.Partition(cut, true)
	t.Logf("cut %s (leader of %s) off", c.Nodes[cut].Name, subjects.Normal.Stream())
	// The majority goes on: its publishes succeed once it has elected a new leader (the
	// client retries meanwhile).
	t0 := time.Now()
	for i := range 50 {
		e := envelope("team", 100+i)
		if _, err := majorityClient.Publish(context.Background(), e); err != nil {
			t.Fatalf("majority publish %d: %v", i, err)
		}
		if i == 0 {
			t.Logf("first majority publish stored %v after the cut", time.Since(t0).Round(time.Millisecond))
		}
		stored = append(stored, e.ID)
	}
	// The minority refuses writes: nothing is acknowledged there.
	var refused []string
	for i := range 2 {
		e := envelope("team", 200+i)
		ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
		_, err := minorityClient.Publish(ctx, e)
		cancel()
		if err == nil {
			t.Fatalf("the cut-off node acknowledged a publish")
		}
		if !errors.Is(err, bus.ErrNotStored) {
			t.Errorf("minority publish: %v, want ErrNotStored", err)
		}
		refused = append(refused, e.ID)
		if i == 0 {
			t.Logf("minority publish refused: %v", err)
		}
	}

	c.Partition(cut, false)
	only := c.Connect(bus.Options{Name: "healed"}, cut)
	js, _ := jetstream.New(only.Conn())
	waitFor(t, 60*time.Second, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		st, err := js.Stream(ctx, subjects.Normal.Stream())
		if err != nil || st.CachedInfo().Cluster == nil || st.CachedInfo().Cluster.Leader == "" {
			return false
		}
		for _, r := range st.CachedInfo().Cluster.Replicas {
			if !r.Current || r.Offline {
				return false
			}
		}
		return true
	})
	// Every replica is current, the healed one included: read everything through it.
	have := storedIDs(t, only, subjects.Normal.Stream())
	for _, id := range stored {
		if have[id] != 1 {
			t.Fatalf("message %s stored by the majority is present %d times after healing", id, have[id])
		}
	}
	for _, id := range refused {
		if have[id] != 0 {
			t.Errorf("message %s refused by the cut-off node was stored after healing", id)
		}
	}
	if len(have) != len(stored) {
		t.Errorf("%d messages after healing, %d stored", len(have), len(stored))
	}
}
