package monitor

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/tmux-orc/tmux-orc/internal/agentstate"
	"github.com/tmux-orc/tmux-orc/subjects"
	"github.com/tmux-orc/tmux-orc/tmux"
)

// ErrBusy is returned by Restart for an agent that is working (its screen changed within
// Config.BusyWindow); force overrides it.
var ErrBusy = errors.New("the agent is working; not restarting it (use --force)")

// ErrUnknownPane is returned by Restart for a pane the monitor does not watch.
var ErrUnknownPane = errors.New("the monitor does not watch that pane")

func isBusy(err error) bool { return errors.Is(err, ErrBusy) }

func contextWithTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}

// Restarted says which pane was restarted.
type Restarted struct {
	Pane   string
	Target string
}

// Restart respawns the pane named by target (a pane id or a tmux target) with its recorded
// command ("respawn-pane -k" with the command the pane was started with), unless the agent
// is busy and force is false. The agent then gets Config.Grace before it is flagged again.
// The restart is logged and published to the session's management group.
func (m *Monitor) Restart(ctx context.Context, target string, force bool) (Restarted, error) {
	r := m.runner()
	id, err := tmux.ResolveTarget(ctx, r, target)
	if err != nil {
		return Restarted{}, fmt.Errorf("restarting %s: %w", target, err)
	}
	now := m.cfg.now()
	m.mu.Lock()
	a, ok := m.agents[id]
	if !ok {
		m.mu.Unlock()
		return Restarted{Pane: id}, fmt.Errorf("restarting %s (%s): %w", target, id, ErrUnknownPane)
	}
	res := Restarted{Pane: id, Target: agentstate.PaneTarget(a.pane)}
	if !force && a.busy(now, &m.cfg) {
		m.mu.Unlock()
		m.log.Info("restart refused: agent busy", zap.String("pane", id), zap.String("target", res.Target))
		return res, fmt.Errorf("restarting %s: %w", res.Target, ErrBusy)
	}
	m.mu.Unlock()
	return res, m.respawn(ctx, r, a, "requested", force)
}

// respawn restarts a's pane, starts its grace period and publishes the recovery.
func (m *Monitor) respawn(ctx context.Context, r tmux.Runner, a *agent, why string, force bool) error {
	m.mu.Lock()
	p, wasState := a.pane, a.state
	m.mu.Unlock()
	t := agentstate.PaneTarget(p)
	// An empty command makes tmux respawn the pane's own start command, exactly as recorded
	// (pane_start_command), without quoting it a second time.
	if err := tmux.RespawnPane(ctx, r, p.ID, ""); err != nil {
		m.log.Warn("restart failed", zap.String("pane", p.ID), zap.String("target", t), zap.Error(err))
		return fmt.Errorf("restarting %s: %w", t, err)
	}
	now := m.cfg.now()
	m.mu.Lock()
	a.restarts++
	a.graceUntil = now.Add(m.cfg.Grace)
	a.lastChange = now // starting up counts as working until the next passes say otherwise
	n := a.restarts
	m.dirty(p.ID)
	m.mu.Unlock()
	m.log.Info("restarted agent", zap.String("pane", p.ID), zap.String("target", t), zap.String("why", why),
		zap.String("was", string(wasState)), zap.Bool("force", force), zap.Int("restarts", n))
	body := fmt.Sprintf("Recovery: restarted %s %s (%s, was %s; restart %d)", roleName(p), t, why, wasState, n)
	_, err := m.publish(ctx, now, note{session: p.Session, priority: subjects.Normal, body: body,
		tags: []string{"monitoring", "recovery"},
		context: map[string]any{"agent": t, "pane": p.ID, "issue_type": "recovery", "reason": why,
			"previous_state": string(wasState), "restarts": n, "forced": force}})
	if err != nil {
		return nil // the restart happened; publishing failure is logged
	}
	return nil
}

// autoRestart restarts crashed agents (never a PM) whose backoff has passed, up to
// Config.MaxRestarts per pane.
func (m *Monitor) autoRestart(ctx context.Context, now time.Time, crashed []*agent) {
	r := m.runner()
	for _, a := range crashed {
		m.mu.Lock()
		due := !a.pm && a.restarts < m.cfg.MaxRestarts &&
			!now.Before(a.crashedAt.Add(m.cfg.RestartBackoff<<a.restarts))
		m.mu.Unlock()
		if due {
			_ = m.respawn(ctx, r, a, "automatic restart after a crash", false)
		}
	}
}
