package clustertest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/subjects"
)

// Envelope is message i of a load for session on host "box", window 1 (normal priority).
// The target names its host: which node a client reaches must not change where it goes.
func Envelope(session string, i int) *subjects.Envelope {
	now := time.Now()
	target, _ := subjects.ParseTarget("box." + session + ":1")
	return &subjects.Envelope{ID: subjects.NewID(now), Timestamp: now,
		Source: subjects.Source{Type: "test", Identifier: "clustertest"}, Target: target,
		Message: subjects.Message{Type: "notification", Category: "test", Priority: subjects.Normal,
			Content: subjects.Content{Subject: "m", Body: fmt.Sprintf("message %d", i)}}}
}

// StreamLeader returns the server name of the node that leads stream name, waiting up to
// 30 s for one.
func StreamLeader(t testing.TB, cl *bus.Client, name string) string {
	t.Helper()
	js, _ := jetstream.New(cl.Conn())
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		st, err := js.Stream(ctx, name)
		cancel()
		if err == nil && st.CachedInfo().Cluster != nil && st.CachedInfo().Cluster.Leader != "" {
			return st.CachedInfo().Cluster.Leader
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no leader for %s", name)
	return ""
}

// LoadResult is what PublishLoad did: the ids whose publish succeeded, the errors of those
// that failed, and the longest publish.
type LoadResult struct {
	mu      sync.Mutex
	Stored  []string
	Errs    []error
	Longest time.Duration
}

// PublishLoad publishes n messages (Envelope) for session at rate per second from up to 64
// goroutines at once. It closes started (if not nil) a fifth of the way in.
func PublishLoad(ctx context.Context, cl *bus.Client, session string, n, rate int, started chan<- struct{}) *LoadResult {
	res := &LoadResult{}
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
			e := Envelope(session, i)
			t0 := time.Now()
			_, err := cl.Publish(ctx, e)
			res.record(e.ID, time.Since(t0), err)
		}()
	}
	wg.Wait()
	return res
}

// PublishLoadUntil publishes like PublishLoad at rate per second until stop is closed (or
// for at most limit), then waits for the publishes in flight.
func PublishLoadUntil(ctx context.Context, cl *bus.Client, session string, rate int, limit time.Duration, stop <-chan struct{}) *LoadResult {
	res := &LoadResult{}
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	end := time.After(limit)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for i := 0; ; i++ {
		select {
		case <-stop:
		case <-end:
		case <-tick.C:
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				e := Envelope(session, i)
				t0 := time.Now()
				_, err := cl.Publish(ctx, e)
				res.record(e.ID, time.Since(t0), err)
			}()
			continue
		}
		break
	}
	wg.Wait()
	return res
}

func (res *LoadResult) record(id string, d time.Duration, err error) {
	res.mu.Lock()
	defer res.mu.Unlock()
	res.Longest = max(res.Longest, d)
	if err != nil {
		res.Errs = append(res.Errs, err)
		return
	}
	res.Stored = append(res.Stored, id)
}

// ConsumeOnce consumes session (of host "box") like a bridge does, with the bridge's
// consumers of host "box": claim the delivery before "typing" it, skip what is already
// claimed, tell the server it is done (Delivery.Done). It counts deliveries per id; messages for other sessions are
// acknowledged and not counted.
func ConsumeOnce(t testing.TB, cl *bus.Client, session string) (counts func() map[string]int, stop func()) {
	t.Helper()
	var mu sync.Mutex
	delivered := map[string]int{}
	stopFn, err := cl.ConsumeHost(context.Background(), "box", time.Now().Add(-time.Hour), func(d *bus.Delivery) {
		ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
		defer cancel()
		if d.Session != session {
			_ = d.Done(ctx)
			return
		}
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
		if err := d.Done(ctx); err != nil {
			t.Logf("done of %s: %v (it will be redelivered and skipped as claimed)", d.Envelope.ID, err)
		}
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return func() map[string]int {
		mu.Lock()
		defer mu.Unlock()
		return maps.Clone(delivered)
	}, stopFn
}

// CheckOnce asserts that every id is stored once in the normal stream and delivered once
// (waiting up to 90 s for the deliveries), and that nothing else was stored for session
// ("": for any session).
func CheckOnce(t testing.TB, cl *bus.Client, session string, ids []string, counts func() map[string]int) {
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
	for id, n := range counts() {
		if n != 1 {
			t.Errorf("message %s delivered %d times", id, n)
		}
	}
	have := StoredIDsOf(t, cl, subjects.Normal.Stream(), session)
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

// StoredIDs reads a whole stream and counts the envelope ids.
func StoredIDs(t testing.TB, cl *bus.Client, stream string) map[string]int {
	t.Helper()
	return StoredIDsOf(t, cl, stream, "")
}

// StoredIDsOf counts the envelope ids of the messages in stream whose target is session (""
// for all), read with an ordered consumer (filtered on the session's subjects) within 60 s.
func StoredIDsOf(t testing.TB, cl *bus.Client, stream, session string) map[string]int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	js, _ := jetstream.New(cl.Conn())
	var cfg jetstream.OrderedConsumerConfig
	if session != "" {
		cfg.FilterSubjects = []string{"orc.*.*." + subjects.EncodeToken(session) + ".>"}
	}
	var cons jetstream.Consumer
	var err error
	for attempt := 0; ; attempt++ {
		var st jetstream.Stream
		if st, err = js.Stream(ctx, stream); err == nil {
			if cons, err = st.OrderedConsumer(ctx, cfg); err == nil {
				break
			}
		}
		if attempt == 20 {
			t.Fatalf("reading %s: %v", stream, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
	pending := cons.CachedInfo().NumPending
	have := map[string]int{}
	for pending > 0 {
		if ctx.Err() != nil {
			t.Fatalf("reading %s: %d messages left after 60s", stream, pending)
		}
		batch, err := cons.Fetch(1000, jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			t.Fatalf("reading %s: %v", stream, err)
		}
		for m := range batch.Messages() {
			env, err := subjects.Decode(m.Data())
			if err != nil {
				t.Fatal(err)
			}
			if session == "" || env.Target.Session == session {
				have[env.ID]++
			}
			if md, err := m.Metadata(); err == nil {
				pending = md.NumPending
			}
		}
		if err := batch.Error(); err != nil {
			t.Logf("reading %s: %v (%d messages left; fetching again)", stream, err, pending)
		}
	}
	return have
}
