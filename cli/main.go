// Package cli is the tmux-orc command line: one file per command, each with an options
// struct, a constructor and a run function. Main owns signals, printing errors and exit codes.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/embedded"
	"github.com/tmux-orc/tmux-orc/home"
	"github.com/tmux-orc/tmux-orc/internal/termsafe"
	"github.com/tmux-orc/tmux-orc/subjects"
)

// Exit codes.
const (
	// ExitOK means success.
	ExitOK = 0
	// ExitError is any failure not listed below.
	ExitError = 1
	// ExitUsage means the command line or the message was invalid; retrying the same
	// command cannot succeed.
	ExitUsage = 2
	// ExitUnavailable means the daemon is not running or cannot be reached; retrying later
	// may succeed.
	ExitUnavailable = 3
	// ExitNotResponding means a daemon holds the data directory but does not answer (it is
	// stopped with SIGSTOP, or hung): `daemon status` says so.
	ExitNotResponding = 5
	// ExitInterrupted means the command was stopped by SIGINT or SIGTERM.
	ExitInterrupted = 130
)

// errInterrupt is the cause of a context ended by SIGINT (Ctrl-C); errTerminated by SIGTERM.
var (
	errInterrupt  = errors.New("interrupted")
	errTerminated = errors.New("terminated")
)

// Main runs the command line and returns the exit code. SIGINT and SIGTERM end the
// command's context; Ctrl-C (SIGINT) exits 130 whatever the command, while SIGTERM (how
// services are stopped) lets a service such as the bridge exit 0 after a clean stop.
func Main(args []string) int {
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		select {
		case s := <-sigs:
			if s == os.Interrupt {
				cancel(errInterrupt)
			} else {
				cancel(errTerminated)
			}
		case <-ctx.Done():
		}
	}()
	return Run(ctx, args, IO{In: os.Stdin, Out: os.Stdout, Err: os.Stderr})
}

// IO holds the streams a command reads and writes.
type IO struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
}

// Run runs one command line with the given streams.
func Run(ctx context.Context, args []string, streams IO) int {
	f := newFactory(streams)
	root := newCmdRoot(f)
	root.SetArgs(args)
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.Err)
	err := root.ExecuteContext(ctx)
	f.closeLog()
	if err == nil {
		if errors.Is(context.Cause(ctx), errInterrupt) {
			return ExitInterrupted // Ctrl-C: 130 even for a command that stopped cleanly
		}
		return ExitOK
	}
	var silent silentError
	if !errors.As(err, &silent) {
		fmt.Fprintf(streams.Err, "tmux-orc: %s\n", termsafe.Line(err.Error()))
	}
	var fe *flagError
	if errors.As(err, &fe) {
		if cmd, _, ferr := root.Find(args); ferr == nil {
			fmt.Fprintf(streams.Err, "Run '%s --help' for usage.\n", cmd.CommandPath())
		}
	}
	return exitCode(ctx, err)
}

func exitCode(ctx context.Context, err error) int {
	var fe *flagError
	var silent silentError
	switch {
	case errors.As(err, &silent):
		return silent.code
	case errors.As(err, &fe):
		return ExitUsage
	case errors.Is(err, bus.ErrNotRunning), errors.Is(err, bus.ErrUnreachable), errors.Is(err, home.ErrNoCredentials):
		return ExitUnavailable
	case errors.Is(err, subjects.ErrEnvelope), errors.Is(err, subjects.ErrTarget), errors.Is(err, subjects.ErrGroup),
		errors.Is(err, subjects.ErrPriority), errors.Is(err, subjects.ErrTag), errors.Is(err, subjects.ErrID), errors.Is(err, subjects.ErrAck),
		errors.Is(err, embedded.ErrConfig), errors.Is(err, bus.ErrAmbiguous), errors.Is(err, subjects.ErrFilter):
		return ExitUsage
	case ctx.Err() != nil, errors.Is(err, context.Canceled):
		return ExitInterrupted
	}
	return ExitError
}

// flagError is a command-line mistake: it is printed with a pointer to --help.
type flagError struct{ err error }

func (e *flagError) Error() string { return e.err.Error() }
func (e *flagError) Unwrap() error { return e.err }

func flagErrorf(format string, a ...any) error { return &flagError{fmt.Errorf(format, a...)} }

// silentError ends the command with a code after the command printed its own output.
type silentError struct{ code int }

func (e silentError) Error() string { return fmt.Sprintf("exit %d", e.code) }
