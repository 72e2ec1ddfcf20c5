// Package bridge delivers messages from the bus into tmux panes: it discovers the sessions,
// windows and panes of one tmux server, consumes each session's messages with durable
// consumers, queues them per pane by priority (critical overtakes, low is batched), types
// them over a tmux control-mode connection, presses Enter, verifies that the agent took the
// input, records an outcome per message and pane, and only then acknowledges the message.
// It talks to the bus only through package bus and to tmux only through package tmux.
package bridge

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/internal/agentstate"
	"github.com/tmux-orc/tmux-orc/subjects"
	"github.com/tmux-orc/tmux-orc/tmux"
)

// Config tunes the bridge. Zero values take the defaults of DefaultConfig.
type Config struct {
	// Socket selects the tmux server.
	Socket tmux.Socket
	// Host is this tmux server's host token (subjects.SanitizeHost is applied): the bridge
	// consumes the messages of its sessions on this host, registers them under it, and records
	// it in receipts.
	Host string
	// EnterDelay separates the text from the Enter key; agents treat an Enter that
	// arrives with a burst of typed text as a newline.
	EnterDelay time.Duration
	// VerifyDelay is how long after Enter the screen may take to show the input taken.
	VerifyDelay time.Duration
	// EnterRetries is how many more times Enter is pressed when the text is still there.
	EnterRetries int
	// LowBatch is the window in which low-priority messages for a pane become one injection.
	LowBatch time.Duration
	// Expiry is how long a message waits for its target to appear.
	Expiry time.Duration
	// ReadyWait is how long a message waits for its pane to be ready (a dialog or menu open,
	// a person's draft in the input box or scrolling in copy mode, the agent starting up or
	// busy in a turn) before it is recorded undeliverable. A pane that runs a shell gets
	// ShellWait, a dead pane nothing.
	ReadyWait time.Duration
	// MaxInline bounds the typed text per message, in bytes.
	MaxInline int
	// Rescan is the period of the discovery poll (tmux notifications trigger it sooner).
	Rescan time.Duration
	// Observer, when set, is told of every outcome and alert (for metrics).
	Observer Observer
	// Tracker holds the agents' hook state; one per process, shared with the monitor. Nil:
	// the bridge makes its own. The bridge feeds it the hook events of its host.
	Tracker *agentstate.Tracker

	// bench holds the hooks of the benchmark that measures what the readiness check costs
	// (nil: none).
	bench *benchHooks
}

// DefaultConfig returns the defaults.
func DefaultConfig(sock tmux.Socket) Config {
	return Config{Socket: sock, Host: subjects.LocalHost(), EnterDelay: 150 * time.Millisecond, VerifyDelay: 200 * time.Millisecond,
		EnterRetries: 3, LowBatch: 300 * time.Millisecond, Expiry: 10 * time.Minute, ReadyWait: 2 * time.Minute,
		MaxInline: DefaultMaxInline, Rescan: time.Second}
}

// Bridge is one tmux server's delivery agent.
type Bridge struct {
	cfg  Config
	log  *zap.Logger
	bus  *bus.Client
	exec *tmux.Exec
	inj  *Injector

	// routeMu serializes handing messages to writers (new ones, parked ones, and the pane
	// list they are resolved against), so each message is routed once and, within a
	// priority, in the order it was stored.
	routeMu sync.Mutex
	// closing is set by stop: no new writers are started, messages stay parked.
	closing bool

	mu       sync.Mutex
	ctrl     *tmux.Control
	panes    []tmux.Pane
	sessions map[string]func() // session -> stop its consumers
	// everywhere stops the consumers of groups everywhere (nil until they run).
	everywhere func()
	// dups holds, per served session, the other hosts last seen registering it.
	dups     map[string]string
	writers  map[string]*paneWriter
	waiting  map[*tracked]bool
	inflight map[*tracked]bool
	wg       sync.WaitGroup
	refresh  chan struct{}
}

// New creates a bridge; Run starts it.
func New(cfg Config, c *bus.Client, log *zap.Logger) *Bridge {
	if cfg.Host == "" {
		cfg.Host = subjects.LocalHost()
	}
	cfg.Host = subjects.SanitizeHost(cfg.Host)
	if cfg.Tracker == nil {
		cfg.Tracker = agentstate.NewTracker()
	}
	b := &Bridge{cfg: cfg, log: log, bus: c, exec: &tmux.Exec{Socket: cfg.Socket, Logger: log},
		sessions: map[string]func(){}, dups: map[string]string{}, writers: map[string]*paneWriter{}, waiting: map[*tracked]bool{},
		inflight: map[*tracked]bool{}, refresh: make(chan struct{}, 1)}
	b.inj = NewInjector(cfg, b.runner, log)
	return b
}

// runner is the control connection when it is up, else a spawned tmux per command.
func (b *Bridge) runner() tmux.Runner {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ctrl != nil {
		select {
		case <-b.ctrl.Done():
		default:
			return b.ctrl
		}
	}
	return b.exec
}

// Run delivers until ctx ends, then stops consuming and waits for the injections in progress.
func (b *Bridge) Run(ctx context.Context) error {
	if err := b.cfg.Socket.Validate(); err != nil {
		return err
	}
	defer b.stop()
	b.bus.OnConsumerLost(func(session string, p subjects.Priority) { b.consumerLost(ctx, session, p) })
	b.log.Info("bridge starting", zap.String("host", b.cfg.Host), zap.String("socket", b.cfg.Socket.String()), zap.Stringer("enter_delay", b.cfg.EnterDelay),
		zap.Stringer("low_batch", b.cfg.LowBatch), zap.Stringer("expiry", b.cfg.Expiry), zap.Stringer("ready_wait", b.cfg.ReadyWait))
	stopServing, err := b.serve()
	if err != nil {
		return err
	}
	defer stopServing()
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		b.heartbeat(ctx)
	}()
	for ctx.Err() == nil {
		ctrl, err := tmux.Dial(ctx, b.cfg.Socket, tmux.Options{Logger: b.log.Named("tmux"), NoOutput: true})
		if err != nil {
			if !errors.Is(err, tmux.ErrNoServer) && !errors.Is(err, tmux.ErrNoSessions) && ctx.Err() == nil {
				b.log.Warn("cannot attach to tmux; retrying", zap.Error(err))
			}
			b.discover(ctx)
			sleep(ctx, b.cfg.Rescan)
			continue
		}
		b.mu.Lock()
		b.ctrl = ctrl
		b.mu.Unlock()
		b.log.Info("attached to tmux", zap.String("socket", b.cfg.Socket.String()))
		b.watch(ctx, ctrl)
		b.mu.Lock()
		b.ctrl = nil
		b.mu.Unlock()
		_ = ctrl.Close()
	}
	return nil
}

// watch rediscovers panes on tmux notifications and on a timer, until the control
// connection ends or ctx does.
func (b *Bridge) watch(ctx context.Context, ctrl *tmux.Control) {
	tick := time.NewTicker(b.cfg.Rescan)
	defer tick.Stop()
	b.discover(ctx)
	// Notifications come in bursts (a new window brings several); they schedule one
	// rediscovery shortly after, instead of one each.
	var soon <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-ctrl.Done():
			b.log.Info("tmux control connection ended", zap.Error(ctrl.Err()))
			return
		case n := <-ctrl.Notifications():
			switch n.Kind {
			case "sessions-changed", "session-changed", "session-renamed", "window-add", "window-close",
				"unlinked-window-add", "unlinked-window-close", "window-renamed", "layout-change":
				if soon == nil {
					soon = time.After(discoverDebounce)
				}
			}
		case <-soon:
			soon = nil
			b.discover(ctx)
		case <-b.refresh:
			b.discover(ctx)
		case <-tick.C:
			b.discover(ctx)
		}
	}
}

// discoverDebounce is how long a burst of tmux notifications may last before the panes are
// listed again.
const discoverDebounce = 20 * time.Millisecond

// discover lists the panes, starts and stops session consumers, and routes messages that
// were waiting for their target.
func (b *Bridge) discover(ctx context.Context) {
	panes, err := tmux.ListPanes(ctx, b.runner())
	if err != nil {
		if !errors.Is(err, tmux.ErrNoServer) && !errors.Is(err, tmux.ErrNoSessions) {
			// A failed listing says nothing about the panes: keep the last snapshot
			// rather than take every session for gone.
			b.log.Warn("listing panes failed; keeping the last known panes", zap.Error(err))
			return
		}
		panes = nil
	}
	now := map[string]bool{}
	for _, p := range panes {
		now[p.Session] = true
	}
	// New panes and the messages parked for them are taken together: a message consumed
	// meanwhile must not reach a new pane before older parked ones.
	b.routeMu.Lock()
	b.mu.Lock()
	b.panes = panes
	var added []string
	for s := range now {
		if _, ok := b.sessions[s]; !ok {
			added = append(added, s)
		}
	}
	var stops []func()
	gone := map[string]bool{}
	for s, stop := range b.sessions {
		if !now[s] {
			stops = append(stops, stop)
			delete(b.sessions, s)
			gone[s] = true
			b.log.Info("session gone", zap.String("session", s))
		}
	}
	b.mu.Unlock()
	b.rerouteWaitingLocked(ctx)
	b.routeMu.Unlock()
	for s := range gone {
		if err := b.bus.UnregisterSession(ctx, b.cfg.Host, s); err != nil && ctx.Err() == nil {
			b.log.Warn("cannot remove a session from the registry", zap.String("session", s), zap.Error(err))
		}
	}
	if len(stops) > 0 {
		// Outside the locks: a stop waits for the consumer's callback (accept) to return.
		for _, stop := range stops {
			stop()
		}
		b.routeMu.Lock()
		b.mu.Lock()
		var ts []*tracked
		for t := range b.waiting {
			if gone[t.session] {
				ts = append(ts, t)
			}
		}
		b.nakLocked(ts) // redelivered when the session is back
		b.mu.Unlock()
		b.routeMu.Unlock()
	}
	for _, s := range added {
		s := s
		stop, err := b.bus.ConsumeSession(ctx, b.cfg.Host, s, time.Now().Add(-b.cfg.Expiry), func(d *bus.Delivery) { b.accept(ctx, s, d) })
		if err != nil {
			if ctx.Err() == nil {
				b.log.Warn("cannot consume session; retrying", zap.String("session", s), zap.Error(err))
			}
			continue
		}
		b.mu.Lock()
		b.sessions[s] = stop
		b.mu.Unlock()
		b.log.Info("serving session", zap.String("session", s), zap.String("host", b.cfg.Host))
		b.register(ctx, panes, s)
	}
	b.consumeEverywhere(ctx)
}

// consumeEverywhere starts the consumers of the messages for groups everywhere, once; a
// failure is retried at the next discovery.
func (b *Bridge) consumeEverywhere(ctx context.Context) {
	b.mu.Lock()
	running := b.everywhere != nil || b.closing
	b.mu.Unlock()
	if running {
		return
	}
	stop, err := b.bus.ConsumeEverywhere(ctx, b.cfg.Host, time.Now().Add(-b.cfg.Expiry), func(d *bus.Delivery) { b.accept(ctx, "", d) })
	if err != nil {
		if ctx.Err() == nil {
			b.log.Warn("cannot consume the messages for groups everywhere; retrying", zap.Error(err))
		}
		return
	}
	b.mu.Lock()
	b.everywhere = stop
	b.mu.Unlock()
}

// register puts session (with its window and pane counts) in the session registry under
// this bridge's host, and warns when another host registered the same session name.
func (b *Bridge) register(ctx context.Context, panes []tmux.Pane, session string) {
	e := bus.SessionEntry{Host: b.cfg.Host, Session: session}
	windows := map[int]bool{}
	for _, p := range panes {
		if p.Session == session {
			e.Panes++
			windows[p.WindowIndex] = true
		}
	}
	e.Windows = len(windows)
	if err := b.bus.RegisterSession(ctx, e); err != nil {
		if ctx.Err() == nil {
			b.log.Warn("cannot register a session", zap.String("session", session), zap.Error(err))
		}
		return
	}
	entries, err := b.bus.SessionHosts(ctx, session)
	if err != nil {
		return
	}
	var others []string
	for _, e := range entries {
		if e.Host != b.cfg.Host {
			others = append(others, e.Host)
		}
	}
	key := strings.Join(others, ",")
	b.mu.Lock()
	changed := b.dups[session] != key
	b.dups[session] = key
	b.mu.Unlock()
	if changed && len(others) > 0 {
		b.log.Warn("a session of this host has the same name as a session of another host: targets without a host are refused for it",
			zap.String("session", session), zap.String("host", b.cfg.Host), zap.Strings("other_hosts", others),
			zap.String("name_one_as", b.cfg.Host+"."+session))
	}
}

// registerAll refreshes the registry entries of every served session.
func (b *Bridge) registerAll(ctx context.Context) {
	panes := b.snapshot()
	b.mu.Lock()
	var served []string
	for s := range b.sessions {
		served = append(served, s)
	}
	b.mu.Unlock()
	for _, s := range served {
		b.register(ctx, panes, s)
	}
}

func (b *Bridge) heartbeat(ctx context.Context) {
	tick := time.NewTicker(bus.AckWait / 3)
	defer tick.Stop()
	expire := time.NewTicker(time.Second)
	defer expire.Stop()
	refresh := time.NewTicker(bus.SessionRefresh)
	defer refresh.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-refresh.C:
			b.registerAll(ctx)
		case <-tick.C:
			b.mu.Lock()
			for t := range b.inflight {
				_ = t.d.InProgress()
			}
			b.mu.Unlock()
		case <-expire.C:
			b.rerouteWaiting(ctx)
		}
	}
}

func (b *Bridge) snapshot() []tmux.Pane {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.panes
}

func (b *Bridge) pane(id string) (tmux.Pane, bool) {
	for _, p := range b.snapshot() {
		if p.ID == id {
			return p, true
		}
	}
	return tmux.Pane{}, false
}

func (b *Bridge) stop() {
	b.mu.Lock()
	b.closing = true
	var stops []func()
	var served []string
	for s, stop := range b.sessions {
		stops = append(stops, stop)
		served = append(served, s)
		delete(b.sessions, s)
	}
	if b.everywhere != nil {
		stops = append(stops, b.everywhere)
		b.everywhere = nil
	}
	for _, w := range b.writers {
		w.close()
	}
	b.mu.Unlock()
	// Outside the lock: a stop waits for the consumer's callback (accept) to return.
	for _, stop := range stops {
		stop()
	}
	// A clean stop takes this host's sessions out of the registry at once (a killed bridge's
	// entries expire after bus.SessionTTL).
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	for _, s := range served {
		if err := b.bus.UnregisterSession(ctx, b.cfg.Host, s); err != nil {
			b.log.Warn("cannot remove a session from the registry", zap.String("session", s), zap.Error(err))
		}
	}
	cancel()
	b.wg.Wait()
	b.releaseClaims()
	// Messages still waiting for their pane or queued in a writer have no outcome yet. Without
	// a NAK the server would hand them to the next bridge only after the ack wait (a minute);
	// panes that already have an outcome are skipped on redelivery thanks to the claims.
	b.mu.Lock()
	var ts []*tracked
	for t := range b.inflight {
		ts = append(ts, t)
	}
	b.nakLocked(ts)
	b.mu.Unlock()
}

// releaseClaims gives back the claims this bridge holds on queued messages it has not typed
// (the pane stopped being ready between the claim and the typing), so that the next bridge
// claims and types them instead of taking them for typed by a bridge that was stopped.
func (b *Bridge) releaseClaims() {
	b.mu.Lock()
	type held struct {
		it   *item
		pane string
	}
	var its []held
	for id, w := range b.writers {
		for _, it := range w.queued() {
			if it.claimed {
				its = append(its, held{it, id})
			}
		}
	}
	b.mu.Unlock()
	if len(its) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, h := range its {
		e := h.it.t.env()
		if err := b.bus.Release(ctx, e.Message.Priority, e.ID, b.cfg.Host, h.pane); err != nil {
			b.log.Warn("giving back a claim failed: the next bridge will not type this message", zap.String("id", e.ID), zap.Error(err))
		}
	}
}

// nakLocked gives messages back to the server for immediate redelivery, oldest first (the
// server redelivers in the order of the NAKs), and forgets them; the caller holds mu.
func (b *Bridge) nakLocked(ts []*tracked) {
	slices.SortFunc(ts, byStored)
	for _, t := range ts {
		_ = t.d.Nak()
		delete(b.inflight, t)
		delete(b.waiting, t)
	}
}

// consumerLost alerts the management group of the session (of one session, for the
// consumers of groups everywhere: on this host) that one of the bridge's consumers had
// vanished and was created again (someone deleted it, or a store lost it), or had been
// changed and was set back.
func (b *Bridge) consumerLost(ctx context.Context, session string, p subjects.Priority) {
	target, err := subjects.GroupAddress("management", "")
	if err != nil {
		return
	}
	what := "the messages for groups everywhere"
	if session != "" {
		target.Host, target.Session = b.cfg.Host, session
		what = "session " + session
	} else {
		sessions := map[string]bool{}
		for _, pn := range b.snapshot() {
			sessions[pn.Session] = true
		}
		if len(sessions) == 0 {
			return
		}
		for s := range sessions {
			target.Host, target.Session = b.cfg.Host, s
			break
		}
	}
	now := time.Now()
	body := fmt.Sprintf("The bridge of host %s found its %s consumer for %s deleted or changed by someone else and set it right; messages stored meanwhile are delivered now", b.cfg.Host, p, what)
	env := &subjects.Envelope{ID: subjects.NewID(now), Timestamp: now.UTC(),
		Source: subjects.Source{Type: "bridge", Identifier: "bridge@" + b.cfg.Host, Host: b.cfg.Host}, Target: target,
		Message: subjects.Message{Type: "alert", Category: "delivery", Priority: subjects.High,
			Content: subjects.Content{Subject: subjects.SubjectLine(body), Body: body}},
		Metadata: subjects.Metadata{RequiresAck: true, Tags: []string{AlertTag, "consumer-lost"}}}
	if _, err := b.bus.Publish(ctx, env); err != nil {
		b.log.Error("publishing a consumer-lost alert failed", zap.Error(err))
		return
	}
	b.observer().Alert()
}
