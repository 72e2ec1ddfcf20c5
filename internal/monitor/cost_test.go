package monitor_test

import (
	"context"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/tmux-orc/tmux-orc/internal/monitor"
	"github.com/tmux-orc/tmux-orc/internal/tmuxtest"
)

// TestQuietPanesAreNotRead: once seen, panes with no output are not captured again, pass
// after pass; a pane that prints is.
func TestQuietPanesAreNotRead(t *testing.T) {
	w := newWorld(t)
	w.agent("alpha:pm", "pm")
	w.tmux("new-window", "-d", "-t", "alpha:", "-n", "q1", "cat")
	w.tmux("new-window", "-d", "-t", "alpha:", "-n", "q2", "cat")
	w.tmux("new-window", "-d", "-t", "alpha:", "-n", "q3", "cat")
	w.start()
	time.Sleep(2500 * time.Millisecond) // the first reads, and the one after each pane's last output
	before := w.mon.Status()
	time.Sleep(1500 * time.Millisecond)
	after := w.mon.Status()
	if after.Passes-before.Passes < 8 {
		t.Fatalf("only %d passes in 1.5 s", after.Passes-before.Passes)
	}
	if n := after.Reads - before.Reads; n != 0 {
		t.Fatalf("%d screens read in %d passes over quiet panes, want 0", n, after.Passes-before.Passes)
	}
	w.tmux("send-keys", "-t", "=alpha:q2", "-l", "hello")
	waitFor(t, "the pane with output read", func() bool { return w.mon.Status().Reads > after.Reads })
}

// TestNoTmuxServerBacksOff: with no tmux server the monitor retries with a growing backoff
// instead of spinning, and watches the panes once a server comes.
func TestNoTmuxServerBacksOff(t *testing.T) {
	w := newWorld(t)
	srv := tmuxtest.NewServer(t, "orc-mon-none") // its socket, no server yet
	w.cfg.Socket = srv.Socket
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel, w.done = cancel, make(chan error, 1)
	w.mon = monitor.New(w.cfg, w.c, zaptest.NewLogger(t, zaptest.Level(zap.InfoLevel)).Named("monitor"))
	go func() { w.done <- w.mon.Run(ctx) }()
	t.Cleanup(w.stop)
	time.Sleep(3 * time.Second)
	// 100 ms doubling: about 5 tries in 3 s; a busy loop made hundreds.
	if p := w.mon.Status().Passes; p > 10 {
		t.Fatalf("%d tries in 3 s without a tmux server, want a backoff", p)
	}
	srv.Tmux("new-session", "-d", "-s", "late", "-x", "80", "-y", "20", "cat")
	waitFor(t, "the late server's pane watched", func() bool { return len(w.mon.Status().Agents) == 1 })
}
