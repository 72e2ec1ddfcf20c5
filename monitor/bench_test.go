package monitor

import (
	"context"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/tmux-orc/tmux-orc/internal/tmuxtest"
)

// BenchmarkPass100QuietPanes measures one pass (list-panes plus a capture and hash of each
// pane) over 100 quiet agent panes on a control connection, and reports the monitor's own
// CPU per pass and, at the default 1 s poll, as a share of one core. The tmux server's work
// for the captures is not in the figure.
func BenchmarkPass100QuietPanes(b *testing.B) {
	srv := tmuxtest.NewServer(b, "orc-mon-bench")
	tm := func(args ...string) { srv.Tmux(args...) }
	tm("new-session", "-d", "-s", "quiet", "-x", "120", "-y", "30", "cat")
	for i := 1; i < 100; i++ {
		tm("new-window", "-d", "-t", "quiet:", "cat")
	}
	cfg := DefaultConfig(srv.Socket)
	cfg.IdleAfter, cfg.LongIdleAfter = time.Hour, 2*time.Hour
	m := New(cfg, nil, zap.NewNop())
	ctx := context.Background()
	m.dial(ctx)
	defer m.ctrl.Close()
	m.pass(ctx)
	if n := len(m.Status().Agents); n != 100 {
		b.Fatalf("watching %d panes, want 100", n)
	}
	cpu := func() time.Duration {
		var ru syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	b.ResetTimer()
	start := cpu()
	for i := 0; i < b.N; i++ {
		m.pass(ctx)
	}
	used := cpu() - start
	b.StopTimer()
	perPass := used / time.Duration(b.N)
	b.ReportMetric(float64(perPass.Microseconds())/1000, "cpu-ms/pass")
	b.ReportMetric(100*float64(perPass)/float64(cfg.Poll), "%core@1s-poll")
}
