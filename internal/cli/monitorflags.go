package cli

import (
	"github.com/spf13/pflag"

	"github.com/tmux-orc/tmux-orc/internal/daemon"
)

// addMonitorFlags binds the monitor's flags (of `daemon start` and `bridge`) to the flags'
// layer l of the configuration (config.yaml's monitor section).
func addMonitorFlags(fs *pflag.FlagSet, l *daemon.Config) {
	d := daemon.DefaultMonitorConfig()
	noFlag(fs, &l.Monitor.Enabled, "no-monitor", "do not run the monitor (idle, stuck and crashed agents; restarts)")
	durationFlag(fs, &l.Monitor.IdleAfter, "idle-after", *d.IdleAfter, "the monitor reports an agent whose screen has not changed this long")
	durationFlag(fs, &l.Monitor.StuckAfter, "stuck-after", *d.StuckAfter, "the monitor reports a dialog, rate limit or unsubmitted text shown this long")
	boolFlag(fs, &l.Monitor.AutoRestart, "auto-restart", *d.AutoRestart, "the monitor restarts crashed agents (with backoff, at most 3 times)")
	boolFlag(fs, &l.Monitor.TurnFinished, "turn-finished", *d.TurnFinished, "tell the session's management when an agent with hooks finishes or fails a turn (--turn-finished=false: never)")
	durationFlag(fs, &l.Monitor.TurnCoalesce, "turn-coalesce", *d.TurnCoalesce, "one turn-finished notice per agent for the turns that end within this window")
	durationFlag(fs, &l.Monitor.EscalateAfter, "escalate-after", *d.EscalateAfter, "an alert that needs an acknowledgement and has none this long is sent again, one priority higher")
}
