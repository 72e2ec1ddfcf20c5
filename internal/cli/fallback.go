package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/tmux-orc/tmux-orc/bridge"
	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/internal/spool"
	"github.com/tmux-orc/tmux-orc/subjects"
)

// ErrFallback is returned when the daemon is unreachable and typing directly failed too.
var ErrFallback = errors.New("fallback delivery failed")

// connectOrFallback connects to the daemon; for a critical message it retries a few times
// first. When the daemon stays unreachable and env is for a tmux window, it types env
// straight into the pane (the guide's CLI fallback), spools it for the daemon to import,
// and returns the receipt with a nil client.
func connectOrFallback(ctx context.Context, f *factory, env *subjects.Envelope, socketFlag string) (*bus.Client, *bus.Receipt, error) {
	c, err := f.Connect(ctx)
	for i := 0; err != nil && unavailable(err) && env.Message.Priority == subjects.Critical && i < 3; i++ {
		if !sleepCtx(ctx, time.Duration(250<<i)*time.Millisecond) {
			break
		}
		c, err = f.Connect(ctx)
	}
	if err == nil || !unavailable(err) || env.Target.Kind != subjects.KindSession {
		return c, nil, err
	}
	r, ferr := fallback(ctx, f, env, socketFlag)
	if ferr != nil {
		return nil, nil, fmt.Errorf("%w; %w: %w", err, ErrFallback, ferr)
	}
	f.Log().Warn("the daemon is unreachable: typed the message directly into tmux and spooled it for import",
		zap.String("id", env.ID), zap.String("pane", r.PaneTarget), zap.String("outcome", string(r.Outcome)), zap.NamedError("daemon", err))
	return nil, r, nil
}

// fallback types env straight into its pane with the bridge's own delivery
// (bridge.DeliverDirect) and spools it, with its receipt, for the daemon to import.
func fallback(ctx context.Context, f *factory, env *subjects.Envelope, socketFlag string) (*bus.Receipt, error) {
	dir, err := f.Home()
	if err != nil {
		return nil, err
	}
	r, err := bridge.DeliverDirect(ctx, bridge.DefaultConfig(tmuxSocket(socketFlag), f.Host()), env, f.Log())
	if err != nil {
		return nil, err
	}
	if err := spool.Write(dir, spool.Entry{Envelope: env, Receipt: r}); err != nil {
		return nil, err
	}
	return &r, nil
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}
