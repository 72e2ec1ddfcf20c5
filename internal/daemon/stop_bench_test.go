package daemon_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/tmux-orc/tmux-orc/bridge"
	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/internal/daemon"
	"github.com/tmux-orc/tmux-orc/internal/embeddedtest"
	"github.com/tmux-orc/tmux-orc/internal/monitor"
	"github.com/tmux-orc/tmux-orc/internal/tmuxtest"
)

// BenchmarkStop500Sessions runs the daemon (its embedded server, its bridge and its monitor)
// over a private tmux server (tmux -L) with 500 sessions of 2 panes each (1000 panes, each a
// trivial program), waits until the bridge serves them all, reports the process's resident
// memory (rss-MiB: the daemon, bridge and monitor, plus this benchmark's client), keeps
// serving for $ORC_BENCH_HOLD (e.g. 10m; default 0) sampling the memory every 30 s
// (rss-max-MiB, rss-end-MiB), and then measures how long the daemon takes to stop once its
// context ends (stop-s: what `daemon stop` waits for). Run with -benchtime=1x: setting up
// takes a while. The bridge has 8 durable consumers whatever the sessions (two per priority
// stream), so neither the memory nor the stop grows with them.
func BenchmarkStop500Sessions(b *testing.B) {
	const sessions, panes = 500, 2
	hold := time.Duration(0)
	if v := os.Getenv("ORC_BENCH_HOLD"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			b.Fatalf("ORC_BENCH_HOLD: %v", err)
		}
		hold = d
	}
	srv := tmuxtest.NewServer(b, "orc-stop")
	for i := 0; i < sessions; i += 25 {
		var args []string
		for j := i; j < i+25; j++ {
			if j > i {
				args = append(args, ";")
			}
			args = append(args, "new-session", "-d", "-s", fmt.Sprintf("s%03d", j), "sleep 100000")
			for k := 1; k < panes; k++ {
				args = append(args, ";", "split-window", "-d", "-t", fmt.Sprintf("s%03d:", j), "sleep 100000")
			}
		}
		srv.Tmux(args...)
	}
	if n := len(strings.Fields(srv.Tmux("list-panes", "-a", "-F", "#{pane_id}"))); n != sessions*panes {
		b.Fatalf("the tmux server has %d panes, want %d", n, sessions*panes)
	}
	var total time.Duration
	var rss, rssMax, rssEnd float64
	for i := 0; i < b.N; i++ {
		cfg := embeddedtest.Config(b)
		bcfg := bridge.DefaultConfig(srv.Socket, cfg.HostName)
		mcfg := monitor.DefaultConfig(srv.Socket, cfg.HostName)
		ctx, cancel := context.WithCancel(context.Background())
		ready := make(chan struct{})
		done := make(chan error, 1)
		setup := time.Now()
		go func() {
			done <- daemon.Run(ctx, cfg, daemon.Options{Bridge: &bcfg, Monitor: &mcfg},
				zaptest.NewLogger(b, zaptest.Level(zap.WarnLevel)), func([]string) { close(ready) })
		}()
		<-ready
		c := embeddedtest.Connect(b, cfg)
		deadline := time.Now().Add(5 * time.Minute)
		for {
			es, err := c.Sessions(context.Background())
			if err == nil && len(es) >= sessions {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("the bridge serves %d sessions after 5 minutes", len(es))
			}
			time.Sleep(100 * time.Millisecond)
		}
		time.Sleep(2 * bus.AckWait / 3) // the monitor has watched every pane for a while
		b.Logf("the daemon served %d sessions (%d panes) after %s", sessions, sessions*panes, time.Since(setup).Round(time.Millisecond))
		rss = residentMiB()
		rssMax = rss
		b.Logf("resident memory: %.0f MiB", rss)
		for end := time.Now().Add(hold); time.Now().Before(end); {
			time.Sleep(min(30*time.Second, time.Until(end)))
			m := residentMiB()
			rssMax = max(rssMax, m)
			b.Logf("resident memory after %s: %.0f MiB", time.Since(setup).Round(time.Second), m)
		}
		rssEnd = residentMiB()
		start := time.Now()
		cancel()
		err := <-done
		took := time.Since(start)
		if err != nil {
			b.Logf("daemon.Run: %v", err)
		}
		total += took
		b.Logf("stopping took %s", took.Round(time.Millisecond))
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "stop-s")
	b.ReportMetric(rss, "rss-MiB")
	b.ReportMetric(rssMax, "rss-max-MiB")
	b.ReportMetric(rssEnd, "rss-end-MiB")
}

// residentMiB is this process's resident memory (VmRSS), in MiB.
func residentMiB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			return kb / 1024
		}
	}
	return 0
}
