// Package daemon composes what runs inside `tmux-orc daemon`: the embedded server, the
// import of messages spooled while it was down, the metrics endpoint and the bridge for the
// local tmux server. It owns the order of start and shutdown.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"gopkg.in/natefinch/lumberjack.v2"

	"github.com/tmux-orc/tmux-orc/bridge"
	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/embedded"
	"github.com/tmux-orc/tmux-orc/internal/metrics"
	"github.com/tmux-orc/tmux-orc/internal/monitor"
	"github.com/tmux-orc/tmux-orc/internal/notify"
	"github.com/tmux-orc/tmux-orc/internal/spool"
	"github.com/tmux-orc/tmux-orc/subjects"
)

// ShutdownTimeout bounds the server's stop when starting fails.
const ShutdownTimeout = 30 * time.Second

// ShutdownBudget bounds an orderly stop, from the end of Run's context to its return:
// whatever is queued, no part of the stop waits past it. Messages not typed by then stay
// stored (given back to the server) for the next start.
const ShutdownBudget = 10 * time.Second

// serverReserve is the part of ShutdownBudget kept for the server's own stop (it flushes
// the store), whatever the earlier steps took.
const serverReserve = 3 * time.Second

// Options say what the daemon runs besides the server.
type Options struct {
	// Bridge, when set, runs a bridge for that tmux server inside the daemon.
	Bridge *bridge.Config
	// Monitor, when set, is the configuration of the monitor the daemon hosts (started and
	// stopped with `tmux-orc monitor start|stop`).
	Monitor *monitor.Config
	// MonitorOff starts the daemon with its monitor stopped.
	MonitorOff bool
	// Notify, when set, sends the alerts of this host to people (command, webhook, tmux).
	Notify *notify.Config
	// OnStoreDamage, when set, is called before ready with the damage found in the store
	// at start (one line per damaged stream), if any.
	OnStoreDamage func(lines []string)
}

// Run starts the server, imports the spool, serves metrics on cfg.MetricsListen (unless
// off), starts the bridge, calls ready with the client URLs, and when ctx ends stops in
// order: the bridge (injections in progress finish and record their outcome), the metrics
// server, then the server (which flushes its store), then the lock.
//
// When cfg.MetricsListen is embedded.DefaultMetricsListen and that address is taken (another
// daemon on another data directory), metrics are served on a free loopback port instead,
// with a warning; an address chosen by the user that is taken is an error.
func Run(ctx context.Context, cfg embedded.Config, o Options, log *zap.Logger, ready func(urls []string)) error {
	// undo holds what a failed start must stop, in the order started; fail unwinds it, last
	// first.
	var undo []func()
	fail := func(err error) error {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
		return err
	}
	srv, err := embedded.Start(ctx, cfg, log)
	if err != nil {
		return err
	}
	undo = append(undo, func() {
		sctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
		defer cancel()
		_ = srv.Shutdown(sctx)
	})
	nc, err := srv.Connect("tmux-orc-daemon-bridge")
	if err != nil {
		return fail(err)
	}
	undo = append(undo, nc.Close)
	c, err := bus.NewFromConn(nc, subjects.SanitizeHost(cfg.HostName), log.Named("bus"))
	if err != nil {
		return fail(err)
	}
	// The daemon's own publishers (the monitor's alerts, the spool's import) resolve a
	// target's host from a watched copy of the session registry instead of asking it.
	wctx, stopWatch := context.WithCancel(context.Background())
	undo = append(undo, stopWatch)
	go func() {
		if err := c.WatchRegistry(wctx); err != nil && wctx.Err() == nil {
			log.Warn("cannot watch the session registry; host lookups ask it instead", zap.Error(err))
		}
	}()
	m := metrics.New()
	m.AddStats(c, metrics.DefaultStatsTimeout, log.Named("metrics"))
	m.AddNATS(srv.NATS())
	n, err := spool.Import(ctx, cfg.Home, c, log.Named("spool"))
	if err != nil {
		log.Error("importing some spool entries failed; they are retried at the next start", zap.Error(err))
	}
	if n > 0 {
		m.FallbacksImported(n)
		log.Info("imported spooled messages", zap.Int("count", n))
	}
	var b *bridge.Bridge
	if o.Bridge != nil {
		bcfg := *o.Bridge
		bcfg.Observer = m
		b = bridge.New(bcfg, c, log.Named("bridge"))
		m.AddQueueDepth(b)
	}
	ms, err := serveMetrics(cfg, m, srv, log.Named("metrics"))
	if err != nil {
		return fail(err)
	}
	if ms != nil {
		undo = append(undo, func() { _ = ms.Shutdown(context.Background()) })
	}
	stopMonitor := func() {}
	if o.Monitor != nil {
		if stopMonitor, err = monitor.Host(*o.Monitor, o.MonitorOff, c, log.Named("monitor")); err != nil {
			return fail(err)
		}
	}
	bctx, stopBridge := context.WithCancel(context.Background())
	bridgeDone := make(chan error, 1)
	if b != nil {
		go func() { bridgeDone <- b.Run(bctx) }()
	} else {
		bridgeDone <- nil
	}
	fctx, stopForward := context.WithCancel(context.Background())
	forwardDone := make(chan struct{})
	go func() {
		defer close(forwardDone)
		forwardSchedules(fctx, c, log.Named("schedule"))
	}()
	notifyDone := make(chan struct{})
	go func() {
		defer close(notifyDone)
		if o.Notify != nil {
			notify.Run(fctx, c, subjects.SanitizeHost(cfg.HostName), *o.Notify, log.Named("notify"))
		}
	}()
	if d := srv.StoreDamage(); len(d) > 0 && o.OnStoreDamage != nil {
		o.OnStoreDamage(d)
	}
	ready(srv.ClientURLs())
	<-ctx.Done()
	began := time.Now()
	deadline := began.Add(ShutdownBudget)
	// The steps before the server's stop share the budget less the server's reserve; a step
	// that overruns is left behind (logged) rather than waited for.
	steps := deadline.Add(-serverReserve)
	log.Info("stopping", zap.Stringer("budget", ShutdownBudget))
	stopForward()
	waitUntil(steps, log, "moving scheduled messages", func() { <-forwardDone })
	waitUntil(steps, log, "the notifier", func() { <-notifyDone })
	// The monitor and the bridge stop together: neither needs the other to stop.
	monitorDone := make(chan struct{})
	go func() {
		defer close(monitorDone)
		stopMonitor()
	}()
	stopBridge()
	waitUntil(steps, log, "the bridge", func() {
		if err := <-bridgeDone; err != nil {
			log.Error("bridge", zap.Error(err))
		}
	})
	waitUntil(steps, log, "the monitor", func() { <-monitorDone })
	if ms != nil {
		mctx, cancel := context.WithDeadline(context.Background(), steps)
		if err := ms.Shutdown(mctx); err != nil {
			log.Warn("stopping the metrics server", zap.Error(err))
		}
		cancel()
	}
	stopWatch()
	nc.Close()
	sctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("stopping within %s: the server was still stopping (messages and outcomes already stored are safe; consumers may redeliver what they had handled, which outcomes and claims keep from being typed twice): %w", ShutdownBudget, err)
	}
	log.Info("stopped", zap.Duration("took", time.Since(began)))
	return nil
}

// waitUntil runs wait (a wait for one step of the stop) until it returns or deadline
// passes; then it warns and lets the step finish on its own.
func waitUntil(deadline time.Time, log *zap.Logger, what string, wait func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		wait()
	}()
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		log.Warn("stopping took too long; going on without waiting for it", zap.String("step", what), zap.Stringer("budget", ShutdownBudget))
	}
}

// forwardSchedules moves due scheduled messages into their priority streams until ctx ends
// (every daemon of a cluster does, on one shared durable consumer), starting again after an
// error such as a leader election.
func forwardSchedules(ctx context.Context, c *bus.Client, log *zap.Logger) {
	for {
		err := c.ForwardDue(ctx)
		if ctx.Err() != nil {
			return
		}
		log.Warn("moving due scheduled messages stopped; starting again", zap.Error(err))
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

// serveMetrics starts the metrics server unless it is off, and records its URL in the
// connection file and the status.
func serveMetrics(cfg embedded.Config, m *metrics.Metrics, srv *embedded.Server, log *zap.Logger) (*metrics.Server, error) {
	if cfg.MetricsOff() {
		return nil, nil
	}
	ms, err := m.Serve(cfg.MetricsListen, srv.Healthy, log)
	if errors.Is(err, metrics.ErrAddrInUse) && cfg.MetricsListen == embedded.DefaultMetricsListen {
		log.Warn("the default metrics address is in use; serving metrics on a free port instead", zap.Error(err))
		ms, err = m.Serve("127.0.0.1:0", srv.Healthy, log)
	}
	if err != nil {
		return nil, err
	}
	if err := srv.SetMetricsURL(ms.URL()); err != nil {
		log.Warn("recording the metrics URL", zap.Error(err))
	}
	return ms, nil
}

// NewLogger writes human-readable lines to the rotated daemon log, and also to stderr when
// console is true.
func NewLogger(path string, console bool, level zapcore.Level) *zap.Logger {
	enc := zap.NewProductionEncoderConfig()
	enc.EncodeTime = zapcore.ISO8601TimeEncoder
	enc.EncodeLevel = zapcore.CapitalLevelEncoder
	file := zapcore.AddSync(&lumberjack.Logger{Filename: path, MaxSize: 20, MaxBackups: 5})
	cores := []zapcore.Core{zapcore.NewCore(zapcore.NewConsoleEncoder(enc), file, level)}
	if console {
		cores = append(cores, zapcore.NewCore(zapcore.NewConsoleEncoder(enc), zapcore.Lock(os.Stderr), level))
	}
	return zap.New(zapcore.NewTee(cores...)).With(zap.Int("pid", os.Getpid()))
}
