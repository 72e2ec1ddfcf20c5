package tmux

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"

	"go.uber.org/zap"
)

// Runner runs one tmux command sequence and returns its output lines. The
// commands run in order as one sequence: when one fails tmux skips the rest
// and the error is a *CommandError with tmux's message. Arguments are
// literal values; each Runner quotes or escapes them for its transport.
// *Control and *Exec implement Runner.
type Runner interface {
	Run(ctx context.Context, cmds ...Cmd) ([]string, error)
}

// InputRunner is a Runner that can also feed input to the standard input
// of the tmux client, as read by "load-buffer -". *Exec implements it; a
// control connection has no such stream.
type InputRunner interface {
	Runner
	RunInput(ctx context.Context, input []byte, cmds ...Cmd) ([]string, error)
}

// Exec runs each command sequence by spawning the tmux binary once
// ("tmux -L name cmd1 args ; cmd2 args"). It costs about 2 ms per call and
// needs no connection, so it serves as a fallback for Control. A spawned
// command line is limited by tmux to about 16 KB; pass longer data through
// RunInput. The zero value is not usable: Socket must be set.
type Exec struct {
	// Socket selects the server.
	Socket Socket
	// Binary is the tmux executable; "" means "tmux" looked up in PATH.
	Binary string
	// Logger receives debug logs; nil means none.
	Logger *zap.Logger
}

// Run implements Runner.
func (e *Exec) Run(ctx context.Context, cmds ...Cmd) ([]string, error) {
	return e.run(ctx, nil, cmds)
}

// RunInput implements InputRunner: input becomes the standard input of the
// tmux client.
func (e *Exec) RunInput(ctx context.Context, input []byte, cmds ...Cmd) ([]string, error) {
	return e.run(ctx, input, cmds)
}

func (e *Exec) run(ctx context.Context, input []byte, cmds []Cmd) ([]string, error) {
	if err := e.Socket.Validate(); err != nil {
		return nil, err
	}
	if len(cmds) == 0 {
		return nil, fmt.Errorf("%w: no command", ErrInvalidCommand)
	}
	bin := e.Binary
	if bin == "" {
		bin = "tmux"
	}
	args := e.Socket.Args()
	for i, c := range cmds {
		if i > 0 {
			args = append(args, ";")
		}
		for _, a := range c {
			args = append(args, EscapeArg(a))
		}
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = childEnv()
	if input != nil {
		cmd.Stdin = bytes.NewReader(input)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	err := cmd.Run()
	if e.Logger != nil {
		e.Logger.Debug("tmux exec", zap.Int("args", len(args)), zap.Error(err))
	}
	lines := splitLines(stdout.String())
	if err != nil {
		if ctx.Err() != nil {
			return lines, ctx.Err()
		}
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			msg := stderr.String()
			if strings.TrimSpace(msg) == "" {
				msg = err.Error()
			}
			return lines, newCommandError(commandLine(cmds), msg)
		}
		return lines, fmt.Errorf("running tmux: %w", err)
	}
	return lines, nil
}

// splitLines splits tmux output into lines, dropping the final newline.
func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}
