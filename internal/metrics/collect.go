package metrics

import (
	"context"
	"sort"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/tmux-orc/tmux-orc/bus"
)

// DefaultStatsTimeout bounds the store queries of one scrape.
const DefaultStatsTimeout = 5 * time.Second

// StatsSource is what the store collector reads: *bus.Client.
type StatsSource interface {
	Stats(ctx context.Context) (bus.Stats, error)
}

// AddStats registers a collector that reads src.Stats at each scrape, bounded by timeout
// (DefaultStatsTimeout when 0). A failed or late read sets tmux_orc_stats_up to 0 and is
// logged; the other figures are then left out of that scrape rather than reported stale.
func (m *Metrics) AddStats(src StatsSource, timeout time.Duration, log *zap.Logger) {
	if timeout <= 0 {
		timeout = DefaultStatsTimeout
	}
	m.reg.MustRegister(&statsCollector{src: src, timeout: timeout, log: log})
}

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(prometheus.BuildFQName(Namespace, "", name), help, labels, nil)
}

var (
	statsUp                              = desc("stats_up", "1 if the store answered the stats query within the timeout, else 0.")
	publishedDesc                        = desc("published_total", "Messages ever stored at this priority (the stream's last sequence).", "priority")
	storedDesc                           = desc("stored_messages", "Messages in the store now.", "priority")
	storedBytesDesc                      = desc("stored_bytes", "Bytes of the messages in the store now.", "priority")
	ackedDesc                            = desc("acked", "Distinct acknowledged message ids.", "priority")
	pendingDesc                          = desc("pending", "Stored messages nobody has acknowledged (stored - acked).", "priority")
	outcomesDesc                         = desc("outcomes_recorded", "Delivery outcomes recorded in the store by any bridge or fallback, all time.", "priority", "outcome")
	quantileDesc                         = desc("delivery_latency_quantile_ms", "Delivery latency from publish over the last hour, as pubsub stats prints it (nearest rank).", "priority", "stage", "quantile")
	latencySamples                       = desc("delivery_latency_samples", "Deliveries summarised by delivery_latency_quantile_ms.", "priority")
	queueDepthDesc                       = desc("queue_depth", "Messages waiting for their target or queued in a pane's writer, per session.", "session")
	natsConns                            = desc("nats_connections", "Client connections open now.")
	natsConnsTotal                       = desc("nats_connections_total", "Client connections ever accepted.")
	natsInMsgs                           = desc("nats_in_msgs_total", "Messages the server received.")
	natsOutMsgs                          = desc("nats_out_msgs_total", "Messages the server sent.")
	natsInBytes                          = desc("nats_in_bytes_total", "Bytes the server received.")
	natsOutBytes                         = desc("nats_out_bytes_total", "Bytes the server sent.")
	natsSlow                             = desc("nats_slow_consumers_total", "Clients disconnected for being slow consumers.")
	natsMem                              = desc("nats_memory_bytes", "Resident memory of the daemon, as the server measures it.")
	natsStore                            = desc("nats_jetstream_store_bytes", "JetStream file store in use.")
	natsMaxStore                         = desc("nats_jetstream_max_store_bytes", "JetStream file store cap.")
	natsMemStore                         = desc("nats_jetstream_memory_bytes", "JetStream memory store in use.")
	natsStreams                          = desc("nats_jetstream_streams", "JetStream streams.")
	natsConsumers                        = desc("nats_jetstream_consumers", "JetStream consumers.")
	natsMessages                         = desc("nats_jetstream_messages", "Messages in all JetStream streams (stored messages, acknowledgements and receipts).")
	natsHealthy                          = desc("nats_healthy", "1 if the server's own health check is ok, else 0.")
	outcomeNames                         = []bus.Outcome{bus.Queued, bus.Delivered, bus.Received, bus.Unconfirmed, bus.Undeliverable}
	quantileNames                        = []string{"0.5", "0.95", "0.99"}
	allStatsDescs                        = []*prometheus.Desc{statsUp, publishedDesc, storedDesc, storedBytesDesc, ackedDesc, pendingDesc, outcomesDesc, quantileDesc, latencySamples}
	allNATSDescs                         = []*prometheus.Desc{natsConns, natsConnsTotal, natsInMsgs, natsOutMsgs, natsInBytes, natsOutBytes, natsSlow, natsMem, natsStore, natsMaxStore, natsMemStore, natsStreams, natsConsumers, natsMessages, natsHealthy}
	_               prometheus.Collector = (*statsCollector)(nil)
)

type statsCollector struct {
	src     StatsSource
	timeout time.Duration
	log     *zap.Logger
}

func (c *statsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range allStatsDescs {
		ch <- d
	}
}

func (c *statsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	st, err := c.src.Stats(ctx)
	if err != nil {
		if c.log != nil {
			c.log.Warn("reading stats for a scrape failed", zap.Error(err))
		}
		ch <- prometheus.MustNewConstMetric(statsUp, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(statsUp, prometheus.GaugeValue, 1)
	for _, p := range st.Priorities {
		pr := p.Priority.String()
		ch <- prometheus.MustNewConstMetric(publishedDesc, prometheus.CounterValue, float64(p.Published), pr)
		ch <- prometheus.MustNewConstMetric(storedDesc, prometheus.GaugeValue, float64(p.Stored), pr)
		ch <- prometheus.MustNewConstMetric(storedBytesDesc, prometheus.GaugeValue, float64(p.Bytes), pr)
		ch <- prometheus.MustNewConstMetric(ackedDesc, prometheus.GaugeValue, float64(p.Acked), pr)
		ch <- prometheus.MustNewConstMetric(pendingDesc, prometheus.GaugeValue, float64(p.Pending), pr)
		for i, n := range []uint64{p.Queued, p.Delivered, p.Received, p.Unconfirmed, p.Undeliverable} {
			ch <- prometheus.MustNewConstMetric(outcomesDesc, prometheus.GaugeValue, float64(n), pr, string(outcomeNames[i]))
		}
		ch <- prometheus.MustNewConstMetric(latencySamples, prometheus.GaugeValue, float64(p.Typed.Count), pr)
		for stage, l := range map[string]bus.LatencyStats{"typed": p.Typed, "submitted": p.Submitted} {
			for i, v := range []float64{l.P50, l.P95, l.P99} {
				ch <- prometheus.MustNewConstMetric(quantileDesc, prometheus.GaugeValue, v, pr, stage, quantileNames[i])
			}
		}
	}
}

// AddNATS registers a collector of the embedded server's own figures, read at each scrape.
func (m *Metrics) AddNATS(ns *server.Server) {
	m.reg.MustRegister(natsCollector{ns: ns})
}

type natsCollector struct{ ns *server.Server }

func (c natsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range allNATSDescs {
		ch <- d
	}
}

func (c natsCollector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64) { ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v) }
	counter := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	healthy := 0.0
	if c.ns.Healthz(nil).Status == "ok" {
		healthy = 1
	}
	gauge(natsHealthy, healthy)
	if v, err := c.ns.Varz(nil); err == nil {
		gauge(natsConns, float64(v.Connections))
		counter(natsConnsTotal, float64(v.TotalConnections))
		counter(natsInMsgs, float64(v.InMsgs))
		counter(natsOutMsgs, float64(v.OutMsgs))
		counter(natsInBytes, float64(v.InBytes))
		counter(natsOutBytes, float64(v.OutBytes))
		counter(natsSlow, float64(v.SlowConsumers))
		gauge(natsMem, float64(v.Mem))
		if v.JetStream.Config != nil {
			gauge(natsMaxStore, float64(v.JetStream.Config.MaxStore))
		}
	}
	if j, err := c.ns.Jsz(nil); err == nil {
		gauge(natsStore, float64(j.Store))
		gauge(natsMemStore, float64(j.Memory))
		gauge(natsStreams, float64(j.Streams))
		gauge(natsConsumers, float64(j.Consumers))
		gauge(natsMessages, float64(j.Messages))
	}
}

// QueueSource reports queue depths per session: *bridge.Bridge.
type QueueSource interface {
	QueueDepths() map[string]int
}

// AddQueueDepth registers tmux_orc_queue_depth{session}, read from src at each scrape.
func (m *Metrics) AddQueueDepth(src QueueSource) {
	m.reg.MustRegister(queueCollector{src: src})
}

type queueCollector struct{ src QueueSource }

func (c queueCollector) Describe(ch chan<- *prometheus.Desc) { ch <- queueDepthDesc }

func (c queueCollector) Collect(ch chan<- prometheus.Metric) {
	depths := c.src.QueueDepths()
	sessions := make([]string, 0, len(depths))
	for s := range depths {
		sessions = append(sessions, s)
	}
	sort.Strings(sessions)
	for _, s := range sessions {
		ch <- prometheus.MustNewConstMetric(queueDepthDesc, prometheus.GaugeValue, float64(depths[s]), s)
	}
}
