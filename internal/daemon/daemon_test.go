package daemon_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/tmux-orc/tmux-orc/embedded"
	"github.com/tmux-orc/tmux-orc/internal/daemon"
	"github.com/tmux-orc/tmux-orc/internal/embeddedtest"
	"github.com/tmux-orc/tmux-orc/internal/metrics"
)

// run starts daemon.Run without a bridge and returns once it is ready, with a function that
// stops it and returns Run's error.
func run(t *testing.T, cfg embedded.Config) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- daemon.Run(ctx, cfg, daemon.Options{}, zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)), func([]string) { close(ready) })
	}()
	select {
	case <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("daemon.Run: %v", err)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("daemon not ready in 30s")
	}
	var stopped bool
	stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		return <-done
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

func get(url string) (int, string, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

func TestMetricsServedUntilShutdown(t *testing.T) {
	cfg := embeddedtest.Config(t)
	cfg.MetricsListen = "127.0.0.1:0"
	stop := run(t, cfg)
	ci, err := cfg.Home.ReadConnInfo()
	if err != nil || !strings.HasPrefix(ci.MetricsURL, "http://127.0.0.1:") || strings.HasSuffix(ci.MetricsURL, ":0") {
		t.Fatalf("conn info %+v %v", ci, err)
	}
	if code, body, err := get(ci.MetricsURL + "/healthz"); err != nil || code != 200 || body != "ok\n" {
		t.Fatalf("healthz: %d %q %v", code, body, err)
	}
	code, body, err := get(ci.MetricsURL + "/metrics")
	if err != nil || code != 200 {
		t.Fatalf("metrics: %d %v", code, err)
	}
	for _, want := range []string{`tmux_orc_published_total{priority="critical"} 0`, "tmux_orc_stats_up 1", "tmux_orc_fallbacks_imported_total 0",
		"tmux_orc_nats_healthy 1"} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if code, _, err := get(ci.MetricsURL + "/healthz"); err == nil {
		t.Fatalf("healthz answered %d after the daemon stopped", code)
	}
}

func TestMetricsOff(t *testing.T) {
	cfg := embeddedtest.Config(t)
	cfg.MetricsListen = "off"
	run(t, cfg)
	if ci, err := cfg.Home.ReadConnInfo(); err != nil || ci.MetricsURL != "" {
		t.Fatalf("conn info %+v %v", ci, err)
	}
}

// TestMetricsAddressTaken: an address the user chose that is taken is an error and leaves
// nothing running; the default address, when taken, is replaced by a free port.
func TestMetricsAddressTaken(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	cfg := embeddedtest.Config(t)
	cfg.MetricsListen = taken.Addr().String()
	err = daemon.Run(context.Background(), cfg, daemon.Options{}, zaptest.NewLogger(t), func([]string) { t.Error("ready called") })
	if !errors.Is(err, metrics.ErrAddrInUse) {
		t.Fatalf("Run = %v, want ErrAddrInUse", err)
	}
	if running, _ := cfg.Home.Running(); running {
		t.Fatal("the data directory is still locked")
	}

	// Hold the default address (if nobody else does already) to see the fallback.
	if l, err := net.Listen("tcp", embedded.DefaultMetricsListen); err == nil {
		defer l.Close()
	}
	cfg.MetricsListen = embedded.DefaultMetricsListen
	run(t, cfg)
	ci, err := cfg.Home.ReadConnInfo()
	if err != nil || ci.MetricsURL == "" || ci.MetricsURL == "http://"+embedded.DefaultMetricsListen {
		t.Fatalf("conn info %+v %v, want a free port instead of the default", ci, err)
	}
	if code, _, err := get(ci.MetricsURL + "/healthz"); err != nil || code != 200 {
		t.Fatalf("healthz: %d %v", code, err)
	}
}
