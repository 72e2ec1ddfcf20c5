package daemon

import (
	"context"

	"go.uber.org/zap"

	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/monitor"
)

// startMonitor runs the monitor when o.Monitor is set and returns a function that stops it
// and waits for it to end.
func startMonitor(o Options, c *bus.Client, log *zap.Logger) (stop func()) {
	if o.Monitor == nil {
		return func() {}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	m := monitor.New(*o.Monitor, c, log.Named("monitor"))
	go func() {
		defer close(done)
		if err := m.Run(ctx); err != nil {
			log.Error("monitor", zap.Error(err))
		}
	}()
	return func() { cancel(); <-done }
}
