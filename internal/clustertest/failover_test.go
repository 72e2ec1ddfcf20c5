package clustertest_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/internal/clustertest"
	"github.com/tmux-orc/tmux-orc/subjects"
)

func TestMain(m *testing.M) { clustertest.Main(m) }

// The load helpers live in clustertest (load.go), shared with internal/composetest.
var (
	envelope    = clustertest.Envelope
	publishLoad = clustertest.PublishLoad
	storedIDs   = clustertest.StoredIDs
)

func consumeOnce(t *testing.T, cl *bus.Client, session string) (counts func() map[string]int, stop func()) {
	t.Helper()
	return clustertest.ConsumeOnce(t, cl, session)
}

func checkOnce(t *testing.T, cl *bus.Client, ids []string, counts func() map[string]int) {
	t.Helper()
	clustertest.CheckOnce(t, cl, "", ids, counts)
}

// leaderOf returns the index of the node that leads stream name.
func leaderOf(t testing.TB, c *clustertest.Cluster, cl *bus.Client, name string) int {
	t.Helper()
	leader := clustertest.StreamLeader(t, cl, name)
	for i, n := range c.Nodes {
		if n.Name == leader {
			return i
		}
	}
	t.Fatalf("%s is led by %s, not a node of this cluster", name, leader)
	return -1
}

// TestKillStreamLeaderUnderLoad: three daemon processes; 10 000 messages published at a
// steady rate through a client that knows every node; the node leading the stream is
// killed with SIGKILL a fifth of the way in. No publish fails (elections are retried
// within bus.PublishWithin), every stored message is stored once and delivered once.
func TestKillStreamLeaderUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("three daemons and 10 000 messages")
	}
	c := clustertest.New(t, clustertest.Options{})
	c.Start()
	pub := c.Connect(bus.Options{Name: "publisher"})
	sub := c.Connect(bus.Options{Name: "consumer"})
	victim := leaderOf(t, c, pub, subjects.Normal.Stream())
	counts, stop := consumeOnce(t, sub, "team")
	defer stop()

	started := make(chan struct{})
	done := make(chan *clustertest.LoadResult)
	go func() { done <- publishLoad(context.Background(), pub, "team", 10_000, 1000, started) }()
	<-started
	killedAt := time.Now()
	c.Kill(victim)
	t.Logf("killed %s (leader of %s) after %d messages", c.Nodes[victim].Name, subjects.Normal.Stream(), 2000)
	res := <-done
	if len(res.Errs) > 0 {
		t.Fatalf("%d publishes failed, first: %v", len(res.Errs), res.Errs[0])
	}
	newLeader := leaderOf(t, c, pub, subjects.Normal.Stream())
	if newLeader == victim {
		t.Fatalf("leader still %s after it was killed", c.Nodes[victim].Name)
	}
	t.Logf("10000 published, longest publish %v (kill at %s), new leader %s", res.Longest, killedAt.Format("15:04:05.000"), c.Nodes[newLeader].Name)
	checkOnce(t, pub, res.Stored, counts)

	// The killed node comes back and catches up: it holds every message too.
	c.Start(victim)
	only := c.Connect(bus.Options{Name: "back"}, victim)
	js, _ := jetstream.New(only.Conn())
	waitFor(t, 60*time.Second, func() bool {
		st, err := js.Stream(context.Background(), subjects.Normal.Stream())
		if err != nil || st.CachedInfo().Cluster == nil {
			return false
		}
		for _, r := range st.CachedInfo().Cluster.Replicas {
			if !r.Current {
				return false
			}
		}
		return st.CachedInfo().State.Msgs == uint64(len(res.Stored))
	})
}

func waitFor(t *testing.T, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v", d)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
