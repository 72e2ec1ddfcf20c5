package daemon_test

import (
	"context"
	"fmt"
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

// BenchmarkStop500Sessions measures how long the daemon (its bridge and its monitor
// included) takes to stop once its context ends, with 500 tmux sessions on its tmux server
// (each a trivial program: 2,000 durable bridge consumers, 500 registry entries, 500 watched
// panes). Run with -benchtime=1x: setting up takes a while. The stop is bounded by
// daemon.ShutdownBudget; what remains beyond it is the embedded server stopping its 2,000
// consumer stores one after the other (about 10 ms each in nats-server).
func BenchmarkStop500Sessions(b *testing.B) {
	const sessions = 500
	srv := tmuxtest.NewServer(b, "orc-stop")
	for i := 0; i < sessions; i += 25 {
		var args []string
		for j := i; j < i+25; j++ {
			if j > i {
				args = append(args, ";")
			}
			args = append(args, "new-session", "-d", "-s", fmt.Sprintf("s%03d", j), "sleep 100000")
		}
		srv.Tmux(args...)
	}
	var total time.Duration
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
		b.Logf("the daemon served %d sessions after %s", sessions, time.Since(setup).Round(time.Millisecond))
		start := time.Now()
		cancel()
		err := <-done
		took := time.Since(start)
		if err != nil {
			// The budget ran out while the embedded server was stopping its consumers.
			b.Logf("daemon.Run: %v", err)
		}
		total += took
		b.Logf("stopping took %s", took.Round(time.Millisecond))
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "stop-s")
}
