package clustertest_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/internal/clustertest"
	"github.com/tmux-orc/tmux-orc/subjects"
)

func TestMain(m *testing.M) { clustertest.Main(m) }

func envelope(session string, i int) *subjects.Envelope {
	now := time.Now()
	// Host-qualified: which daemon a client reaches must not change where a message goes.
	target, _ := subjects.ParseTarget("box." + session + ":1")
	return &subjects.Envelope{ID: subjects.NewID(now), Timestamp: now,
		Source: subjects.Source{Type: "test", Identifier: "clustertest"}, Target: target,
		Message: subjects.Message{Type: "notification", Category: "test", Priority: subjects.Normal,
			Content: subjects.Content{Subject: "m", Body: fmt.Sprintf("message %d", i)}}}
}

// leaderOf returns the index of the node that leads stream name.
func leaderOf(t testing.TB, c *clustertest.Cluster, cl *bus.Client, name string) int {
	t.Helper()
	js, _ := jetstream.New(cl.Conn())
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		st, err := js.Stream(ctx, name)
		cancel()
		if err == nil && st.CachedInfo().Cluster != nil {
			leader := st.CachedInfo().Cluster.Leader
			for i, n := range c.Nodes {
				if n.Name == leader {
					return i
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no leader for %s", name)
	return -1
}

// load publishes n messages for session at rate per second from several goroutines and
// returns the ids whose publish succeeded, the errors of those that failed, and the
// longest publish.
type loadResult struct {
	mu      sync.Mutex
	stored  []string
	errs    []error
	longest time.Duration
}

func publishLoad(ctx context.Context, cl *bus.Client, session string, n, rate int, started chan<- struct{}) *loadResult {
	res := &loadResult{}
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for i := range n {
		if i == n/5 && started != nil {
			close(started)
		}
		<-tick.C
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			e := envelope(session, i)
			t0 := time.Now()
			_, err := cl.Publish(ctx, e)
			d := time.Since(t0)
			res.mu.Lock()
			defer res.mu.Unlock()
			res.longest = max(res.longest, d)
			if err != nil {
				res.errs = append(res.errs, err)
				return
			}
			res.stored = append(res.stored, e.ID)
		}()
	}
	wg.Wait()
	return res
}

// consumeOnce consumes session like a bridge does: claim the delivery before "typing"
// it, skip what is already claimed, acknowledge. It counts deliveries per id.
func consumeOnce(t *testing.T, cl *bus.Client, session string) (counts func() map[string]int, stop func()) {
	var mu sync.Mutex
	delivered := map[string]int{}
	stopFn, err := cl.ConsumeSession(context.Background(), "box", session, time.Now().Add(-time.Hour), func(d *bus.Delivery) {
		ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
		defer cancel()
		err := cl.Claim(ctx, d.Envelope.Message.Priority, d.Envelope.ID, "box", "%1")
		switch {
		case err == nil:
			mu.Lock()
			delivered[d.Envelope.ID]++
			mu.Unlock()
		case errors.Is(err, bus.ErrClaimed):
		default:
			_ = d.Nak()
			return
		}
		if err := d.Ack(ctx); err != nil {
			t.Logf("ack of %s: %v (it will be redelivered and skipped as claimed)", d.Envelope.ID, err)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return func() map[string]int {
		mu.Lock()
		defer mu.Unlock()
		return maps(delivered)
	}, stopFn
}

func maps(m map[string]int) map[string]int {
	out := make(map[string]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// checkOnce asserts that every id is stored once in the cluster and delivered once.
func checkOnce(t *testing.T, cl *bus.Client, ids []string, counts func() map[string]int) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		got := counts()
		missing := 0
		for _, id := range ids {
			if got[id] == 0 {
				missing++
			}
		}
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d stored messages never delivered", missing, len(ids))
		}
		time.Sleep(200 * time.Millisecond)
	}
	got := counts()
	for id, n := range got {
		if n != 1 {
			t.Errorf("message %s delivered %d times", id, n)
		}
	}
	have := storedIDs(t, cl, subjects.Normal.Stream())
	total := 0
	for _, n := range have {
		total += n
	}
	for _, id := range ids {
		if have[id] != 1 {
			t.Fatalf("message %s acknowledged as stored is present %d times", id, have[id])
		}
	}
	if total != len(ids) {
		t.Errorf("%d messages stored, %d publishes succeeded", total, len(ids))
	}
}

// storedIDs reads a whole stream with an ordered consumer and counts the envelope ids.
func storedIDs(t *testing.T, cl *bus.Client, stream string) map[string]int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	js, _ := jetstream.New(cl.Conn())
	st, err := js.Stream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	state := st.CachedInfo().State
	have := map[string]int{}
	for seq := state.FirstSeq; seq <= state.LastSeq && state.Msgs > 0; seq++ {
		var m *jetstream.RawStreamMsg
		for attempt := 0; ; attempt++ {
			if m, err = st.GetMsg(ctx, seq); err == nil || errors.Is(err, jetstream.ErrMsgNotFound) {
				break
			}
			if attempt == 20 {
				t.Fatalf("reading %s #%d: %v", stream, seq, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
		if m == nil {
			continue
		}
		env, err := subjects.Decode(m.Data)
		if err != nil {
			t.Fatal(err)
		}
		have[env.ID]++
	}
	return have
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
	done := make(chan *loadResult)
	go func() { done <- publishLoad(context.Background(), pub, "team", 10_000, 1000, started) }()
	<-started
	killedAt := time.Now()
	c.Kill(victim)
	t.Logf("killed %s (leader of %s) after %d messages", c.Nodes[victim].Name, subjects.Normal.Stream(), 2000)
	res := <-done
	if len(res.errs) > 0 {
		t.Fatalf("%d publishes failed, first: %v", len(res.errs), res.errs[0])
	}
	newLeader := leaderOf(t, c, pub, subjects.Normal.Stream())
	if newLeader == victim {
		t.Fatalf("leader still %s after it was killed", c.Nodes[victim].Name)
	}
	t.Logf("10000 published, longest publish %v (kill at %s), new leader %s", res.longest, killedAt.Format("15:04:05.000"), c.Nodes[newLeader].Name)
	checkOnce(t, pub, res.stored, counts)

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
		return st.CachedInfo().State.Msgs == uint64(len(res.stored))
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
