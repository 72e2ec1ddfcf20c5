package monitor_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/tmux-orc/tmux-orc/internal/monitor"
)

// TestClosingPaneIsSeenWithoutPolling: with a poll period of an hour, a window closing is
// still noticed at once, from tmux's notifications on the control connection.
func TestClosingPaneIsSeenWithoutPolling(t *testing.T) {
	w := newWorld(t)
	w.cfg.Poll = time.Hour
	w.agent("alpha:pm", "pm")
	w.agent("alpha:dev", "")
	w.agent("beta:pm", "pm")
	w.agent("beta:dev", "")
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel, w.done = cancel, make(chan error, 1)
	w.mon = monitor.New(w.cfg, w.c, zaptest.NewLogger(t, zaptest.Level(zap.InfoLevel)).Named("monitor"))
	go func() { w.done <- w.mon.Run(ctx) }()
	t.Cleanup(w.stop)
	waitFor(t, "the monitor's first pass", func() bool { return len(w.mon.Status().Agents) == 4 })
	for _, target := range []string{"=alpha:dev", "=beta:dev"} { // the attached session, and another
		at := time.Now()
		w.tmux("kill-window", "-t", target)
		session, _, _ := strings.Cut(target[1:], ":")
		got := w.waitAlerts(session, "gone", 1)
		if d := got[0].Timestamp.Sub(at); d > 2*time.Second {
			t.Fatalf("%s: gone alert after %s with an hour-long poll", target, d)
		}
	}
}
