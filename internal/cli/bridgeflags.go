package cli

import (
	"github.com/spf13/pflag"

	"github.com/tmux-orc/tmux-orc/internal/daemon"
	"github.com/tmux-orc/tmux-orc/subjects"
)

// addBridgeFlags binds the flags shared by `bridge` and `daemon start` to the flags' layer l
// of the configuration (config.yaml's tmux_socket, host_name and bridge section).
func addBridgeFlags(fs *pflag.FlagSet, l *daemon.Config) {
	d := daemon.DefaultBridgeConfig()
	fs.StringVar(&l.TmuxSocket, "tmux-socket", "", "tmux server: a -L socket name, or a socket path (default $TMUX_ORC_TMUX_SOCKET, the tmux this runs in, or tmux's default)")
	fs.StringVar(&l.HostName, "host", "", "this tmux server's host name in subjects and the session registry (default $"+subjects.EnvHost+", else the host name; sanitized to letters, digits, '-' and '_')")
	durationFlag(fs, &l.Bridge.EnterDelay, "enter-delay", *d.EnterDelay, "pause between typing a message and pressing Enter")
	durationFlag(fs, &l.Bridge.Expiry, "expiry", *d.Expiry, "how long a message waits for its target pane to appear")
	durationFlag(fs, &l.Bridge.LowBatch, "low-batch", *d.LowBatch, "low-priority messages for a pane within this window become one injection (at most 500ms)")
	durationFlag(fs, &l.Bridge.ReadyWait, "ready-wait", *d.ReadyWait, "how long a message waits for its pane to be ready (a dialog open, a person's draft, copy mode, the agent starting or busy) before it is recorded undeliverable")
	durationFlag(fs, &l.Bridge.ReadyWait, "typing-wait", *d.ReadyWait, "the former name of --ready-wait")
	_ = fs.MarkDeprecated("typing-wait", "use --ready-wait")
}
