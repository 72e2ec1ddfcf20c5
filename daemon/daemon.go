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
	"github.com/tmux-orc/tmux-orc/internal/notify"
	"github.com/tmux-orc/tmux-orc/metrics"
	"github.com/tmux-orc/tmux-orc/monitor"
	"github.com/tmux-orc/tmux-orc/spool"
	"github.com/tmux-orc/tmux-orc/subjects"
)

// ShutdownTimeout bounds an orderly stop.
const ShutdownTimeout = 30 * time.Second

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
	srv, err := embedded.Start(ctx, cfg, log)
	if err != nil {
		return err
	}
	stopServer := func() error {
		sctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
		defer cancel()
		return srv.Shutdown(sctx)
	}
	nc, err := srv.Connect("tmux-orc-daemon-bridge")
	if err != nil {
		_ = stopServer()
		return err
	}
	c, err := bus.NewFromConn(nc, log.Named("bus"))
	if err != nil {
		nc.Close()
		_ = stopServer()
		return err
	}
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
		nc.Close()
		_ = stopServer()
		return err
	}
	stopMonitor := func() {}
	if o.Monitor != nil {
		stopMonitor, err = monitor.Host(*o.Monitor, o.MonitorOff, c, log.Named("monitor"))
	}
	if err != nil {
		if ms != nil {
			_ = ms.Shutdown(context.Background())
		}
		nc.Close()
		_ = stopServer()
		return err
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
	log.Info("stopping")
	stopForward()
	<-forwardDone
	<-notifyDone
	stopMonitor()
	stopBridge()
	if err := <-bridgeDone; err != nil {
		log.Error("bridge", zap.Error(err))
	}
	if ms != nil {
		mctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := ms.Shutdown(mctx); err != nil {
			log.Warn("stopping the metrics server", zap.Error(err))
		}
		cancel()
	}
	nc.Close()
	if err := stopServer(); err != nil {
		return fmt.Errorf("stopping: %w", err)
	}
	log.Info("stopped")
	return nil
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
