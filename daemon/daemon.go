// Package daemon composes what runs inside `tmux-orc daemon`: the embedded server now, the
// bridge and the monitor as they arrive. It owns the order of start and shutdown.
package daemon

import (
	"context"
	"os"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"gopkg.in/natefinch/lumberjack.v2"

	"github.com/tmux-orc/tmux-orc/embedded"
)

// ShutdownTimeout bounds an orderly stop.
const ShutdownTimeout = 30 * time.Second

// Run starts everything, calls ready with the client URLs once the daemon accepts
// messages, and stops in order when ctx ends: first intake, then the server (which flushes
// its store), then the lock.
func Run(ctx context.Context, cfg embedded.Config, log *zap.Logger, ready func(urls []string)) error {
	srv, err := embedded.Start(ctx, cfg, log)
	if err != nil {
		return err
	}
	ready(srv.ClientURLs())
	<-ctx.Done()
	log.Info("stopping")
	sctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	log.Info("stopped")
	return nil
}

// NewLogger writes JSON-free, human-readable lines to the rotated daemon log, and also to
// stderr when console is true.
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
