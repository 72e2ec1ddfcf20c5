package clustertest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/internal/clustertest"
	"github.com/tmux-orc/tmux-orc/subjects"
)

// Both benchmarks run real daemon processes (sync "always", the default) and are meant to
// be read as ratios within one run: on a small shared machine the absolute figures move
// from run to run, but noise hits both sides of an interleaved comparison alike.
//
//	go test ./internal/clustertest -run XXX -bench PublishR1vsR3 -benchtime 2000x
//	go test ./internal/clustertest -run XXX -bench FailoverWindow -benchtime 3x

// BenchmarkPublishR1vsR3 measures what replication costs one publisher: a single daemon
// (streams with one replica; Standalone, since a one-node cluster with a route to itself
// never becomes ready) beside a three-node cluster (three replicas), each
// publish sequential and awaited until stored. Each iteration publishes once to the R1
// node, once through a node that does not lead ORC_NORMAL (the request is forwarded to the
// leader, which waits for a follower before acknowledging) and once through the leader;
// the order rotates so neither side always follows the other.
func BenchmarkPublishR1vsR3(b *testing.B) {
	r1 := clustertest.New(b, clustertest.Options{Nodes: 1, Standalone: true})
	r3 := clustertest.New(b, clustertest.Options{})
	r1.Start()
	r3.Start()

	admin := r3.Connect(bus.Options{Name: "bench-admin"})
	leader := leaderOf(b, r3, admin, subjects.Normal.Stream())
	follower := (leader + 1) % len(r3.Nodes)
	single := r1.Connect(bus.Options{Name: "bench-r1"}, 0)
	if st := streamReplicas(b, single, subjects.Normal.Stream()); st != 1 {
		b.Fatalf("single daemon: %s has %d replicas, want 1", subjects.Normal.Stream(), st)
	}
	if st := streamReplicas(b, admin, subjects.Normal.Stream()); st != 3 {
		b.Fatalf("three-node cluster: %s has %d replicas, want 3", subjects.Normal.Stream(), st)
	}
	viaFollower := r3.Connect(bus.Options{Name: "bench-r3-follower"}, follower)
	viaLeader := r3.Connect(bus.Options{Name: "bench-r3-leader"}, leader)

	type side struct {
		name string
		cl   *bus.Client
		url  string
		lat  []time.Duration
	}
	sides := []*side{
		{name: "r1", cl: single, url: r1.Nodes[0].URL()},
		{name: "r3", cl: viaFollower, url: r3.Nodes[follower].URL()},
		{name: "r3leader", cl: viaLeader, url: r3.Nodes[leader].URL()},
	}
	ctx := context.Background()
	publish := func(s *side, i int) time.Duration {
		e := envelope("bench", i)
		t0 := time.Now()
		if _, err := s.cl.Publish(ctx, e); err != nil {
			b.Fatalf("%s: publish %d: %v", s.name, i, err)
		}
		return time.Since(t0)
	}
	for i := range 200 {
		for _, s := range sides {
			publish(s, i)
		}
	}
	for _, s := range sides {
		if got := s.cl.Conn().ConnectedUrl(); got != s.url {
			b.Fatalf("%s: connected to %s, want %s", s.name, got, s.url)
		}
		s.lat = make([]time.Duration, 0, max(b.N, 1))
	}

	i := 0
	for b.Loop() {
		for k := range sides {
			s := sides[(i+k)%len(sides)]
			s.lat = append(s.lat, publish(s, i))
		}
		i++
	}
	b.StopTimer()

	if now := leaderOf(b, r3, admin, subjects.Normal.Stream()); now != leader {
		b.Fatalf("the leader of %s moved from %s to %s during the run", subjects.Normal.Stream(), r3.Nodes[leader].Name, r3.Nodes[now].Name)
	}
	p := map[string][2]float64{}
	for _, s := range sides {
		if got := s.cl.Conn().ConnectedUrl(); got != s.url {
			b.Fatalf("%s: reconnected to %s during the run", s.name, got)
		}
		// The same percentiles (nearest rank) as pubsub stats, in µs.
		ps := bus.Percentiles(s.lat)
		p[s.name] = [2]float64{ps.P50 * 1000, ps.P99 * 1000}
		b.ReportMetric(p[s.name][0], s.name+"-p50-µs")
		b.ReportMetric(p[s.name][1], s.name+"-p99-µs")
	}
	b.ReportMetric(p["r3"][0]/p["r1"][0], "r3/r1-p50")
	b.ReportMetric(p["r3"][1]/p["r1"][1], "r3/r1-p99")
	b.ReportMetric(p["r3leader"][0]/p["r1"][0], "r3leader/r1-p50")
	b.ReportMetric(p["r3leader"][1]/p["r1"][1], "r3leader/r1-p99")
	b.Logf("R3 through %s (follower) and %s (leader of %s); %d publishes per side",
		r3.Nodes[follower].Name, r3.Nodes[leader].Name, subjects.Normal.Stream(), len(sides[0].lat))
}

// streamReplicas is the replica count of stream name as the server reports it.
func streamReplicas(tb testing.TB, cl *bus.Client, name string) int {
	tb.Helper()
	js, _ := jetstream.New(cl.Conn())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, name)
	if err != nil {
		tb.Fatal(err)
	}
	return st.CachedInfo().Config.Replicas
}

// metaLeader is the meta leader as node i's `pubsub status` reports it, or why it is
// unknown; it is only logged (a killed stream leader that also leads the meta group may
// take longer to replace).
func metaLeader(c *clustertest.Cluster, i int) string {
	out, err := c.Run(i, "pubsub", "status", "--json")
	if err != nil {
		return fmt.Sprintf("unknown (%v)", err)
	}
	var st struct {
		Cluster *subjects.ClusterStatus `json:"cluster"`
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil || st.Cluster == nil {
		return "unknown"
	}
	return st.Cluster.MetaLeader
}

// attempt is one publish of the failover load.
type attempt struct {
	start, end time.Time
	err        error
}

// failoverRate is the steady publish rate of BenchmarkFailoverWindow.
const failoverRate = 200

// BenchmarkFailoverWindow measures how long publishers wait when the leader of
// ORC_NORMAL is killed with SIGKILL. Each iteration starts a fresh three-node cluster
// (untimed), publishes at a steady 200 msg/s from a client that knows every node, each
// publish in its own goroutine so that a stalled one does not hold back the next, and
// kills the leader two seconds in. The window is from the kill to the first success of a
// publish started after it; the longest publish is the worst single wait (usually one in
// flight at the kill). Every publish must succeed.
func BenchmarkFailoverWindow(b *testing.B) {
	var windows, longest []time.Duration
	iter := 0
	for b.Loop() {
		b.StopTimer()
		iter++
		c := clustertest.New(b, clustertest.Options{})
		c.Start()
		pub := c.Connect(bus.Options{Name: "bench-failover"})
		victim := leaderOf(b, c, pub, subjects.Normal.Stream())
		meta := metaLeader(c, victim)

		var mu sync.Mutex
		var attempts []attempt
		var wg sync.WaitGroup
		stop := make(chan struct{})
		loadDone := make(chan struct{})
		go func() {
			defer close(loadDone)
			tick := time.NewTicker(time.Second / failoverRate)
			defer tick.Stop()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					e := envelope("failover", i)
					a := attempt{start: time.Now()}
					_, a.err = pub.Publish(context.Background(), e)
					a.end = time.Now()
					mu.Lock()
					attempts = append(attempts, a)
					mu.Unlock()
				}()
			}
		}()

		time.Sleep(2 * time.Second)
		b.StartTimer()
		killedAt := time.Now()
		c.Kill(victim)
		gone := time.Since(killedAt)
		// Keep publishing until a publish started after the kill has succeeded, then three
		// seconds more (the tail of stalled publishes), or until they would have failed.
		deadline := killedAt.Add(bus.PublishWithin + 5*time.Second)
		for {
			mu.Lock()
			recovered := time.Time{}
			for _, a := range attempts {
				if a.err == nil && a.start.After(killedAt) && (recovered.IsZero() || a.end.Before(recovered)) {
					recovered = a.end
				}
			}
			mu.Unlock()
			if (!recovered.IsZero() && time.Since(recovered) > 3*time.Second) || time.Now().After(deadline) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		close(stop)
		<-loadDone
		wg.Wait()
		b.StopTimer()

		var failed []error
		var window, worst time.Duration
		var recovered time.Time
		for _, a := range attempts {
			if a.err != nil {
				failed = append(failed, a.err)
				continue
			}
			worst = max(worst, a.end.Sub(a.start))
			if a.start.After(killedAt) && (recovered.IsZero() || a.end.Before(recovered)) {
				recovered = a.end
			}
		}
		if len(failed) > 0 {
			b.Fatalf("iteration %d: %d of %d publishes failed, first: %v", iter, len(failed), len(attempts), failed[0])
		}
		if recovered.IsZero() {
			b.Fatalf("iteration %d: no publish started after the kill succeeded", iter)
		}
		window = recovered.Sub(killedAt)
		windows = append(windows, window)
		longest = append(longest, worst)
		newLeader := leaderOf(b, c, pub, subjects.Normal.Stream())
		b.Logf("iteration %d: killed %s (leader of %s; meta leader %s; gone after %v); window %v, longest publish %v, %d publishes, new leader %s",
			iter, c.Nodes[victim].Name, subjects.Normal.Stream(), meta, gone.Round(time.Millisecond), window.Round(time.Millisecond),
			worst.Round(time.Millisecond), len(attempts), c.Nodes[newLeader].Name)
		pub.Close()
		for i := range c.Nodes {
			c.Kill(i)
		}
		b.StartTimer() // b.Loop wants it running
	}
	slices.Sort(windows)
	slices.Sort(longest)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1e3 }
	b.ReportMetric(ms(windows[(len(windows)-1)/2]), "window-ms")
	b.ReportMetric(ms(windows[len(windows)-1]), "window-max-ms")
	b.ReportMetric(ms(longest[(len(longest)-1)/2]), "longest-publish-ms")
	b.ReportMetric(ms(longest[len(longest)-1]), "longest-publish-max-ms")
	b.ReportMetric(0, "ns/op") // the time from kill to the end of the load says nothing
	b.Logf("windows %v, longest publishes %v", windows, longest)
}
