package tmux

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// Kinds of the notifications a Client adds to those of tmux (tmux's own names never start
// with "orc-").
const (
	// KindAttached says a control connection was attached, the first or a new one: what was
	// learnt without it, or over the previous one, may be stale.
	KindAttached = "orc-attached"
	// KindDetached says the control connection ended; commands spawn tmux until the next.
	KindDetached = "orc-detached"
)

// ClientOptions configure NewClient.
type ClientOptions struct {
	// Options are those of every Dial (Logger, Binary, NoOutput, ...). NotifyBuffer is also
	// the capacity of the Client's own Notifications channel.
	Options
	// MinBackoff and MaxBackoff bound the pause before dialling again: it starts at
	// MinBackoff after a failed dial and doubles up to MaxBackoff; an attach resets it. 0
	// means 100 ms and 5 s.
	MinBackoff, MaxBackoff time.Duration
}

// Client is a reconnecting control-mode client on one tmux server, for long-running users
// (the bridge, the monitor). Run keeps one Control attached while the server runs and dials
// again, with backoff, when it ends or no server is there. Its Notifications channel
// survives the reconnects, and Runner gives the control connection when it is up, else a
// spawned tmux per command (Exec), so that callers work the same with or without it.
type Client struct {
	sock     Socket
	opts     ClientOptions
	log      *zap.Logger
	exec     *Exec
	notify   chan Notification
	dropped  atomic.Uint64
	attaches atomic.Uint64
	tried    chan struct{} // closed once the first dial returned
	tryOnce  sync.Once

	mu   sync.Mutex
	ctrl *Control
}

// NewClient returns a client for the server at sock; Run attaches it.
func NewClient(sock Socket, opts ClientOptions) *Client {
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = 100 * time.Millisecond
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 5 * time.Second
	}
	opts.MaxBackoff = max(opts.MaxBackoff, opts.MinBackoff)
	n := opts.NotifyBuffer
	if n <= 0 {
		n = 4096
	}
	return &Client{sock: sock, opts: opts, log: opts.Logger,
		exec:   &Exec{Socket: sock, Binary: opts.Binary, Logger: opts.Logger},
		notify: make(chan Notification, n), tried: make(chan struct{})}
}

// Tried returns a channel closed once Run's first dial returned, attached or not (or Run
// ended before one): a caller that waits for it before its first command uses the control
// connection from the start when tmux runs.
func (c *Client) Tried() <-chan struct{} { return c.tried }

// Socket returns the socket of the server.
func (c *Client) Socket() Socket { return c.sock }

// Run keeps a control connection attached until ctx ends, then closes it and returns nil
// (an error only for an invalid socket). Failed dials are retried after a backoff; the
// first failure of a streak is logged as a warning, unless no server or no session is
// there, which is normal before tmux starts. Call Run once.
func (c *Client) Run(ctx context.Context) error {
	defer c.tryOnce.Do(func() { close(c.tried) }) // ended before a first dial
	if err := c.sock.Validate(); err != nil {
		return err
	}
	var backoff time.Duration
	warned := false
	for ctx.Err() == nil {
		ctrl, err := Dial(ctx, c.sock, c.opts.Options)
		if err != nil {
			c.tryOnce.Do(func() { close(c.tried) })
			if ctx.Err() != nil {
				break
			}
			quiet := errors.Is(err, ErrNoServer) || errors.Is(err, ErrNoSessions)
			if !quiet && !warned {
				c.log.Warn("cannot attach to tmux; retrying (commands spawn tmux meanwhile)", zap.Error(err))
				warned = true
			} else {
				c.log.Debug("cannot attach to tmux; retrying", zap.Error(err))
			}
			backoff = min(max(2*backoff, c.opts.MinBackoff), c.opts.MaxBackoff)
			t := time.NewTimer(backoff)
			select {
			case <-ctx.Done():
			case <-t.C:
			}
			t.Stop()
			continue
		}
		backoff, warned = 0, false
		c.mu.Lock()
		c.ctrl = ctrl
		c.mu.Unlock()
		c.tryOnce.Do(func() { close(c.tried) })
		c.attaches.Add(1)
		c.log.Info("attached to tmux", zap.Stringer("socket", c.sock))
		c.emit(Notification{Kind: KindAttached})
		c.forward(ctx, ctrl)
		c.mu.Lock()
		c.ctrl = nil
		c.mu.Unlock()
		_ = ctrl.Close()
		if ctx.Err() == nil {
			c.log.Info("tmux control connection ended", zap.Error(ctrl.Err()))
			c.emit(Notification{Kind: KindDetached})
		}
	}
	return nil
}

// forward copies the notifications of ctrl into the client's channel until ctrl ends or
// ctx does.
func (c *Client) forward(ctx context.Context, ctrl *Control) {
	notes := ctrl.Notifications()
	for {
		select {
		case <-ctx.Done():
			return
		case n, ok := <-notes:
			if !ok {
				return
			}
			c.emit(n)
		}
	}
}

// emit hands n on without blocking; a full channel drops it (counted by Dropped).
func (c *Client) emit(n Notification) {
	select {
	case c.notify <- n:
	default:
		if c.dropped.Add(1) == 1 {
			c.log.Warn("tmux notifications dropped: the reader falls behind")
		}
	}
}

// Notifications returns the notifications of every control connection in turn, with
// KindAttached and KindDetached between them. The channel is never closed; it is buffered
// (Options.NotifyBuffer) and a notification that finds it full is dropped (see Dropped).
func (c *Client) Notifications() <-chan Notification { return c.notify }

// Dropped returns how many notifications were dropped because Notifications was full.
func (c *Client) Dropped() uint64 { return c.dropped.Load() }

// Attaches returns how many control connections were attached so far.
func (c *Client) Attaches() uint64 { return c.attaches.Load() }

// Start runs Run in the background and waits for its first dial (or ctx's end), so that the
// caller's first command uses the control connection from the start when tmux runs. stop
// ends Run and waits for it; call it once.
func (c *Client) Start(ctx context.Context) (stop func()) {
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = c.Run(rctx) // an invalid socket is the caller's to refuse before
	}()
	select {
	case <-c.Tried():
	case <-ctx.Done():
	}
	return func() { cancel(); <-done }
}

// Runner returns the control connection while it is up, else a Runner that spawns tmux for
// each command. Ask again for each command sequence: the connection may come and go.
func (c *Client) Runner() Runner {
	c.mu.Lock()
	ctrl := c.ctrl
	c.mu.Unlock()
	if ctrl != nil {
		select {
		case <-ctrl.Done():
		default:
			return ctrl
		}
	}
	return c.exec
}

// Attached reports whether a control connection is up.
func (c *Client) Attached() bool {
	_, ok := c.Runner().(*Control)
	return ok
}
