package cli

import (
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/tmux-orc/tmux-orc/bridge"
	"github.com/tmux-orc/tmux-orc/subjects"
	"github.com/tmux-orc/tmux-orc/tmux"
)

// EnvTmuxSocket names the environment variable that selects the tmux server (a -L name, or
// a socket path when it contains '/').
const EnvTmuxSocket = "TMUX_ORC_TMUX_SOCKET"

// bridgeFlags are the flags shared by `bridge` and `daemon start`.
type bridgeFlags struct {
	Socket     string
	Host       string
	EnterDelay time.Duration
	Expiry     time.Duration
	LowBatch   time.Duration
	ReadyWait  time.Duration
}

func (bf *bridgeFlags) add(fs *pflag.FlagSet) {
	d := bridge.DefaultConfig(tmux.Socket{}, "")
	fs.StringVar(&bf.Socket, "tmux-socket", "", "tmux server: a -L socket name, or a socket path (default $TMUX_ORC_TMUX_SOCKET, the tmux this runs in, or tmux's default)")
	fs.StringVar(&bf.Host, "host", "", "this tmux server's host name in subjects and the session registry (default $"+subjects.EnvHost+", else the host name; sanitized to letters, digits, '-' and '_')")
	fs.DurationVar(&bf.EnterDelay, "enter-delay", d.EnterDelay, "pause between typing a message and pressing Enter")
	fs.DurationVar(&bf.Expiry, "expiry", d.Expiry, "how long a message waits for its target pane to appear")
	fs.DurationVar(&bf.LowBatch, "low-batch", d.LowBatch, "low-priority messages for a pane within this window become one injection (at most 500ms)")
	fs.DurationVar(&bf.ReadyWait, "ready-wait", d.ReadyWait, "how long a message waits for its pane to be ready (a dialog open, a person's draft, copy mode, the agent starting or busy) before it is recorded undeliverable")
	fs.DurationVar(&bf.ReadyWait, "typing-wait", d.ReadyWait, "the former name of --ready-wait")
	_ = fs.MarkDeprecated("typing-wait", "use --ready-wait")
}

// config returns the bridge configuration for host, the host the command resolved (the
// daemon's host_name, or the standalone bridge's --host / $TMUX_ORC_HOST / host name).
func (bf *bridgeFlags) config(host string) (bridge.Config, error) {
	cfg := bridge.DefaultConfig(tmuxSocket(bf.Socket), host)
	cfg.EnterDelay, cfg.Expiry, cfg.LowBatch, cfg.ReadyWait = bf.EnterDelay, bf.Expiry, bf.LowBatch, bf.ReadyWait
	if bf.LowBatch < 0 || bf.LowBatch > 500*time.Millisecond {
		return cfg, flagErrorf("--low-batch %s: want 0 to 500ms", bf.LowBatch)
	}
	if bf.EnterDelay < 0 || bf.Expiry <= 0 || bf.ReadyWait < 0 {
		return cfg, flagErrorf("--enter-delay and --ready-wait must not be negative, --expiry must be positive")
	}
	return cfg, cfg.Socket.Validate()
}

// tmuxSocket picks the tmux server: the flag, $TMUX_ORC_TMUX_SOCKET, the server this
// command runs inside ($TMUX), else tmux's default server.
func tmuxSocket(flag string) tmux.Socket {
	s := flag
	if s == "" {
		s = os.Getenv(EnvTmuxSocket)
	}
	if s == "" {
		if t := os.Getenv("TMUX"); t != "" {
			return tmux.Socket{Path: strings.Split(t, ",")[0]}
		}
		return tmux.Socket{Name: "default"}
	}
	if strings.Contains(s, "/") {
		return tmux.Socket{Path: s}
	}
	return tmux.Socket{Name: s}
}
