package bridge

import (
	"context"
	"errors"
	"fmt"

	"go.uber.org/zap"

	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/subjects"
	"github.com/tmux-orc/tmux-orc/tmux"
)

// DeliverDirect delivers env into its pane on the tmux server of cfg without the bus, the
// way the bridge's writers do: it resolves the target among the panes (the first match),
// waits for the pane to be ready (the same readiness gate, up to cfg.ReadyWait; a dead pane
// is undeliverable at once), types the rendered message, presses Enter and verifies that
// the agent took it. The CLI uses it when the daemon is unreachable (its fallback); the
// receipt says Via "fallback" and it is for the caller to keep (the spool).
//
// A target without a host is taken as one on cfg.Host and env.Target.Host is set to it; a
// target on another host is an error. No pane for the target, or a tmux that cannot be
// listed, is an error; a pane that never got ready is an undeliverable receipt.
func DeliverDirect(ctx context.Context, cfg Config, env *subjects.Envelope, log *zap.Logger) (bus.Receipt, error) {
	if cfg.Host == "" {
		return bus.Receipt{}, errors.New("delivering directly: no host (Config.Host)")
	}
	if env.Target.Host != "" && env.Target.Host != cfg.Host {
		return bus.Receipt{}, fmt.Errorf("%s is on host %s, not on this one (%s)", env.Target, env.Target.Host, cfg.Host)
	}
	if log == nil {
		log = zap.NewNop()
	}
	if cfg.MaxInline <= 0 {
		cfg.MaxInline = DefaultMaxInline
	}
	runner := &tmux.Exec{Socket: cfg.Socket, Logger: log}
	panes, err := tmux.ListPanes(ctx, runner)
	if err != nil {
		return bus.Receipt{}, fmt.Errorf("listing tmux panes (%s): %w", cfg.Socket, err)
	}
	targets := Resolve(panes, env.Target.Session, env.Target)
	if len(targets) == 0 {
		return bus.Receipt{}, fmt.Errorf("no tmux pane for %s on %s", env.Target, cfg.Socket)
	}
	p := targets[0]
	// Typed here, so it is a message for this host's session.
	env.Target.Host = cfg.Host
	inj := NewInjector(cfg, func() tmux.Runner { return runner }, log)
	r := bus.Receipt{ID: env.ID, Priority: env.Message.Priority, Pane: p.ID, PaneTarget: PaneTarget(p),
		Via: "fallback", Host: cfg.Host, Published: env.Timestamp}
	if p.Dead {
		r.Outcome, r.Reason = bus.Undeliverable, "the pane is dead (its program exited)"
		return r, nil
	}
	reason, err := inj.WaitReady(ctx, p)
	if err != nil {
		return bus.Receipt{}, err
	}
	if reason != "" {
		r.Outcome, r.Reason = bus.Undeliverable, reason
		return r, nil
	}
	res := inj.Inject(ctx, p, Render(env, cfg.MaxInline))
	r.Outcome, r.Typed, r.Submitted, r.EnterPresses, r.Queued, r.Reason = res.Outcome, res.Typed, res.Submitted, res.EnterPresses, res.Queued, res.Reason
	r.Path = typedPath(res)
	return r, nil
}
