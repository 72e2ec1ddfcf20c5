package tmux

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// Options configure Dial.
type Options struct {
	// Logger receives debug and warning logs; nil means zap.NewNop().
	Logger *zap.Logger
	// Binary is the tmux executable; "" means "tmux" looked up in PATH.
	Binary string
	// Session is the session to attach to, as a tmux target ("=name" for an
	// exact name, "$N" for an id). "" lets tmux choose (the most recently
	// used session). The control client receives %output only for the panes
	// of the session it is attached to.
	Session string
	// NoOutput attaches with the no-output flag: tmux sends no %output
	// notifications, which saves work when nothing reads pane output.
	NoOutput bool
	// NotifyBuffer is the capacity of the Notifications channel; 0 means
	// 4096. When the channel is full, notifications are dropped (see
	// Control.Notifications).
	NotifyBuffer int
	// CloseTimeout bounds how long Close waits for tmux to exit before it
	// kills the client process; 0 means 2 seconds.
	CloseTimeout time.Duration
	// WriteTimeout bounds each write of a command line to tmux; 0 means 10
	// seconds. tmux reads its input at once, so a write that takes longer
	// means the client is stuck: the connection is then shut down (Err
	// wraps ErrExited), because a partly written line would garble every
	// later command.
	WriteTimeout time.Duration
}

// Control is a persistent tmux control-mode client ("tmux -C
// attach-session -f ignore-size") on one server. Commands are written to its
// standard input and their replies read from its standard output; they are
// pipelined and matched in order, so Control is safe for concurrent use and
// one slow command delays only the replies behind it.
//
// Each command line is followed on the wire by a fence command
// (display-message of a per-connection token) whose reply marks the end of
// the line's replies. A line may therefore hold several commands joined with
// " ; ", or commands that queue further commands (if-shell, hooks), and the
// replies still line up.
type Control struct {
	sock    Socket
	log     *zap.Logger
	cmd     *exec.Cmd
	stdin   *os.File
	stderr  *limitedBuffer
	nonce   string
	notify  chan Notification
	dropped atomic.Uint64
	done    chan struct{}

	mu      sync.Mutex // guards the fields below and ordered writes to stdin
	seq     uint64
	pending []*request
	err     error // set once, before done is closed
	closing bool

	closeOnce    sync.Once
	closeWait    time.Duration
	writeTimeout time.Duration
}

// request is one command line waiting for its replies.
type request struct {
	line  string
	fence string
	out   []string
	fail  string // first %error text, if any
	bad   bool
	ready chan result
}

type result struct {
	lines []string
	err   error
}

// Dial starts a control-mode client on the server at sock and waits, within
// ctx, for the attach handshake (the first %begin/%end block) before
// returning: commands sent before it would run with no current client.
//
// Dial never creates a session. It first lists the server's sessions with a
// spawned tmux and returns an error wrapping ErrNoServer when no server
// listens on the socket, or ErrNoSessions when the server has no session;
// the caller decides whether to create one.
func Dial(ctx context.Context, sock Socket, opts Options) (*Control, error) {
	if err := sock.Validate(); err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = zap.NewNop()
	}
	bin := opts.Binary
	if bin == "" {
		bin = "tmux"
	}
	ex := &Exec{Socket: sock, Binary: bin, Logger: log}
	sessions, err := ex.Run(ctx, Cmd{"list-sessions", "-F", "#{session_id}"})
	if err != nil {
		return nil, fmt.Errorf("dialing tmux %s: %w", sock, err)
	}
	if len(sessions) == 0 {
		return nil, fmt.Errorf("dialing tmux %s: %w", sock, ErrNoSessions)
	}

	flags := "ignore-size"
	if opts.NoOutput {
		flags += ",no-output"
	}
	args := []string{"-C", "attach-session", "-f", flags}
	if opts.Session != "" {
		args = append(args, "-t", opts.Session)
	}
	c := &Control{
		sock:      sock,
		log:       log.With(zap.Stringer("socket", sock)),
		stderr:    &limitedBuffer{max: 4096},
		nonce:     newNonce(),
		done:      make(chan struct{}),
		closeWait: opts.CloseTimeout,
	}
	if c.closeWait <= 0 {
		c.closeWait = 2 * time.Second
	}
	c.writeTimeout = opts.WriteTimeout
	if c.writeTimeout <= 0 {
		c.writeTimeout = 10 * time.Second
	}
	n := opts.NotifyBuffer
	if n <= 0 {
		n = 4096
	}
	c.notify = make(chan Notification, n)

	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("dialing tmux %s: %w", sock, err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, fmt.Errorf("dialing tmux %s: %w", sock, err)
	}
	c.cmd = exec.Command(bin, sock.Args(args...)...)
	c.cmd.Env = childEnv()
	c.cmd.Stdin = inR
	c.cmd.Stdout = outW
	c.cmd.Stderr = c.stderr
	if err := c.cmd.Start(); err != nil {
		inR.Close()
		inW.Close()
		outR.Close()
		outW.Close()
		return nil, fmt.Errorf("dialing tmux %s: %w", sock, err)
	}
	inR.Close()
	outW.Close()
	c.stdin = inW

	hs := make(chan error, 1)
	go c.readLoop(bufio.NewReaderSize(outR, 64<<10), hs)

	select {
	case err := <-hs:
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("dialing tmux %s: %w", sock, err)
		}
	case <-ctx.Done():
		c.Close()
		return nil, fmt.Errorf("dialing tmux %s: waiting for handshake: %w", sock, ctx.Err())
	}
	c.log.Debug("control client attached", zap.Int("pid", c.cmd.Process.Pid))
	return c, nil
}

// Socket returns the socket of the server the client is attached to.
func (c *Control) Socket() Socket { return c.sock }

// Command sends one command line (one or more commands joined with " ; ",
// already quoted, see Quote) and returns the output lines of its replies.
// When tmux rejects a command the error is a *CommandError carrying the
// %error text; tmux then skips the rest of the line. The line must not be
// empty (an empty line detaches a control client) nor contain a newline.
//
// If ctx ends first Command returns ctx.Err(); a command already written
// still runs, and its reply is read and discarded.
func (c *Control) Command(ctx context.Context, line string) ([]string, error) {
	if strings.TrimSpace(line) == "" || strings.ContainsAny(line, "\n") {
		return nil, fmt.Errorf("%w: %q", ErrInvalidCommand, shorten(line))
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	req := &request{line: line, ready: make(chan result, 1)}

	c.mu.Lock()
	if c.err != nil || c.closing {
		err := c.err
		if err == nil {
			err = ErrClosed
		}
		c.mu.Unlock()
		return nil, err
	}
	c.seq++
	req.fence = fmt.Sprintf("orc-fence-%s-%d", c.nonce, c.seq)
	c.pending = append(c.pending, req)
	buf := make([]byte, 0, len(line)+len(req.fence)+32)
	buf = append(buf, line...)
	buf = append(buf, "\ndisplay-message -p -- "...)
	buf = append(buf, req.fence...)
	buf = append(buf, '\n')
	c.stdin.SetWriteDeadline(time.Now().Add(c.writeTimeout))
	_, werr := c.stdin.Write(buf)
	c.mu.Unlock()
	if werr != nil {
		// A partial line would corrupt every later command: give up on
		// the connection. Pending requests, this one included, fail.
		c.shutdown(fmt.Errorf("%w: writing command: %w", ErrExited, werr))
	}

	select {
	case r := <-req.ready:
		return r.lines, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Run implements Runner: it quotes cmds with Quote, joins them with " ; "
// on one line and sends the line with Command.
func (c *Control) Run(ctx context.Context, cmds ...Cmd) ([]string, error) {
	if len(cmds) == 0 {
		return nil, fmt.Errorf("%w: no command", ErrInvalidCommand)
	}
	return c.Command(ctx, commandLine(cmds))
}

// Notifications returns the channel of notifications from tmux. It is
// buffered (Options.NotifyBuffer); the reader never blocks on it: when a
// consumer falls behind and the buffer is full, further notifications are
// dropped and counted by Dropped, and a warning is logged. The channel is
// closed after the client has ended (see Done).
func (c *Control) Notifications() <-chan Notification { return c.notify }

// Dropped returns how many notifications were dropped because the
// Notifications channel was full.
func (c *Control) Dropped() uint64 { return c.dropped.Load() }

// Done returns a channel that is closed when the client has ended, by
// Close, by tmux exiting (%exit or end of output) or by a write failure.
func (c *Control) Done() <-chan struct{} { return c.done }

// Err returns nil while the client runs. After Done is closed it returns
// ErrClosed after Close, or an error wrapping ErrExited with tmux's reason.
func (c *Control) Err() error {
	select {
	case <-c.done:
	default:
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Close detaches the client by closing its standard input, waits up to
// Options.CloseTimeout for tmux to exit and kills the client process if it
// has not. Pending commands fail with ErrClosed. Close is idempotent and
// always returns nil.
func (c *Control) Close() error {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.closing = true
		c.mu.Unlock()
		c.stdin.Close()
		select {
		case <-c.done:
		case <-time.After(c.closeWait):
			c.log.Warn("tmux control client did not exit, killing it")
			c.cmd.Process.Kill()
			<-c.done
		}
	})
	return nil
}

// shutdown ends the connection after a failure on our side.
func (c *Control) shutdown(err error) {
	c.mu.Lock()
	if c.err == nil && !c.closing {
		c.err = err
	}
	c.mu.Unlock()
	c.log.Warn("tmux control client failed", zap.Error(err))
	c.stdin.Close()
	c.cmd.Process.Kill()
}

func newNonce() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// childEnv returns the environment for spawned tmux processes without TMUX
// and TMUX_PANE, so that a process running inside tmux neither falls back to
// its own server nor trips tmux's nesting check.
func childEnv() []string {
	env := os.Environ()
	out := env[:0:0]
	for _, kv := range env {
		if strings.HasPrefix(kv, "TMUX=") || strings.HasPrefix(kv, "TMUX_PANE=") {
			continue
		}
		out = append(out, kv)
	}
	return out
}

func shorten(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// limitedBuffer keeps the first max bytes written to it.
type limitedBuffer struct {
	mu  sync.Mutex
	max int
	buf bytes.Buffer
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := b.max - b.buf.Len(); room > 0 {
		if len(p) > room {
			b.buf.Write(p[:room])
		} else {
			b.buf.Write(p)
		}
	}
	return len(p), nil
}

func (b *limitedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.TrimSpace(b.buf.String())
}
