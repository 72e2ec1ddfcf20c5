package cli

import (
	"time"

	"github.com/spf13/pflag"

	"github.com/tmux-orc/tmux-orc/monitor"
	"github.com/tmux-orc/tmux-orc/tmux"
)

// monitorFlags configure the monitor that `daemon start` runs.
type monitorFlags struct {
	NoMonitor   bool
	IdleAfter   time.Duration
	StuckAfter  time.Duration
	AutoRestart bool
	// TurnFinished and TurnCoalesce: the notice to management when an agent with hooks ends
	// a turn.
	TurnFinished bool
	TurnCoalesce time.Duration
	// EscalateAfter: an alert that needs an acknowledgement and has none this long is sent
	// again one priority higher.
	EscalateAfter time.Duration
}

func (mf *monitorFlags) add(fs *pflag.FlagSet) {
	d := monitor.DefaultConfig(tmux.Socket{}, "")
	fs.BoolVar(&mf.NoMonitor, "no-monitor", false, "do not run the monitor (idle, stuck and crashed agents; restarts)")
	fs.DurationVar(&mf.IdleAfter, "idle-after", d.IdleAfter, "the monitor reports an agent whose screen has not changed this long")
	fs.DurationVar(&mf.StuckAfter, "stuck-after", d.StuckAfter, "the monitor reports a dialog, rate limit or unsubmitted text shown this long")
	fs.BoolVar(&mf.AutoRestart, "auto-restart", false, "the monitor restarts crashed agents (with backoff, at most 3 times)")
	fs.BoolVar(&mf.TurnFinished, "turn-finished", d.TurnFinished, "tell the session's management when an agent with hooks finishes or fails a turn (--turn-finished=false: never)")
	fs.DurationVar(&mf.TurnCoalesce, "turn-coalesce", d.TurnCoalesce, "one turn-finished notice per agent for the turns that end within this window")
	fs.DurationVar(&mf.EscalateAfter, "escalate-after", d.EscalateAfter, "an alert that needs an acknowledgement and has none this long is sent again, one priority higher")
}

// config returns the monitor configuration (also with --no-monitor: `tmux-orc monitor start`
// can start it later).
func (mf *monitorFlags) config(sock tmux.Socket, host string) (*monitor.Config, error) {
	cfg := monitor.DefaultConfig(sock, host)
	cfg.IdleAfter, cfg.StuckAfter, cfg.AutoRestart = mf.IdleAfter, mf.StuckAfter, mf.AutoRestart
	cfg.TurnFinished, cfg.TurnCoalesce = mf.TurnFinished, mf.TurnCoalesce
	if mf.EscalateAfter != 0 {
		cfg.EscalateAfter = mf.EscalateAfter
	}
	if cfg.EscalateAfter < 0 {
		return nil, flagErrorf("--escalate-after %s: want a positive duration", cfg.EscalateAfter)
	}
	if cfg.LongIdleAfter < cfg.IdleAfter {
		cfg.LongIdleAfter = 3 * cfg.IdleAfter
	}
	if err := cfg.Validate(); err != nil {
		return nil, flagErrorf("%v", err)
	}
	return &cfg, nil
}
