// Package cli is the tmux-orc command line: one file per command, each with an options
// struct, a constructor and a run function. Main owns signals; errors.go classifies errors
// into exit codes, output.go prints for people (escaped for the terminal) or as JSON.
package cli

import (
	"context"
	"errors"
	"io"
	"os"
	"os/signal"
	"syscall"
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
	printError(streams.Err, root, args, err)
	return exitCode(ctx, err)
}
