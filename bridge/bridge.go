// Package bridge delivers messages from the bus into tmux panes: it discovers the sessions,
// windows and panes of one tmux server, consumes its host's messages with durable consumers
// (one per priority for all its sessions, one per priority for groups everywhere), queues
// them per pane by priority (critical overtakes, low is batched), types
// them over a tmux control-mode connection, presses Enter, verifies that the agent took the
// input, records an outcome per message and pane, and only then tells the server the message
// is done (bus.Delivery.Done).
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
	// Host is this tmux server's host token (subjects.SanitizeHost is applied), required:
	// the bridge consumes the messages of its sessions on this host, registers them under it,
	// and records it in receipts. The caller decides it (the CLI: --host, $TMUX_ORC_HOST,
	// else the host name); the bridge never reads the environment for it.
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
	// MaxWaiting bounds, per priority and consumer (the host's, the groups everywhere's),
	// the messages that wait unacknowledged for their pane to appear. Beyond it the oldest
	// waiting one is recorded undeliverable before its expiry, so that messages for panes
	// that do not exist never use up the consumer's bus.BridgeMaxAckPending and hold up the
	// messages for present panes. Zero: half of bus.BridgeMaxAckPending.
	MaxWaiting int
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

	// Runner, when set, stands in for the tmux server (the load test's simulated panes,
	// package internal/simtmux): the bridge lists, reads and types into panes through it,
	// with no control connection (discovery polls every Rescan), and Socket is not used.
	Runner tmux.Runner

	// bench holds the hooks of the benchmark that measures what the readiness check costs
	// (nil: none).
	bench *benchHooks
}

// DefaultConfig returns the defaults for the tmux server at sock on host.
func DefaultConfig(sock tmux.Socket, host string) Config {
	return Config{Socket: sock, Host: host, EnterDelay: 150 * time.Millisecond, VerifyDelay: 200 * time.Millisecond,
		EnterRetries: 3, LowBatch: 300 * time.Millisecond, Expiry: 10 * time.Minute, ReadyWait: 2 * time.Minute,
		MaxInline: DefaultMaxInline, Rescan: time.Second}
}

// Bridge is one tmux server's delivery agent.
type Bridge struct {
	cfg  Config
	log  *zap.Logger
	bus  *bus.Client
	conn *tmux.Client // the reconnecting control connection (Run runs it)
	inj  *Injector

	// routeMu serializes handing messages to writers (new ones, parked ones, and the pane
	// list they are resolved against), so each message is routed once and, within a
	// priority, in the order it was stored.
	routeMu sync.Mutex
	// closing is set by stop: no new writers are started, messages stay parked.
	closing bool

	mu       sync.Mutex
	panes    []tmux.Pane
	sessions map[string]bool // the sessions served (registered)
	// consumers stops the consumers of this host's sessions (nil until they run).
	consumers func()
	// everywhere stops the consumers of groups everywhere (nil until they run).
	everywhere func()
	// dups holds, per served session, the other hosts last seen registering it.
	dups    map[string]string
	writers map[string]*paneWriter
	waiting map[*tracked]bool
	// waitingBy counts the waiting messages per class (see Config.MaxWaiting).
	waitingBy map[waitClass]int
	inflight  map[*tracked]bool
	// claimTokens holds, per message id and pane, the token of a claim that failed: the
	// next claim of that message there reuses it (see claim).
	claimTokens map[string]string
	wg          sync.WaitGroup
	refresh     chan struct{}
}

// New creates a bridge; Run starts it.
func New(cfg Config, c *bus.Client, log *zap.Logger) *Bridge {
	if cfg.Host != "" {
		cfg.Host = subjects.SanitizeHost(cfg.Host)
	}
	if cfg.Tracker == nil {
		cfg.Tracker = agentstate.NewTracker()
	}
	if cfg.MaxWaiting <= 0 {
		cfg.MaxWaiting = max(1, bus.BridgeMaxAckPending/2)
	}
	conn := tmux.NewClient(cfg.Socket, tmux.ClientOptions{Options: tmux.Options{Logger: log.Named("tmux"), NoOutput: true}, MaxBackoff: cfg.Rescan})
	b := &Bridge{cfg: cfg, log: log, bus: c, conn: conn,
		sessions: map[string]bool{}, dups: map[string]string{}, writers: map[string]*paneWriter{}, waiting: map[*tracked]bool{}, waitingBy: map[waitClass]int{},
		inflight: map[*tracked]bool{}, claimTokens: map[string]string{}, refresh: make(chan struct{}, 1)}
	b.inj = NewInjector(cfg, b.runner, log)
	return b
}

// runner is the control connection when it is up, else a spawned tmux per command.
func (b *Bridge) runner() tmux.Runner {
	if b.cfg.Runner != nil {
		return b.cfg.Runner
	}
	return b.conn.Runner()
}

// Run delivers until ctx ends, then stops consuming and waits for the injections in progress.
func (b *Bridge) Run(ctx context.Context) error {
	if err := b.cfg.Socket.Validate(); err != nil && b.cfg.Runner == nil {
		return err
	}
	if b.cfg.Host == "" {
		return errors.New("bridge: no host (Config.Host)")
	}
	defer b.stop()
	b.log.Info("bridge starting", zap.String("host", b.cfg.Host), zap.String("socket", b.cfg.Socket.String()), zap.Stringer("enter_delay", b.cfg.EnterDelay),
		zap.Stringer("low_batch", b.cfg.LowBatch), zap.Stringer("expiry", b.cfg.Expiry), zap.Stringer("ready_wait", b.cfg.ReadyWait))
	stopServing, err := b.serve()
	if err != nil {
		return err
	}
	defer stopServing()
	b.wg.Add(2)
	go func() {
		defer b.wg.Done()
		b.heartbeat(ctx)
	}()
	go func() {
		defer b.wg.Done()
		b.removeSessionConsumers(ctx)
	}()
	if b.cfg.Runner != nil {
		b.poll(ctx)
		return nil
	}
	// The first pass uses the control connection when tmux runs (the socket was validated above).
	defer b.conn.Start(ctx)()
	b.watch(ctx)
	return nil
}

// watch rediscovers panes on tmux notifications, when the control connection comes back,
// and on a timer, until ctx ends. Without a control connection the panes are listed by
// spawning tmux, every Rescan.
func (b *Bridge) watch(ctx context.Context) {
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
		case n := <-b.conn.Notifications():
			switch n.Kind {
			case tmux.KindAttached, "sessions-changed", "session-changed", "session-renamed", "window-add", "window-close",
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

// poll rediscovers panes on a timer (and when asked), until ctx ends: for a Runner with no
// notifications.
func (b *Bridge) poll(ctx context.Context) {
	tick := time.NewTicker(b.cfg.Rescan)
	defer tick.Stop()
	b.discover(ctx)
	for {
		select {
		case <-ctx.Done():
			return
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
		if !b.sessions[s] {
			added = append(added, s)
			b.sessions[s] = true
		}
	}
	var gone []string
	for s := range b.sessions {
		if !now[s] {
			gone = append(gone, s)
			delete(b.sessions, s)
			b.log.Info("session gone", zap.String("session", s))
		}
	}
	b.mu.Unlock()
	// Messages parked for a session that is gone stay parked: they are routed when it comes
	// back (or expire), as they would be for a session that never existed.
	b.rerouteWaitingLocked(ctx)
	b.routeMu.Unlock()
	for _, s := range gone {
		if err := b.bus.UnregisterSession(ctx, b.cfg.Host, s); err != nil && ctx.Err() == nil {
			b.log.Warn("cannot remove a session from the registry", zap.String("session", s), zap.Error(err))
		}
	}
	slices.Sort(added)
	for _, s := range added {
		b.log.Info("serving session", zap.String("session", s), zap.String("host", b.cfg.Host))
		b.register(ctx, panes, s)
	}
	b.consumeHost(ctx)
	b.consumeEverywhere(ctx)
}

// consumeHost starts the consumers of this host's sessions, once; a failure is retried at
// the next discovery. They run whether or not tmux has sessions: a message for a session
// that does not exist yet waits in the bridge (up to Expiry) for it to appear.
func (b *Bridge) consumeHost(ctx context.Context) {
	b.mu.Lock()
	running := b.consumers != nil || b.closing
	b.mu.Unlock()
	if running {
		return
	}
	stop, err := b.bus.ConsumeHost(ctx, b.cfg.Host, time.Now().Add(-b.cfg.Expiry), func(d *bus.Delivery) {
		if d.Session == "" {
			// Not a subject the bus writes (orc.<p>.<host>.<session>...): no session to
			// look in, and never a group everywhere.
			b.log.Warn("dropping a message whose subject names no session", zap.String("id", d.Envelope.ID))
			_ = d.Term()
			return
		}
		b.accept(ctx, d.Session, d)
	}, func(p subjects.Priority) { b.consumerLost(ctx, false, p) })
	if err != nil {
		if ctx.Err() == nil {
			b.log.Warn("cannot consume this host's messages; retrying", zap.Error(err))
		}
		return
	}
	b.mu.Lock()
	b.consumers = stop
	b.mu.Unlock()
}

// removeSessionConsumers deletes the per-session consumers that older versions of the
// bridge created for this host (they would otherwise be kept, and stopped one by one with
// the server, for 7 days).
func (b *Bridge) removeSessionConsumers(ctx context.Context) {
	// About 10 ms a consumer: 2,000 (500 sessions) take 20 s, in the background.
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	n, err := b.bus.RemoveSessionConsumers(ctx, b.cfg.Host)
	if n > 0 {
		b.log.Info("deleted the per-session consumers of an older version", zap.Int("consumers", n))
	}
	if err != nil && ctx.Err() == nil {
		b.log.Warn("cannot delete the per-session consumers of an older version (bridge-<host>-<hash>); they expire after 7 days unused, or an admin deletes them",
			zap.Int("deleted", n), zap.Error(err))
	}
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
	stop, err := b.bus.ConsumeEverywhere(ctx, b.cfg.Host, time.Now().Add(-b.cfg.Expiry), func(d *bus.Delivery) { b.accept(ctx, "", d) },
		func(p subjects.Priority) { b.consumerLost(ctx, true, p) })
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
	for s := range b.sessions {
		served = append(served, s)
		delete(b.sessions, s)
	}
	if b.consumers != nil {
		stops = append(stops, b.consumers)
		b.consumers = nil
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
	// a NAK the server would hand them to the next bridge only after bus.AckWait (10 s);
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
		b.unparkLocked(t)
	}
}

// consumerLost alerts that one of the bridge's consumers (of this host's sessions, or of
// groups everywhere) had vanished and was created again (someone deleted it, or a store
// lost it), or had been changed and was set back. The alert goes to the management group of
// each session of this host that has one, else of the first session (where it is stored
// and read); no session: nobody to tell but the log.
func (b *Bridge) consumerLost(ctx context.Context, everywhere bool, p subjects.Priority) {
	what := "this host's sessions"
	if everywhere {
		what = "the messages for groups everywhere"
	}
	panes := b.snapshot()
	var sessions []string
	for _, pn := range panes {
		if !slices.Contains(sessions, pn.Session) {
			sessions = append(sessions, pn.Session)
		}
	}
	slices.Sort(sessions)
	var to []string
	for _, s := range sessions {
		if len(Resolve(panes, s, subjects.Address{Kind: subjects.KindGroup, Group: "management"})) > 0 {
			to = append(to, s)
		}
	}
	if len(to) == 0 && len(sessions) > 0 {
		to = sessions[:1]
	}
	for _, s := range to {
		b.consumerLostAlert(ctx, s, what, p)
	}
}

func (b *Bridge) consumerLostAlert(ctx context.Context, session, what string, p subjects.Priority) {
	target, err := subjects.GroupAddress("management", "")
	if err != nil {
		return
	}
	target.Host, target.Session = b.cfg.Host, session
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
