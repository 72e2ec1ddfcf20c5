package monitor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/tmux"
)

// monitorHost is the host whose monitor a request addresses: host when the caller named one
// (the CLI: $TMUX_ORC_HOST), else that of the daemon the client is connected to.
func monitorHost(ctx context.Context, c *bus.Client, host string) string {
	if host != "" {
		return host
	}
	return c.DaemonHost(ctx)
}

// ErrNotRunning means no monitor answers on the bus.
var ErrNotRunning = errors.New("no monitor is running (it runs inside the daemon unless started with --no-monitor)")

// QueryStatus asks the running monitor of host ("": the daemon's host) for its Status.
func QueryStatus(ctx context.Context, c *bus.Client, host string) (Status, error) {
	var st Status
	if err := request(ctx, c, host, StatusSubject, nil, &st); err != nil {
		return Status{}, fmt.Errorf("asking the monitor for its status: %w", err)
	}
	return st, nil
}

// RequestRestart asks the running monitor of host ("": the daemon's host) to restart a pane.
func RequestRestart(ctx context.Context, c *bus.Client, host string, req RestartRequest) (RestartReply, error) {
	data, _ := json.Marshal(req)
	var rep RestartReply
	if err := request(ctx, c, host, RestartSubject, data, &rep); err != nil {
		return RestartReply{}, fmt.Errorf("asking the monitor to restart %s: %w", req.Target, err)
	}
	return rep, nil
}

// ErrNoDaemonMonitor means no daemon answers monitor control requests.
var ErrNoDaemonMonitor = errors.New("no daemon answers monitor control requests (is the daemon running?)")

// Control asks the daemon of host ("": the daemon the client is connected to) to start or
// stop the monitor it hosts.
func Control(ctx context.Context, c *bus.Client, host, action string) (ControlReply, error) {
	data, _ := json.Marshal(ControlRequest{Action: action})
	var rep ControlReply
	if err := request(ctx, c, host, ControlSubject, data, &rep); err != nil {
		if errors.Is(err, ErrNotRunning) {
			return rep, ErrNoDaemonMonitor
		}
		return rep, fmt.Errorf("asking the daemon to %s the monitor: %w", action, err)
	}
	if rep.Error != "" {
		return rep, fmt.Errorf("the daemon could not %s the monitor: %s", action, rep.Error)
	}
	return rep, nil
}

func request(ctx context.Context, c *bus.Client, host, subject string, data []byte, out any) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
	}
	m, err := c.Conn().RequestWithContext(ctx, ForHost(subject, monitorHost(ctx, c, host)), data)
	if errors.Is(err, nats.ErrNoResponders) {
		return ErrNotRunning
	}
	if err != nil {
		return err
	}
	if err := json.Unmarshal(m.Data, out); err != nil {
		return fmt.Errorf("unreadable answer: %w", err)
	}
	return nil
}

// RestartDirect restarts a pane without a running monitor: unless force is set, it compares
// two captures of the screen sample apart and refuses (ErrBusy) when the screen changed.
func RestartDirect(ctx context.Context, r tmux.Runner, target string, force bool, sample time.Duration) (string, error) {
	id, err := tmux.ResolveTarget(ctx, r, target)
	if err != nil {
		return "", fmt.Errorf("restarting %s: %w", target, err)
	}
	if !force {
		before, err := tmux.CapturePane(ctx, r, id)
		if err != nil {
			return id, fmt.Errorf("restarting %s: %w", target, err)
		}
		select {
		case <-ctx.Done():
			return id, ctx.Err()
		case <-time.After(sample):
		}
		after, err := tmux.CapturePane(ctx, r, id)
		if err != nil {
			return id, fmt.Errorf("restarting %s: %w", target, err)
		}
		if fmt.Sprint(before) != fmt.Sprint(after) {
			return id, fmt.Errorf("restarting %s: %w", target, ErrBusy)
		}
	}
	if err := tmux.RespawnPane(ctx, r, id, ""); err != nil {
		return id, fmt.Errorf("restarting %s: %w", target, err)
	}
	return id, nil
}
