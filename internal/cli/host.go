package cli

import (
	"os"

	"github.com/tmux-orc/tmux-orc/subjects"
)

// The host token is decided here, at the boundary, once per command, and handed down in
// configurations (bridge.Config.Host, monitor.Config.Host, embedded.Config.HostName,
// bus.Options.Host); no package below reads $TMUX_ORC_HOST or the host name for it.

// localHost is this side's host: the flag (--host) when given, else subjects.LocalHost
// ($TMUX_ORC_HOST, else the host name), sanitized.
func localHost(flag string) string {
	if flag != "" {
		return subjects.SanitizeHost(flag)
	}
	return subjects.LocalHost()
}

// namedHost is the host the user named with $TMUX_ORC_HOST, sanitized; "" when unset:
// commands that address a host's monitor or bridge then take the daemon's host.
func namedHost() string {
	if h := os.Getenv(subjects.EnvHost); h != "" {
		return subjects.SanitizeHost(h)
	}
	return ""
}
