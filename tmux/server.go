package tmux

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"go.uber.org/zap"
)

// Server is one tmux server: the socket it listens on and the tmux binary
// used to talk to it. It is the convenient entry point to both runners.
type Server struct {
	// Socket selects the server.
	Socket Socket
	// Binary is the tmux executable; "" means "tmux" looked up in PATH.
	Binary string
}

// Argv returns the argv of a tmux invocation on the server, for example
// ["tmux", "-L", "orc", "list-panes", "-a"].
func (s Server) Argv(args ...string) []string {
	return append([]string{s.binary()}, s.Socket.Args(args...)...)
}

// Exec returns a Runner that spawns tmux for each command sequence.
func (s Server) Exec(log *zap.Logger) *Exec {
	return &Exec{Socket: s.Socket, Binary: s.Binary, Logger: log}
}

// Dial starts a control-mode client on the server; see the Dial function.
// opts.Binary, when empty, is taken from s.
func (s Server) Dial(ctx context.Context, opts Options) (*Control, error) {
	if opts.Binary == "" {
		opts.Binary = s.Binary
	}
	return Dial(ctx, s.Socket, opts)
}

func (s Server) binary() string {
	if s.Binary == "" {
		return "tmux"
	}
	return s.Binary
}

// KillServer stops the tmux server on sock, if one runs, and removes its socket file, which
// tmux 3.3a leaves behind. The path comes from tmux itself ("#{socket_path}"): it depends on
// TMUX_TMPDIR and the uid, not on $TMPDIR.
func KillServer(sock Socket) {
	out, err := exec.Command("tmux", sock.Args("display-message", "-p", "#{socket_path}")...).Output()
	_ = exec.Command("tmux", sock.Args("kill-server")...).Run()
	path := strings.TrimSpace(string(out))
	if err == nil && path != "" && (path == sock.Path || filepath.Base(path) == sock.Name) {
		_ = os.Remove(path)
	}
}
