// Package metrics exposes the daemon's figures to Prometheus, on a private registry (never
// the global default), over a loopback HTTP server with /metrics and /healthz.
//
// Fed by the bridge as deliveries happen (see bridge.Observer):
//
//	tmux_orc_delivery_latency_seconds{priority,outcome,stage}  histogram; stage is typed or
//	                                                           submitted, from publish time
//	tmux_orc_deliveries_total{priority,outcome}                outcomes recorded by this daemon's bridge
//	tmux_orc_alerts_total                                      delivery alerts published
//	tmux_orc_fallbacks_imported_total                          spooled (fallback) messages imported at start
//	tmux_orc_queue_depth{session}                              messages waiting for their target or queued
//	                                                           in a pane's writer (read at scrape time)
//
// Read from the store at scrape time through bus.Client.Stats, the figures of
// `tmux-orc pubsub stats` (so both show the same numbers):
//
//	tmux_orc_published_total{priority}          every message ever stored at that priority
//	tmux_orc_stored_messages{priority}          messages in the store now
//	tmux_orc_stored_bytes{priority}             their bytes
//	tmux_orc_acked{priority}                    distinct acknowledged ids
//	tmux_orc_pending{priority}                  stored - acked
//	tmux_orc_outcomes_recorded{priority,outcome} outcomes recorded by any bridge or fallback, all time
//	tmux_orc_delivery_latency_quantile_ms{priority,stage,quantile}
//	                                            p50/p95/p99 (quantile 0.5, 0.95, 0.99) over the
//	                                            last bus.LatencyWindow, as pubsub stats prints them
//	tmux_orc_delivery_latency_samples{priority} deliveries those quantiles summarise
//	tmux_orc_stats_up                           1 if the store answered within the timeout, else 0
//
// The embedded NATS server's own figures at scrape time (server.Varz and server.Jsz):
//
//	tmux_orc_nats_connections, tmux_orc_nats_connections_total, tmux_orc_nats_in_msgs_total,
//	tmux_orc_nats_out_msgs_total, tmux_orc_nats_in_bytes_total, tmux_orc_nats_out_bytes_total,
//	tmux_orc_nats_slow_consumers_total, tmux_orc_nats_memory_bytes (resident),
//	tmux_orc_nats_jetstream_store_bytes, tmux_orc_nats_jetstream_max_store_bytes,
//	tmux_orc_nats_jetstream_memory_bytes, tmux_orc_nats_jetstream_streams,
//	tmux_orc_nats_jetstream_consumers, tmux_orc_nats_jetstream_messages, tmux_orc_nats_healthy
//
// plus the standard go_* and process_* collectors.
package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/tmux-orc/tmux-orc/bus"
)

// Namespace prefixes every metric name.
const Namespace = "tmux_orc"

// LatencyBuckets span 0.5 ms to 5 s: typing over the control connection takes about a
// millisecond, a message that waits for a person at the keyboard or a busy agent seconds.
var LatencyBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}

// Metrics holds the private registry and the metrics the daemon feeds. It implements
// bridge.Observer.
type Metrics struct {
	reg        *prometheus.Registry
	latency    *prometheus.HistogramVec
	deliveries *prometheus.CounterVec
	alerts     prometheus.Counter
	fallbacks  prometheus.Counter
}

// New creates the registry with the delivery metrics and the go and process collectors.
// Sources read at scrape time are added with AddStats, AddNATS and AddQueueDepth.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace, Name: "delivery_latency_seconds",
		Help:    "Time from publish to the text typed into the pane (stage=typed) and to the Enter that submitted it (stage=submitted).",
		Buckets: LatencyBuckets}, []string{"priority", "outcome", "stage"})
	m.deliveries = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "deliveries_total",
		Help: "Delivery outcomes recorded by this daemon's bridge, per message and pane."}, []string{"priority", "outcome"})
	m.alerts = prometheus.NewCounter(prometheus.CounterOpts{Namespace: Namespace, Name: "alerts_total",
		Help: "Delivery alerts published to management groups."})
	m.fallbacks = prometheus.NewCounter(prometheus.CounterOpts{Namespace: Namespace, Name: "fallbacks_imported_total",
		Help: "Messages typed by the CLI while the daemon was down (the spool), imported at start."})
	m.reg.MustRegister(m.latency, m.deliveries, m.alerts, m.fallbacks,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry is the private registry, for tests and for more collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Outcome counts a recorded outcome and observes its latencies.
func (m *Metrics) Outcome(r bus.Receipt) {
	p, o := r.Priority.String(), string(r.Outcome)
	m.deliveries.WithLabelValues(p, o).Inc()
	if r.Published.IsZero() {
		return
	}
	if !r.Typed.IsZero() {
		m.latency.WithLabelValues(p, o, "typed").Observe(seconds(r.Typed.Sub(r.Published)))
	}
	if !r.Submitted.IsZero() {
		m.latency.WithLabelValues(p, o, "submitted").Observe(seconds(r.Submitted.Sub(r.Published)))
	}
}

// Alert counts a delivery alert.
func (m *Metrics) Alert() { m.alerts.Inc() }

// FallbacksImported counts messages imported from the spool.
func (m *Metrics) FallbacksImported(n int) {
	if n > 0 {
		m.fallbacks.Add(float64(n))
	}
}

// seconds clamps a negative latency (clocks of two hosts) to zero.
func seconds(d time.Duration) float64 { return max(d, 0).Seconds() }
