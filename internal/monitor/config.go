package monitor

import (
	"fmt"
	"time"

	"github.com/tmux-orc/tmux-orc/subjects"
	"github.com/tmux-orc/tmux-orc/tmux"
)

// Config tunes the monitor. DefaultConfig gives the defaults; a zero duration is invalid.
type Config struct {
	// Socket selects the tmux server.
	Socket tmux.Socket
	// Poll is the period of one pass over the panes (list-panes plus one capture each).
	Poll time.Duration
	// BusyWindow is how recently the screen must have changed for the agent to count as busy
	// (working): Restart refuses a busy agent unless forced.
	BusyWindow time.Duration
	// IdleAfter is how long an unchanged screen makes an agent idle (a normal alert).
	IdleAfter time.Duration
	// LongIdleAfter raises a second, high-priority idle alert.
	LongIdleAfter time.Duration
	// FreshAfter is how long a newly started agent may wait without being briefed (no work
	// seen) before a "fresh agent" alert; FreshSettle is how long its start-up screen may keep
	// changing without counting as work.
	FreshAfter  time.Duration
	FreshSettle time.Duration
	// StuckAfter is how long a screen must read as stuck (dialog, rate limit, unsubmitted
	// text) before the agent is stuck.
	StuckAfter time.Duration
	// Cooldown is the least time between two alerts for the same agent and condition.
	Cooldown time.Duration
	// Grace is how long after a restart an agent is not flagged again.
	Grace time.Duration
	// EscalateAfter is how long an alert that requires an acknowledgement waits for one
	// before it is published once more at the next higher priority.
	EscalateAfter time.Duration
	// AutoRestart restarts crashed agents (not PMs), at most MaxRestarts times per pane,
	// waiting RestartBackoff after the crash, doubled for each restart already made.
	AutoRestart    bool
	MaxRestarts    int
	RestartBackoff time.Duration
	// TurnFinished tells the session's management group, at low priority, when an agent with
	// hooks finishes a turn (normal when it fails one), coalescing the turn ends of one pane
	// within TurnCoalesce into one message.
	TurnFinished bool
	TurnCoalesce time.Duration
	// Host is this tmux server's host token, required: alerts go to the management group of
	// the session on it and record it as their source host, the monitor's state is kept under
	// it, and the monitor answers status, restart, hook and control requests for it. The
	// caller decides it (the CLI: the daemon's host_name, --host, $TMUX_ORC_HOST, else the host
	// name); the monitor never reads the environment for it.
	Host string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// DefaultConfig returns the defaults for the tmux server at sock on host.
func DefaultConfig(sock tmux.Socket, host string) Config {
	return Config{Socket: sock, Host: host, Poll: time.Second, BusyWindow: 3 * time.Second, IdleAfter: 5 * time.Minute,
		LongIdleAfter: 15 * time.Minute, FreshAfter: 2 * time.Minute, FreshSettle: 10 * time.Second, StuckAfter: 30 * time.Second, Cooldown: 5 * time.Minute,
		Grace: 3 * time.Minute, EscalateAfter: 2 * time.Minute, MaxRestarts: 3, RestartBackoff: 10 * time.Second,
		TurnFinished: true, TurnCoalesce: 2 * time.Second}
}

// Validate says what is wrong with the configuration.
func (c Config) Validate() error {
	for name, d := range map[string]time.Duration{"poll": c.Poll, "busy window": c.BusyWindow, "idle after": c.IdleAfter,
		"long idle after": c.LongIdleAfter, "fresh after": c.FreshAfter, "stuck after": c.StuckAfter, "escalate after": c.EscalateAfter} {
		if d <= 0 {
			return fmt.Errorf("monitor: %s must be positive, got %s", name, d)
		}
	}
	if c.TurnFinished && c.TurnCoalesce <= 0 {
		return fmt.Errorf("monitor: turn coalesce must be positive, got %s", c.TurnCoalesce)
	}
	if c.FreshSettle < 0 || c.Cooldown < 0 || c.Grace < 0 || c.RestartBackoff < 0 || c.MaxRestarts < 0 {
		return fmt.Errorf("monitor: cooldown, grace, restart backoff and max restarts must not be negative")
	}
	if err := subjects.ValidateHost(c.Host); err != nil {
		return fmt.Errorf("monitor: %w", err)
	}
	return c.Socket.Validate()
}

func (c Config) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// slack is how early a threshold may be taken as met: a twentieth of a poll, so that a pass
// falling on a threshold by the clock is not beaten by scheduling jitter and the alert does
// not wait a whole poll more.
func (c Config) slack() time.Duration { return c.Poll / 20 }
