package metrics_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/internal/embeddedtest"
	"github.com/tmux-orc/tmux-orc/internal/metrics"
	"github.com/tmux-orc/tmux-orc/subjects"
)

// scrape fetches url/metrics and returns each sample by its series, e.g.
// `tmux_orc_published_total{priority="high"}`.
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET /metrics: %s\n%s", resp.Status, b)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("unparseable sample %q", line)
		}
		out[line[:i]] = v
	}
	return out
}

func serve(t *testing.T, m *metrics.Metrics, health metrics.HealthFunc) *metrics.Server {
	t.Helper()
	s, err := m.Serve("127.0.0.1:0", health, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	return s
}

func envelope(t *testing.T, p subjects.Priority, body string) *subjects.Envelope {
	t.Helper()
	a, err := subjects.ParseTarget("backend-dev:2")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	return &subjects.Envelope{ID: subjects.NewID(now), Timestamp: now, Source: subjects.Source{Type: "test", Identifier: t.Name()},
		Target: a, Message: subjects.Message{Type: "notification", Category: "test", Priority: p,
			Content: subjects.Content{Subject: subjects.SubjectLine(body), Body: body}}}
}

// TestScrapeShowsWhatStatsSays publishes, acknowledges and records outcomes on a real
// embedded server and checks that /metrics carries the numbers of bus.Client.Stats (what
// pubsub stats prints) and the server's own figures.
func TestScrapeShowsWhatStatsSays(t *testing.T) {
	ctx := context.Background()
	cfg := embeddedtest.Config(t)
	srv := embeddedtest.Start(t, cfg)
	c, err := bus.Connect(ctx, bus.Options{Home: cfg.Home})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)

	counts := map[subjects.Priority]int{subjects.Critical: 1, subjects.High: 3, subjects.Normal: 2, subjects.Low: 1}
	var high []*subjects.Envelope
	for p, n := range counts {
		for i := range n {
			e := envelope(t, p, fmt.Sprintf("%s message %d", p, i))
			if _, err := c.Publish(ctx, e); err != nil {
				t.Fatal(err)
			}
			if p == subjects.High {
				high = append(high, e)
			}
		}
	}
	for _, e := range high[:2] {
		if _, _, err := c.Ack(ctx, e.ID, "pm:1", "seen"); err != nil {
			t.Fatal(err)
		}
	}
	pub := high[0].Timestamp
	for i, e := range high {
		r := bus.Receipt{ID: e.ID, Priority: subjects.High, Outcome: bus.Delivered, Pane: fmt.Sprintf("%%%d", i), Via: "bridge",
			Published: pub, Typed: pub.Add(time.Duration(i+1) * time.Millisecond), Submitted: pub.Add(time.Duration(i+1) * 200 * time.Millisecond)}
		if i == 2 {
			r.Outcome, r.Typed, r.Submitted = bus.Unconfirmed, time.Time{}, time.Time{}
		}
		if err := c.Record(ctx, r); err != nil {
			t.Fatal(err)
		}
	}

	m := metrics.New()
	m.AddStats(c, 0, zaptest.NewLogger(t))
	m.AddNATS(srv.NATS())
	s := serve(t, m, srv.Healthy)
	got := scrape(t, s.URL())
	st, err := c.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}

	want := map[string]float64{"tmux_orc_stats_up": 1, "tmux_orc_nats_healthy": 1}
	for _, p := range st.Priorities {
		l := fmt.Sprintf(`{priority="%s"}`, p.Priority)
		want["tmux_orc_published_total"+l] = float64(p.Published)
		want["tmux_orc_stored_messages"+l] = float64(p.Stored)
		want["tmux_orc_stored_bytes"+l] = float64(p.Bytes)
		want["tmux_orc_acked"+l] = float64(p.Acked)
		want["tmux_orc_pending"+l] = float64(p.Pending)
		want["tmux_orc_delivery_latency_samples"+l] = float64(p.Typed.Count)
		for o, n := range map[string]uint64{"queued": p.Queued, "delivered": p.Delivered, "received": p.Received, "unconfirmed": p.Unconfirmed, "undeliverable": p.Undeliverable} {
			want[fmt.Sprintf(`tmux_orc_outcomes_recorded{outcome="%s",priority="%s"}`, o, p.Priority)] = float64(n)
		}
		for stage, ls := range map[string]bus.LatencyStats{"typed": p.Typed, "submitted": p.Submitted} {
			for q, v := range map[string]float64{"0.5": ls.P50, "0.95": ls.P95, "0.99": ls.P99} {
				want[fmt.Sprintf(`tmux_orc_delivery_latency_quantile_ms{priority="%s",quantile="%s",stage="%s"}`, p.Priority, q, stage)] = v
			}
		}
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
		}
	}
	// The figures are what was done, not only what Stats says.
	for k, v := range map[string]float64{
		`tmux_orc_published_total{priority="high"}`:                                                3,
		`tmux_orc_stored_messages{priority="normal"}`:                                              2,
		`tmux_orc_acked{priority="high"}`:                                                          2,
		`tmux_orc_pending{priority="high"}`:                                                        1,
		`tmux_orc_outcomes_recorded{outcome="delivered",priority="high"}`:                          2,
		`tmux_orc_outcomes_recorded{outcome="unconfirmed",priority="high"}`:                        1,
		`tmux_orc_delivery_latency_quantile_ms{priority="high",quantile="0.99",stage="submitted"}`: 400,
		`tmux_orc_delivery_latency_quantile_ms{priority="high",quantile="0.5",stage="typed"}`:      1,
	} {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	for _, k := range []string{"tmux_orc_nats_connections", "tmux_orc_nats_in_msgs_total", "tmux_orc_nats_jetstream_store_bytes",
		"tmux_orc_nats_memory_bytes", "tmux_orc_nats_jetstream_streams"} {
		if got[k] <= 0 {
			t.Errorf("%s = %v, want > 0", k, got[k])
		}
	}
	// The seven streams (ORC_SCHEDULES the seventh), the session registry's and the
	// monitor's state (both provisioned by the daemon).
	if got["tmux_orc_nats_jetstream_streams"] != 9 {
		t.Errorf("streams = %v, want 9", got["tmux_orc_nats_jetstream_streams"])
	}
}

type failingStats struct{}

func (failingStats) Stats(ctx context.Context) (bus.Stats, error) {
	<-ctx.Done()
	return bus.Stats{}, ctx.Err()
}

// TestStatsTimeoutMarksDown: a store that does not answer makes stats_up 0, and the scrape
// still answers within the timeout with the other metrics.
func TestStatsTimeoutMarksDown(t *testing.T) {
	m := metrics.New()
	m.AddStats(failingStats{}, 100*time.Millisecond, zaptest.NewLogger(t))
	s := serve(t, m, func() error { return nil })
	start := time.Now()
	got := scrape(t, s.URL())
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("scrape took %s", d)
	}
	if v, ok := got["tmux_orc_stats_up"]; !ok || v != 0 {
		t.Errorf("stats_up = %v (present %v), want 0", v, ok)
	}
	if _, ok := got[`tmux_orc_published_total{priority="high"}`]; ok {
		t.Error("stale published_total reported after a failed read")
	}
}

// TestOutcomeShowsInHistogramAndCounter feeds the Observer side as the bridge does.
func TestOutcomeShowsInHistogramAndCounter(t *testing.T) {
	m := metrics.New()
	pub := time.Date(2026, 11, 27, 18, 0, 0, 0, time.UTC)
	m.Outcome(bus.Receipt{ID: "a", Priority: subjects.High, Outcome: bus.Delivered, Published: pub,
		Typed: pub.Add(2 * time.Millisecond), Submitted: pub.Add(160 * time.Millisecond)})
	m.Outcome(bus.Receipt{ID: "b", Priority: subjects.Low, Outcome: bus.Undeliverable, Published: pub})
	m.Alert()
	m.FallbacksImported(3)
	m.AddQueueDepth(depths{"backend-dev": 2, "pm": 0})
	got := scrape(t, serve(t, m, func() error { return nil }).URL())
	h := `tmux_orc_delivery_latency_seconds_%s{outcome="delivered",priority="high",stage="%s"%s}`
	for k, v := range map[string]float64{
		fmt.Sprintf(h, "count", "typed", ""):                                1,
		fmt.Sprintf(h, "bucket", "typed", `,le="0.001"`):                    0,
		fmt.Sprintf(h, "bucket", "typed", `,le="0.0025"`):                   1,
		fmt.Sprintf(h, "bucket", "submitted", `,le="0.1"`):                  0,
		fmt.Sprintf(h, "bucket", "submitted", `,le="0.25"`):                 1,
		fmt.Sprintf(h, "count", "submitted", ""):                            1,
		`tmux_orc_deliveries_total{outcome="delivered",priority="high"}`:    1,
		`tmux_orc_deliveries_total{outcome="undeliverable",priority="low"}`: 1,
		`tmux_orc_alerts_total`:                                             1,
		`tmux_orc_fallbacks_imported_total`:                                 3,
		`tmux_orc_queue_depth{session="backend-dev"}`:                       2,
		`tmux_orc_queue_depth{session="pm"}`:                                0,
	} {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
		}
	}
	if s := got[fmt.Sprintf(h, "sum", "submitted", "")]; math.Abs(s-0.160) > 1e-9 {
		t.Errorf("submitted sum = %v, want 0.160", s)
	}
	if _, ok := got[`tmux_orc_delivery_latency_seconds_count{outcome="undeliverable",priority="low",stage="typed"}`]; ok {
		t.Error("an undeliverable message (never typed) has a typed latency")
	}
}

type depths map[string]int

func (d depths) QueueDepths() map[string]int { return d }

// TestHealthz: 200 "ok" while healthy, 503 with the reason when not, unreachable after
// shutdown.
func TestHealthz(t *testing.T) {
	cfg := embeddedtest.Config(t)
	srv := embeddedtest.Start(t, cfg)
	var sick error
	m := metrics.New()
	s, err := m.Serve("127.0.0.1:0", func() error {
		if sick != nil {
			return sick
		}
		return srv.Healthy()
	}, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	get := func() (int, string, error) {
		resp, err := http.Get(s.URL() + "/healthz")
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), nil
	}
	if code, body, err := get(); err != nil || code != 200 || body != "ok\n" {
		t.Fatalf("healthz = %d %q %v, want 200 ok", code, body, err)
	}
	sick = errors.New("JetStream is not current with the meta leader")
	if code, body, err := get(); err != nil || code != 503 || !strings.Contains(body, "not current") {
		t.Fatalf("healthz = %d %q %v, want 503 with the reason", code, body, err)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if code, _, err := get(); err == nil {
		t.Fatalf("healthz answered %d after shutdown", code)
	}
}

func TestListenRefused(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	for _, tc := range []struct {
		addr string
		want error
		msg  string
	}{
		{"0.0.0.0:14223", metrics.ErrListen, "only loopback"},
		{"192.0.2.1:9100", metrics.ErrListen, "only loopback"},
		{"[::]:9100", metrics.ErrListen, "only loopback"},
		{"example.com:9100", metrics.ErrListen, "only loopback"},
		{"127.0.0.1", metrics.ErrListen, "want host:port"},
		{"127.0.0.1:70000", metrics.ErrListen, "port must be"},
		{"off", metrics.ErrListen, "off"},
		{taken.Addr().String(), metrics.ErrAddrInUse, "--metrics-listen"},
	} {
		t.Run(tc.addr, func(t *testing.T) {
			s, err := metrics.New().Serve(tc.addr, func() error { return nil }, zaptest.NewLogger(t))
			if err == nil {
				_ = s.Shutdown(context.Background())
				t.Fatalf("Serve(%q) succeeded", tc.addr)
			}
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("Serve(%q) = %v, want %v mentioning %q", tc.addr, err, tc.want, tc.msg)
			}
		})
	}
	for _, ok := range []string{"", "off", "127.0.0.1:0", "localhost:9100", "[::1]:9100"} {
		if err := metrics.ValidateListen(ok); err != nil {
			t.Errorf("ValidateListen(%q) = %v", ok, err)
		}
	}
}
