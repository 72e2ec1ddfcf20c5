package bus_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/internal/embeddedtest"
	"github.com/tmux-orc/tmux-orc/subjects"
)

// readBenchSizes are the store sizes BenchmarkRead fills: 1 000 and 10 000 by default;
// TMUX_ORC_READ_BENCH_SIZES=1000,10000,100000,1000000 adds the large ones (filling a
// million messages takes minutes on a small machine, so CI does not).
func readBenchSizes(b *testing.B) []int {
	v := os.Getenv("TMUX_ORC_READ_BENCH_SIZES")
	if v == "" {
		return []int{1000, 10_000}
	}
	var out []int
	for _, f := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1000 {
			b.Fatalf("TMUX_ORC_READ_BENCH_SIZES: %q: want sizes of at least 1000", f)
		}
		out = append(out, n)
	}
	return out
}

// fillStore stores n normal-priority messages for window fill:1 on host h1 (the last 200 of
// them acknowledged every other one) and, first, 5 for session sparse, with asynchronous
// publishes. It returns the id of a message in the middle of the store.
func fillStore(b *testing.B, c *bus.Client, n int) string {
	b.Helper()
	ctx := context.Background()
	js, err := jetstream.New(c.Conn(), jetstream.WithPublishAsyncMaxPending(4000))
	if err != nil {
		b.Fatal(err)
	}
	fill, _ := subjects.ParseTarget("h1.fill:1")
	sparse, _ := subjects.ParseTarget("h1.sparse:1")
	t0 := time.Now().Add(-time.Hour)
	var middle string
	acks := map[string]bool{}
	for i := 0; i < n+5; i++ {
		a := fill
		if i < 5 {
			a = sparse
		}
		now := t0.Add(time.Duration(i) * time.Microsecond)
		e := &subjects.Envelope{ID: subjects.NewID(now), Timestamp: now,
			Source: subjects.Source{Type: "bench", Identifier: "bench"}, Target: a,
			Message: subjects.Message{Type: "notification", Category: "health", Priority: subjects.Normal,
				Content: subjects.Content{Subject: "fill", Body: fmt.Sprintf("fill message %d", i)}},
			Metadata: subjects.Metadata{RequiresAck: true, Tags: []string{"bench"}}}
		data, err := e.Encode()
		if err != nil {
			b.Fatal(err)
		}
		subj, err := subjects.MessageSubject(subjects.Normal, a, e.ID)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := js.PublishAsync(subj, data, jetstream.WithStallWait(time.Minute)); err != nil {
			b.Fatal(err)
		}
		if i == n/2 {
			middle = e.ID
		}
		if i >= n+5-200 && i%2 == 0 {
			acks[e.ID] = true
		}
	}
	for id := range acks {
		data, _ := json.Marshal(bus.AckRecord{ID: id, Priority: subjects.Normal, By: "bench", At: time.Now().UTC()})
		if _, err := js.PublishAsync(subjects.AckSubject(subjects.Normal, id), data, jetstream.WithStallWait(time.Minute)); err != nil {
			b.Fatal(err)
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(10 * time.Minute):
		b.Fatal("filling the store took over 10 minutes")
	}
	st, err := js.Stream(ctx, subjects.Normal.Stream())
	if err != nil {
		b.Fatal(err)
	}
	if got := st.CachedInfo().State.Msgs; got != uint64(n+5) {
		b.Fatalf("stored %d messages, want %d", got, n+5)
	}
	return middle
}

// BenchmarkRead measures the reads of `tmux-orc read` and `inbox` against stores of
// several sizes, side by side in one run: the last 10 of the session's messages (read
// --session h1.fill --tail 10), the last 10 unacknowledged ones, the last 10 of the inbox
// of its window (read --session h1.fill:1 or inbox), the last 10 of a session with 5
// messages at the very start of the store, and one message by id (read --id).
func BenchmarkRead(b *testing.B) {
	for _, n := range readBenchSizes(b) {
		b.Run(fmt.Sprintf("stored=%d", n), func(b *testing.B) {
			cfg := embeddedtest.Config(b)
			cfg.Sync = "1s"
			l := cfg.Limits["normal"]
			l.MaxMsgs, l.MaxBytes = 4_000_000, 4<<30
			cfg.MaxStore = 16 << 30
			cfg.Limits["normal"] = l
			embeddedtest.Start(b, cfg)
			c := embeddedtest.Connect(b, cfg)
			t0 := time.Now()
			middle := fillStore(b, c, n)
			b.Logf("filled %d messages in %v", n, time.Since(t0).Round(time.Millisecond))
			fill, _ := subjects.ParseTarget("h1.fill") // read --session h1.fill
			sparse, _ := subjects.ParseTarget("h1.sparse")
			ctx := context.Background()
			for _, tc := range []struct {
				name string
				run  func() (int, error)
			}{
				{"tail10", func() (int, error) {
					recs, err := c.Query(ctx, bus.Query{Address: fill, Tail: 10})
					return len(recs), err
				}},
				{"tail10-unacked", func() (int, error) {
					recs, err := c.Query(ctx, bus.Query{Address: fill, Tail: 10, Unacked: true})
					return len(recs), err
				}},
				{"inbox-tail10", func() (int, error) {
					recs, err := c.Query(ctx, bus.Query{Inbox: &bus.Recipient{Host: "h1", Session: "fill", Window: "1", WindowIndex: "1"}, Tail: 10})
					return len(recs), err
				}},
				{"sparse-tail10", func() (int, error) {
					recs, err := c.Query(ctx, bus.Query{Address: sparse, Tail: 10})
					return len(recs), err
				}},
				{"id", func() (int, error) {
					_, err := c.Get(ctx, middle)
					return 1, err
				}},
			} {
				want := 10
				switch tc.name {
				case "sparse-tail10":
					want = 5
				case "id":
					want = 1
				}
				b.Run(tc.name, func(b *testing.B) {
					for i := 0; i < b.N; i++ {
						got, err := tc.run()
						if err != nil {
							b.Fatal(err)
						}
						if got != want {
							b.Fatalf("got %d messages, want %d", got, want)
						}
					}
				})
			}
		})
	}
}
