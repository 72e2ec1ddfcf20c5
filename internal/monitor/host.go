package monitor

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/nats-io/nats.go"
	"go.uber.org/zap"

	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/subjects"
)

// control runs a monitor and starts or stops it on request (`tmux-orc monitor start|stop`).
type monitorControl struct {
	cfg Config
	c   *bus.Client
	log *zap.Logger

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

// Host runs a monitor with cfg for the process that hosts it (the daemon, or a standalone
// bridge): it serves start/stop requests for this host (ForHost(ControlSubject, host)),
// starts the monitor unless off, and returns a function that stops both and waits. cfg.Host
// must be valid (Config.Validate).
func Host(cfg Config, off bool, c *bus.Client, log *zap.Logger) (stop func(), err error) {
	if err := subjects.ValidateHost(cfg.Host); err != nil {
		return nil, fmt.Errorf("monitor: %w", err)
	}
	mc := &monitorControl{cfg: cfg, c: c, log: log}
	sub, err := c.Conn().Subscribe(ForHost(ControlSubject, cfg.Host), mc.serve)
	if err != nil {
		return nil, fmt.Errorf("serving monitor control: %w", err)
	}
	if !off {
		mc.start()
	}
	return func() { _ = sub.Unsubscribe(); mc.stop() }, nil
}

// start runs the monitor unless it runs; it reports whether it started it.
func (mc *monitorControl) start() bool {
	mc.mu.Lock()
	defer mc.mu.Unlock()
	if mc.cancel != nil {
		return false
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	m := New(mc.cfg, mc.c, mc.log)
	go func() {
		defer close(done)
		if err := m.Run(ctx); err != nil {
			mc.log.Error("monitor", zap.Error(err))
		}
	}()
	mc.cancel, mc.done = cancel, done
	return true
}

// stop ends the monitor and waits for it; it reports whether it was running.
func (mc *monitorControl) stop() bool {
	mc.mu.Lock()
	cancel, done := mc.cancel, mc.done
	mc.cancel, mc.done = nil, nil
	mc.mu.Unlock()
	if cancel == nil {
		return false
	}
	cancel()
	<-done
	return true
}

func (mc *monitorControl) running() bool {
	mc.mu.Lock()
	defer mc.mu.Unlock()
	return mc.cancel != nil
}

func (mc *monitorControl) serve(msg *nats.Msg) {
	var req ControlRequest
	var rep ControlReply
	if err := json.Unmarshal(msg.Data, &req); err != nil {
		rep.Error = "malformed request: " + err.Error()
	} else {
		switch req.Action {
		case "start":
			rep.Changed = mc.start()
			mc.log.Info("monitor start requested", zap.Bool("started", rep.Changed))
		case "stop":
			rep.Changed = mc.stop()
			mc.log.Info("monitor stop requested", zap.Bool("stopped", rep.Changed))
		case "status":
		default:
			rep.Error = fmt.Sprintf("unknown action %q: want start, stop or status", req.Action)
		}
	}
	rep.Running = mc.running()
	b, _ := json.Marshal(rep)
	_ = msg.Respond(b)
}
