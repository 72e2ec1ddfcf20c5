package bus_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/embedded"
	"github.com/tmux-orc/tmux-orc/internal/embeddedtest"
	"github.com/tmux-orc/tmux-orc/subjects"
)

// The storage benchmarks run once per fsync policy so the cost of "sync: always" (the
// default) is visible beside "sync: 1s" in one run.
var syncPolicies = []string{"always", "1s"}

func benchClient(b *testing.B, sync string) (embedded.Config, *bus.Client) {
	cfg := embeddedtest.Config(b)
	cfg.Sync = sync
	embeddedtest.Start(b, cfg)
	c := embeddedtest.Connect(b, cfg)
	return cfg, c
}

// benchEnvelope is a message for a host-qualified target; BenchmarkPublishResolved measures
// the registry lookup an unqualified one adds.
func benchEnvelope(i int) *subjects.Envelope {
	now := time.Now()
	a, _ := subjects.ParseTarget("h1.backend-dev:2")
	return &subjects.Envelope{ID: subjects.NewID(now), Timestamp: now,
		Source: subjects.Source{Type: "bench", Identifier: "bench"}, Target: a,
		Message: subjects.Message{Type: "notification", Category: "health", Priority: subjects.High,
			Content: subjects.Content{Subject: "Agent backend-dev:2 idle 15min", Body: fmt.Sprintf("Agent backend-dev:2 idle 15min (%d)", i)}},
		Metadata: subjects.Metadata{Tags: []string{"monitoring", "idle"}}}
}

func reportPercentiles(b *testing.B, prefix string, d []time.Duration) {
	if len(d) == 0 {
		return
	}
	ps := bus.Percentiles(d)
	b.ReportMetric(ps.P50*1000, prefix+"p50-µs")
	b.ReportMetric(ps.P99*1000, prefix+"p99-µs")
}

// BenchmarkPublishStored measures one publish until the server has stored it (the
// acknowledgement `tmux-orc publish` waits for), one at a time.
func BenchmarkPublishStored(b *testing.B) {
	for _, sync := range syncPolicies {
		b.Run("sync="+sync, func(b *testing.B) {
			_, c := benchClient(b, sync)
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				e := benchEnvelope(i)
				t0 := time.Now()
				if _, err := c.Publish(context.Background(), e); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t0))
			}
			b.StopTimer()
			reportPercentiles(b, "", lat)
		})
	}
}

// BenchmarkPublishResolved is BenchmarkPublishStored for a target without a host, which
// Publish first looks up in the session registry.
func BenchmarkPublishResolved(b *testing.B) {
	_, c := benchClient(b, "always")
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e := benchEnvelope(i)
		e.Target.Host = ""
		t0 := time.Now()
		if _, err := c.Publish(context.Background(), e); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	reportPercentiles(b, "", lat)
}

// BenchmarkPublishToConsumer measures from the publish call to a durable-style consumer
// (what the bridge will use) receiving the message.
func BenchmarkPublishToConsumer(b *testing.B) {
	for _, sync := range syncPolicies {
		b.Run("sync="+sync, func(b *testing.B) {
			_, c := benchClient(b, sync)
			js, _ := jetstream.New(c.Conn())
			ctx := context.Background()
			cons, err := js.CreateOrUpdateConsumer(ctx, subjects.High.Stream(), jetstream.ConsumerConfig{
				Durable: "bench", AckPolicy: jetstream.AckExplicitPolicy, FilterSubject: "orc.high.*.backend-dev.>"})
			if err != nil {
				b.Fatal(err)
			}
			got := make(chan time.Time, 1)
			cc, err := cons.Consume(func(m jetstream.Msg) { _ = m.Ack(); got <- time.Now() })
			if err != nil {
				b.Fatal(err)
			}
			defer cc.Stop()
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				e := benchEnvelope(i)
				t0 := time.Now()
				if _, err := c.Publish(ctx, e); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, (<-got).Sub(t0))
			}
			b.StopTimer()
			reportPercentiles(b, "", lat)
		})
	}
}

// BenchmarkPublishThroughput publishes from 16 goroutines at once, each waiting for its
// acknowledgement, and reports stored messages per second.
func BenchmarkPublishThroughput(b *testing.B) {
	for _, sync := range syncPolicies {
		b.Run("sync="+sync, func(b *testing.B) {
			_, c := benchClient(b, sync)
			b.SetParallelism(8) // 8 x GOMAXPROCS(2) = 16 publishers
			t0 := time.Now()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					if _, err := c.Publish(context.Background(), benchEnvelope(i)); err != nil {
						b.Error(err)
						return
					}
					i++
				}
			})
			b.StopTimer()
			b.ReportMetric(float64(b.N)/time.Since(t0).Seconds(), "msgs/s")
		})
	}
}
