package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/internal/home"
	"github.com/tmux-orc/tmux-orc/subjects"
)

// Exit codes: the one list (the README's "Exit codes and errors" table).
const (
	// ExitOK means success.
	ExitOK = 0
	// ExitError is any failure not listed below.
	ExitError = 1
	// ExitUsage means the command line, the message or the configuration was invalid;
	// retrying the same command cannot succeed.
	ExitUsage = 2
	// ExitUnavailable means the daemon is not running or cannot be reached; retrying later
	// may succeed.
	ExitUnavailable = 3
	// ExitNotDelivered means the message was stored (or spooled) but not confirmed in the
	// pane: unconfirmed, undeliverable, or no outcome in time.
	ExitNotDelivered = 4
	// ExitNotResponding means a daemon holds the data directory but does not answer (it is
	// stopped with SIGSTOP, or hung): `daemon status` says so.
	ExitNotResponding = 5
	// ExitInterrupted means the command was stopped by SIGINT or SIGTERM.
	ExitInterrupted = 130
)

// exitCode classifies the error a command returned. Errors are classified where they arise:
// a command-line mistake is a *flagError (flagErrorf), bad input declared by the packages
// below is subjects.ErrInvalid (a target, a priority, a message, the configuration...), and a
// command that printed its own result ends with a silentError that carries its code.
func exitCode(ctx context.Context, err error) int {
	var fe *flagError
	var silent silentError
	switch {
	case errors.As(err, &silent):
		return silent.code
	case errors.As(err, &fe), errors.Is(err, subjects.ErrInvalid):
		return ExitUsage
	case unavailable(err), errors.Is(err, home.ErrNoCredentials):
		return ExitUnavailable
	case ctx.Err() != nil, errors.Is(err, context.Canceled):
		return ExitInterrupted
	}
	return ExitError
}

// unavailable reports whether err says the daemon is not running or cannot be reached.
func unavailable(err error) bool {
	return errors.Is(err, bus.ErrNotRunning) || errors.Is(err, bus.ErrUnreachable)
}

// flagError is a command-line mistake: it is printed with a pointer to --help.
type flagError struct{ err error }

func (e *flagError) Error() string { return e.err.Error() }
func (e *flagError) Unwrap() error { return e.err }

func flagErrorf(format string, a ...any) error { return &flagError{fmt.Errorf(format, a...)} }

// silentError ends the command with a code after the command printed its own output.
type silentError struct{ code int }

func (e silentError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// errInterrupt is the cause of a context ended by SIGINT (Ctrl-C); errTerminated by SIGTERM.
var (
	errInterrupt  = errors.New("interrupted")
	errTerminated = errors.New("terminated")
)
