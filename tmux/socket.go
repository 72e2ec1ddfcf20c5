package tmux

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// Sentinel errors returned (wrapped) by this package.
var (
	// ErrNoServer means no tmux server is listening on the socket.
	ErrNoServer = errors.New("no tmux server running")
	// ErrNoSessions means the server is running but has no session a
	// control client could attach to.
	ErrNoSessions = errors.New("tmux server has no sessions")
	// ErrInvalidSocket means a Socket names neither a socket name nor a
	// socket path, or names both.
	ErrInvalidSocket = errors.New("invalid tmux socket")
	// ErrInvalidCommand means a command line cannot be sent over a control
	// connection (it is empty or contains a newline).
	ErrInvalidCommand = errors.New("invalid tmux command")
	// ErrClosed means the control client was closed by Close.
	ErrClosed = errors.New("tmux control client closed")
	// ErrExited means the control client process ended without Close:
	// the server exited, the session was killed, or the client was
	// detached.
	ErrExited = errors.New("tmux control client exited")
	// ErrInvalidPane means a pane id is not of the form %N.
	ErrInvalidPane = errors.New("invalid pane id")
	// ErrTargetNotFound means a target names no existing pane.
	ErrTargetNotFound = errors.New("target not found")
	// ErrAmbiguousTarget means a target matches more than one window.
	ErrAmbiguousTarget = errors.New("ambiguous target")
)

// CommandError reports a tmux command that tmux rejected. Message is the
// text tmux printed (the %error block in control mode, stderr when spawned).
type CommandError struct {
	// Command is the command line as sent, possibly shortened.
	Command string
	// Message is tmux's error text.
	Message string
}

// Error implements error.
func (e *CommandError) Error() string {
	return fmt.Sprintf("tmux: %s (command %q)", e.Message, e.Command)
}

// Unwrap maps tmux's well-known failures to the sentinels ErrNoServer and
// ErrNoSessions so that errors.Is works on them.
func (e *CommandError) Unwrap() error {
	switch {
	case strings.HasPrefix(e.Message, "no server running"),
		strings.HasPrefix(e.Message, "error connecting to"):
		return ErrNoServer
	case e.Message == "no sessions":
		return ErrNoSessions
	}
	return nil
}

// newCommandError builds a CommandError, shortening long command lines so
// that a 20 KB text is not repeated in every log line.
func newCommandError(cmd, msg string) *CommandError {
	const max = 200
	if len(cmd) > max {
		cmd = cmd[:max] + "..."
	}
	return &CommandError{Command: cmd, Message: strings.TrimSpace(msg)}
}

// Socket identifies one tmux server: either a socket Name (tmux -L, a file
// in tmux's per-user socket directory) or a socket Path (tmux -S). Exactly
// one must be set; the default server is Socket{Name: "default"}.
type Socket struct {
	// Name is a socket name passed as "tmux -L Name".
	Name string
	// Path is a socket path passed as "tmux -S Path".
	Path string
}

// Validate reports whether exactly one of Name and Path is set.
func (s Socket) Validate() error {
	switch {
	case s.Name == "" && s.Path == "":
		return fmt.Errorf("%w: neither name nor path set", ErrInvalidSocket)
	case s.Name != "" && s.Path != "":
		return fmt.Errorf("%w: both name %q and path %q set", ErrInvalidSocket, s.Name, s.Path)
	}
	return nil
}

// Args returns the tmux flags selecting the socket followed by args, for
// example ["-L", "orc", "list-panes", "-a"]. It does not validate s.
//
// It always starts with -u: without a UTF-8 locale in the environment (a daemon under
// systemd, a test harness), tmux replaces control and non-ASCII characters in its output
// with '_', which breaks the field separators of ListPanes and mangles non-ASCII names.
func (s Socket) Args(args ...string) []string {
	out := make([]string, 0, len(args)+3)
	out = append(out, "-u")
	if s.Path != "" {
		out = append(out, "-S", s.Path)
	} else {
		out = append(out, "-L", s.Name)
	}
	return append(out, args...)
}

// String returns "-L name" or "-S path", for logs.
func (s Socket) String() string {
	if s.Path != "" {
		return "-S " + s.Path
	}
	return "-L " + s.Name
}

// ParseSocket turns a -L socket name, or a socket path (when s contains '/'), into a Socket;
// an empty s is the tmux server this process runs inside ($TMUX), else tmux's default server.
func ParseSocket(s string) Socket {
	switch {
	case s == "":
		if t := os.Getenv("TMUX"); t != "" {
			return Socket{Path: strings.Split(t, ",")[0]}
		}
		return Socket{Name: "default"}
	case strings.Contains(s, "/"):
		return Socket{Path: s}
	}
	return Socket{Name: s}
}
