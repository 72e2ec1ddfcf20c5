// Package embeddedtest starts real embedded daemons for tests: random port, temporary
// directory, the same code path as production.
package embeddedtest

import (
	"context"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/embedded"
	"github.com/tmux-orc/tmux-orc/internal/home"
)

// Config returns a test configuration on a fresh temporary directory and a random port.
func Config(t testing.TB) embedded.Config {
	t.Helper()
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	cfg := embedded.DefaultConfig(home.Dir(t.TempDir()))
	cfg.SetPort(0)
	return cfg
}

// Start starts a daemon with cfg and stops it when the test ends.
func Start(t testing.TB, cfg embedded.Config) *embedded.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := embedded.Start(ctx, cfg, zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)).Named("daemon"))
	if err != nil {
		t.Fatalf("starting embedded daemon: %v", err)
	}
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	return s
}

// Connect opens a bus client on the daemon of cfg, closed when the test ends.
func Connect(t testing.TB, cfg embedded.Config) *bus.Client {
	t.Helper()
	c, err := bus.Connect(context.Background(), bus.Options{Home: cfg.Home})
	if err != nil {
		t.Fatalf("connecting to the test daemon: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}
