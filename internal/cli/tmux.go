package cli

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/tmux-orc/tmux-orc/internal/daemon"
	"github.com/tmux-orc/tmux-orc/tmux"
)

// The tmux server and the pane a command works with.

// tmuxSocket picks the tmux server: the flag, $TMUX_ORC_TMUX_SOCKET, the server this
// command runs inside ($TMUX), else tmux's default server.
func tmuxSocket(flag string) tmux.Socket {
	s := flag
	if s == "" {
		s = os.Getenv(daemon.EnvTmuxSocket)
	}
	return tmux.ParseSocket(s)
}

// tmuxServerProblem says why the tmux server of sock cannot be reached ("" when it runs).
func tmuxServerProblem(ctx context.Context, sock tmux.Socket) string {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "tmux", sock.Args("list-sessions", "-F", "#{session_name}")...).CombinedOutput()
	if err == nil {
		return ""
	}
	msg := strings.TrimSpace(string(out))
	if msg == "" {
		msg = err.Error()
	}
	return fmt.Sprintf("no tmux server on %s: %s", sock, msg)
}

// paneWindow asks tmux for the session name and window index of a pane id.
func paneWindow(ctx context.Context, pane string) (session, window string, err error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "tmux", "display-message", "-p", "-t", pane, "#{session_name}\t#{window_index}").Output()
	if err != nil {
		return "", "", fmt.Errorf("asking tmux where pane %s is (tmux display-message -t %s): %w", pane, pane, err)
	}
	s, w, ok := strings.Cut(strings.TrimSpace(string(out)), "\t")
	if !ok || s == "" || w == "" {
		return "", "", fmt.Errorf("tmux does not know pane %s", pane)
	}
	return s, w, nil
}
