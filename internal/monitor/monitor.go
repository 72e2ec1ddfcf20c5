package monitor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/internal/agentstate"
	"github.com/tmux-orc/tmux-orc/subjects"
	"github.com/tmux-orc/tmux-orc/tmux"
)

// Monitor watches the panes of one tmux server. Run starts it; Status and Restart may be
// called at any time.
type Monitor struct {
	cfg   Config
	log   *zap.Logger
	bus   *bus.Client
	conn  *tmux.Client // the reconnecting control connection (Run runs it)
	store *stateStore  // nil: the monitor's view is not kept across restarts
	wake  chan struct{}

	mu     sync.Mutex
	agents map[string]*agent // by pane id
	edges  map[edgeKey]*edge
	last   map[string]LastAlert // last alert per pane id or session
	// troubled marks sessions with a crashed or stuck agent at the last pass.
	troubled map[string]bool
	passes   uint64
	reads    uint64
	// look names the panes to read at the next pass although tmux reported no output for
	// them (a hook event came, a subscription changed).
	look map[string]bool
	// full asks for a full listing of the panes at the next pass (a window or session came
	// or went); fullAt is when the last one was made.
	full   bool
	fullAt time.Time
	// listedSec is the second of the last activity listing: output in that second may have
	// come after the listing, so such panes are read once more at the next pass.
	listedSec int64
	passAt    time.Time // when the current pass listed the panes
	turns     *turnNotices
}

// FullListEvery is how often the monitor lists every field of every pane (names, roles,
// commands) even when tmux reported nothing: between two, a pane is read only when its
// window had output, its pid or dead flag changed, or a hook or notification says so.
const FullListEvery = 30 * time.Second

// New creates a monitor that publishes with c.
func New(cfg Config, c *bus.Client, log *zap.Logger) *Monitor {
	// No refresh-client -B subscription on the control connection: it covers only the
	// attached session's panes, costs tmux a pane_current_command per pane each second, and
	// the activity listing sees a dead pane (pane_dead) or a program gone back to its shell
	// (the prompt is output) as fast.
	m := &Monitor{cfg: cfg, log: log, bus: c,
		conn: tmux.NewClient(cfg.Socket, tmux.ClientOptions{Options: tmux.Options{Logger: log.Named("tmux"), NoOutput: true},
			MinBackoff: minBackoff, MaxBackoff: maxBackoff}),
		wake:   make(chan struct{}, 1),
		agents: map[string]*agent{}, edges: map[edgeKey]*edge{}, last: map[string]LastAlert{}, troubled: map[string]bool{},
		look: map[string]bool{}, full: true}
	m.turns = newTurnNotices(m)
	return m
}

// runner is the control connection when it is up, else a spawned tmux per command.
func (m *Monitor) runner() tmux.Runner { return m.conn.Runner() }

// poke makes the monitor run a pass now instead of at the next tick.
func (m *Monitor) poke() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// Backoff bounds while no tmux server runs: the monitor retries after 100 ms, doubling up to
// 5 s, instead of spinning.
const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 5 * time.Second
)

// Run watches until ctx ends. It keeps one tmux control connection (a tmux.Client, dialled
// again with backoff when it ends), and answers status and restart requests on the bus. With a bus it loads its view of
// the agents from the store first and keeps it there.
func (m *Monitor) Run(ctx context.Context) error {
	if err := m.cfg.Validate(); err != nil {
		return err
	}
	if m.bus != nil {
		m.store = m.openStore(ctx)
	}
	stop, err := m.serve()
	if err != nil {
		return err
	}
	defer stop()
	defer m.turns.stop()
	m.log.Info("monitor starting", zap.String("socket", m.cfg.Socket.String()), zap.Stringer("poll", m.cfg.Poll),
		zap.Stringer("idle_after", m.cfg.IdleAfter), zap.Stringer("stuck_after", m.cfg.StuckAfter),
		zap.Bool("auto_restart", m.cfg.AutoRestart), zap.Bool("turn_finished", m.cfg.TurnFinished))
	// The first pass uses the control connection when tmux runs (the socket was validated above).
	defer m.conn.Start(ctx)()
	tick := time.NewTicker(m.cfg.Poll)
	defer tick.Stop()
	var backoff time.Duration
	for ctx.Err() == nil {
		if err := m.pass(ctx); errors.Is(err, errNoServer) {
			backoff = min(max(2*backoff, minBackoff), maxBackoff)
			select {
			case <-ctx.Done():
			case <-time.After(backoff):
			}
			continue
		}
		backoff = 0
		m.wait(ctx, tick.C)
	}
	m.saveAll(ctx, true) // what only the screen times changed in, too
	return nil
}

// errNoServer is what a pass returns when no tmux server (or no session) is there.
var errNoServer = errors.New("no tmux server")

// triggers are the tmux notifications after which the monitor lists every pane at once
// instead of at the next poll: panes and windows closing or appearing, sessions changing.
var triggers = map[string]bool{"window-close": true, "unlinked-window-close": true,
	"window-add": true, "unlinked-window-add": true, "sessions-changed": true}

// wait returns at the next poll tick, shortly after a tmux notification that something
// changed, when the control connection came or went, or when poked (a hook event).
// Event-driven where tmux allows it; the poll is the fallback.
func (m *Monitor) wait(ctx context.Context, tick <-chan time.Time) {
	notes := m.conn.Notifications()
	note := func(n tmux.Notification) {
		switch {
		case triggers[n.Kind] || n.Kind == tmux.KindAttached:
			m.mu.Lock()
			m.full = true
			m.mu.Unlock()
		case n.Kind == "subscription-changed" || n.Kind == "pane-mode-changed":
			if n.PaneID != "" {
				m.mu.Lock()
				m.look[n.PaneID] = true
				m.mu.Unlock()
			}
		}
	}
	settle := func() {
		// Notifications come in bursts (a closing window brings several; a new control
		// connection one per pane): take the whole burst into one pass.
		t := time.NewTimer(20 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				return
			case n, ok := <-notes:
				if !ok {
					return
				}
				note(n)
			}
		}
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
			return
		case <-m.wake:
			return
		case n := <-notes:
			if n.Kind == tmux.KindDetached {
				return
			}
			if triggers[n.Kind] || n.Kind == tmux.KindAttached || n.Kind == "subscription-changed" || n.Kind == "pane-mode-changed" {
				note(n)
				settle()
				return
			}
		}
	}
}

// sighting is what one pass learnt about one pane: its fields, and its screen when it was
// read (nil: unchanged, dead, or the capture failed).
type sighting struct {
	pane     tmux.Pane
	activity int64
	screen   []string
}

// survey lists the panes cheaply (ListActivity) and reads in full only those that may have
// changed: output in their window since the last look, a new pid or dead flag, a pane not
// seen before, or one named in m.look. Every FullListEvery, or after a window or session
// came or went, it lists every field of every pane instead.
func (m *Monitor) survey(ctx context.Context, r tmux.Runner) ([]sighting, error) {
	m.mu.Lock()
	m.passAt = m.cfg.now()
	m.mu.Unlock()
	acts, err := tmux.ListActivity(ctx, r)
	listed := time.Now().Unix()
	if err != nil {
		if errors.Is(err, tmux.ErrNoServer) || errors.Is(err, tmux.ErrNoSessions) {
			return nil, errNoServer
		}
		return nil, err
	}
	m.mu.Lock()
	full := m.full || time.Since(m.fullAt) >= FullListEvery
	prevSec := m.listedSec
	m.listedSec = listed
	look := m.look
	m.look = map[string]bool{}
	type known struct {
		pane     tmux.Pane
		activity int64
	}
	have := make(map[string]known, len(m.agents))
	for id, a := range m.agents {
		if !a.gone {
			have[id] = known{a.pane, a.activity}
		}
	}
	m.mu.Unlock()
	var all map[string]tmux.Pane
	if !full {
		for _, pa := range acts {
			if _, ok := have[pa.ID]; !ok {
				full = true // a pane we have not seen: list its names and role with the rest
				break
			}
		}
	}
	if full {
		panes, err := tmux.ListPanes(ctx, r)
		if err != nil {
			if errors.Is(err, tmux.ErrNoServer) || errors.Is(err, tmux.ErrNoSessions) {
				return nil, errNoServer
			}
			return nil, err
		}
		all = make(map[string]tmux.Pane, len(panes))
		for _, p := range panes {
			all[p.ID] = p
		}
		m.mu.Lock()
		m.full, m.fullAt = false, time.Now()
		m.mu.Unlock()
	}
	out := make([]sighting, 0, len(acts))
	for _, pa := range acts {
		k, ok := have[pa.ID]
		changed := !ok || pa.Activity != k.activity || pa.Activity >= prevSec || pa.Dead != k.pane.Dead ||
			pa.PID != k.pane.PID || look[pa.ID]
		var s sighting
		switch p, listed := all[pa.ID]; {
		case listed:
			s.pane = p
		case changed:
			p, err := tmux.PaneInfo(ctx, r, pa.ID)
			if err != nil {
				continue // gone since the listing: the next pass says so
			}
			s.pane = p
		default:
			s.pane = k.pane
		}
		s.pane.Dead, s.pane.PID = pa.Dead, pa.PID
		s.activity = pa.Activity
		if changed && !s.pane.Dead && !isNone(s.pane) {
			lines, err := tmux.CapturePane(ctx, r, pa.ID)
			if err != nil {
				m.log.Debug("capture failed", zap.String("pane", pa.ID), zap.Error(err))
			} else {
				s.screen = lines
				m.mu.Lock()
				m.reads++
				m.mu.Unlock()
			}
		}
		out = append(out, s)
	}
	return out, nil
}

// pass surveys the panes, updates the states and publishes what changed.
func (m *Monitor) pass(ctx context.Context) error {
	r := m.runner()
	seenPanes, err := m.survey(ctx, r)
	if err != nil && !errors.Is(err, errNoServer) {
		m.log.Warn("listing panes failed; skipping this pass", zap.Error(err))
		return err
	}
	var fresh []string
	m.mu.Lock()
	for _, s := range seenPanes {
		if a, ok := m.agents[s.pane.ID]; !isNone(s.pane) && (!ok || a.gone) {
			fresh = append(fresh, s.pane.ID)
		}
	}
	m.mu.Unlock()
	starts := map[string]string{}
	for _, id := range fresh {
		if v, err := r.Run(ctx, tmux.Cmd{"display-message", "-p", "-t", id, "#{pane_start_command}"}); err == nil {
			starts[id] = strings.Join(v, "\n")
		}
	}
	// The pass's time is that of its listing: passes are a poll apart however long their
	// reads take, so a threshold is met at the pass it falls on, not one poll later.
	m.mu.Lock()
	now := m.passAt
	m.mu.Unlock()
	if now.IsZero() {
		now = m.cfg.now()
	}
	var out []pending
	var crashed []*agent
	m.mu.Lock()
	m.passes++
	seen := map[string]bool{}
	live := map[string]bool{}
	for _, s := range seenPanes {
		p := s.pane
		live[p.Session] = true
		if isNone(p) {
			continue
		}
		seen[p.ID] = true
		a, ok := m.agents[p.ID]
		if !ok || a.gone {
			// A new pane, or a new one with the id of a pane gone before (a new tmux server).
			if ok {
				m.forget(p.ID)
			}
			a = &agent{pm: isPM(p), profile: ProfileFor(p.Command), startCmd: starts[p.ID]}
			m.agents[p.ID] = a
			m.log.Info("watching pane", zap.String("pane", p.ID), zap.String("target", agentstate.PaneTarget(p)),
				zap.String("role", roleName(p)), zap.String("command", p.Command))
		}
		a.pm = isPM(p)
		a.activity = s.activity
		prev, prevPID, prevDead := a.state, a.pane.PID, a.pane.Dead
		a.observe(now, p, s.screen, &m.cfg) // nil screen: unchanged, dead, or the capture failed
		if s.screen != nil || a.state != prev || p.PID != prevPID || p.Dead != prevDead {
			m.dirty(p.ID)
		}
		if a.state != prev && prev != "" {
			m.log.Info("state", zap.String("pane", p.ID), zap.String("target", agentstate.PaneTarget(p)),
				zap.String("from", string(prev)), zap.String("to", string(a.state)))
		}
		out = append(out, m.conditions(now, a)...)
		if a.state == Crashed {
			crashed = append(crashed, a)
		}
	}
	for id, a := range m.agents {
		if seen[id] {
			continue
		}
		if !a.gone {
			m.log.Info("pane gone", zap.String("pane", id), zap.String("target", agentstate.PaneTarget(a.pane)))
			a.gone, a.state, a.since = true, Gone, now
			// Without remain-on-exit a crashed agent's pane simply disappears: that is a
			// crash too, unless its whole session went (someone ended it) or it was already
			// reported crashed.
			if e := m.edges[edgeKey{id, CondCrash}]; live[a.pane.Session] && (e == nil || !e.announced) {
				a.goneAlert = true
			}
		}
		// The agent is kept until its gone alert went out and, when it needs an ack, was
		// acknowledged or escalated; then it is forgotten.
		e := m.edges[edgeKey{id, CondGone}]
		switch {
		case a.goneAlert && (e == nil || !e.announced):
			m.edge(edgeKey{id, CondGone})
			out = append(out, pending{key: edgeKey{id, CondGone}, act: raise, note: goneNote(a)})
		case a.goneAlert && !e.escalateAt.IsZero():
			// waiting for the ack or the escalation
		default:
			m.forget(id)
		}
	}
	out = append(out, m.teamIdle(now)...)
	out = append(out, m.allHealthy(now)...)
	out = append(out, m.dueEscalations(now)...)
	m.mu.Unlock()
	m.publishAll(ctx, now, out)
	if m.cfg.AutoRestart {
		m.autoRestart(ctx, now, crashed)
	}
	m.save(ctx)
	return err
}

// forget drops everything about pane id. Called with m.mu held.
func (m *Monitor) forget(id string) {
	m.dirty(id)
	delete(m.agents, id)
	delete(m.last, id)
	for k := range m.edges {
		if k.who == id {
			delete(m.edges, k)
		}
	}
}

// pending is an edge transition to publish.
type pending struct {
	key      edgeKey
	act      action
	note     note
	escalate bool
}

// conditions steps every condition of agent a. Called with m.mu held.
func (m *Monitor) conditions(now time.Time, a *agent) []pending {
	type cond struct {
		c      Condition
		active bool
	}
	conds := make([]cond, 0, 5)
	conds = append(conds, cond{CondCrash, a.state == Crashed})
	if a.watched() {
		conds = append(conds, cond{CondStuck, a.state == Stuck})
		if !a.pm {
			fresh := a.fresh(now, &m.cfg)
			// A fresh agent is idle because nobody briefed it: that alert says so already.
			idle := a.idleFor(now) + m.cfg.slack()
			conds = append(conds, cond{CondFresh, fresh}, cond{CondIdle, idle >= m.cfg.IdleAfter && !fresh},
				cond{CondLongIdle, idle >= m.cfg.LongIdleAfter && !fresh})
		}
	}
	var out []pending
	for _, cd := range conds {
		c, active := cd.c, cd.active
		k := edgeKey{a.pane.ID, c}
		e := m.edges[k]
		if e == nil {
			if !active {
				continue // never raised: nothing to keep
			}
			e = m.edge(k)
		}
		switch e.step(now, active, !a.inGrace(now), m.cfg.Cooldown) {
		case raise:
			out = append(out, pending{key: k, act: raise, note: m.alertNote(now, a, c)})
		case resolve:
			if c == CondLongIdle { // the idle resolution says it
				e.resolved()
				continue
			}
			id := ""
			if e.alert != nil {
				id = e.alert.ID
			}
			out = append(out, pending{key: k, act: resolve, note: resolvedNote(a, c, id)})
		}
	}
	return out
}

// teamIdle raises one summary per session when every watched agent of it is idle (the PM
// aside), and re-arms when one is not. Called with m.mu held.
func (m *Monitor) teamIdle(now time.Time) []pending {
	type count struct{ idle, total int }
	per := map[string]*count{}
	for _, a := range m.agents {
		if a.pm || a.gone || !a.watched() {
			continue
		}
		c := per[a.pane.Session]
		if c == nil {
			c = &count{}
			per[a.pane.Session] = c
		}
		c.total++
		if a.idleFor(now)+m.cfg.slack() >= m.cfg.IdleAfter && !a.fresh(now, &m.cfg) { // a fresh agent is reported as such
			c.idle++
		}
	}
	var out []pending
	for session, c := range per {
		k := edgeKey{session, CondTeamIdle}
		e := m.edge(k)
		switch e.step(now, c.idle == c.total, true, m.cfg.Cooldown) {
		case raise:
			out = append(out, pending{key: k, act: raise, note: note{session: session, priority: subjects.Normal,
				body:    fmt.Sprintf("All agents idle - session %s: %d idle, 0 active - assign work", session, c.idle),
				tags:    []string{"monitoring", "health", "idle", string(CondTeamIdle)},
				context: map[string]any{"session": session, "issue_type": string(CondTeamIdle), "idle_agents": c.idle}}})
		case resolve:
			e.resolved() // once per edge; no resolved message for the summary
		}
	}
	for k := range m.edges {
		if k.cond == CondTeamIdle && per[k.who] == nil {
			delete(m.edges, k)
			m.dirty(k.who)
		}
	}
	return out
}

// allHealthy announces, once per edge, that a session whose agents had trouble (crashed,
// gone, stuck) is healthy again: "All agents healthy - 3 active, 0 idle". Called with m.mu
// held.
func (m *Monitor) allHealthy(now time.Time) []pending {
	type count struct{ trouble, active, idle int }
	per := map[string]*count{}
	for _, a := range m.agents {
		if a.gone || !a.watched() {
			continue
		}
		c := per[a.pane.Session]
		if c == nil {
			c = &count{}
			per[a.pane.Session] = c
		}
		switch a.state {
		case Crashed, Stuck:
			c.trouble++
		case Idle:
			c.idle++
		default:
			c.active++
		}
	}
	var out []pending
	for session, c := range per {
		was := m.troubled[session]
		m.troubled[session] = c.trouble > 0
		if was != (c.trouble > 0) {
			m.dirty(session)
		}
		if was && c.trouble == 0 {
			out = append(out, pending{key: edgeKey{session, CondHealthy}, act: resolve, note: note{session: session, priority: subjects.Normal,
				body:    fmt.Sprintf("All agents healthy - %d active, %d idle, monitoring stable", c.active, c.idle),
				tags:    []string{"monitoring", "status", "health"},
				context: map[string]any{"session": session, "active": c.active, "idle": c.idle}}})
		}
	}
	for s := range m.troubled {
		if per[s] == nil {
			delete(m.troubled, s)
			m.dirty(s)
		}
	}
	return out
}

// dueEscalations lists raised alerts whose escalation time has come. Called with m.mu held.
func (m *Monitor) dueEscalations(now time.Time) []pending {
	var out []pending
	for k, e := range m.edges {
		if !e.announced || e.alert == nil || e.escalateAt.IsZero() || now.Before(e.escalateAt) {
			continue
		}
		e.escalateAt = time.Time{} // once
		m.dirty(k.who)
		orig := e.alert
		n := note{session: orig.Target.Session, priority: higher(orig.Message.Priority), requiresAck: true,
			body:        fmt.Sprintf("ESCALATED (no acknowledgement in %s): %s", m.cfg.EscalateAfter, orig.Message.Content.Body),
			tags:        append(slices.Clone(orig.Metadata.Tags), "escalated"),
			context:     orig.Message.Content.Context,
			correlation: orig.ID, correlated: orig.Message.Priority}
		out = append(out, pending{key: k, act: raise, note: n, escalate: true})
	}
	return out
}

// publishAll publishes the transitions, checking first that an escalation is still unacked,
// and records what went out.
func (m *Monitor) publishAll(ctx context.Context, now time.Time, out []pending) {
	for _, p := range out {
		if p.escalate {
			ack, err := m.bus.AckOf(ctx, p.note.correlated, p.note.correlation)
			if err != nil {
				m.log.Warn("cannot check the acknowledgement of an alert; not escalating", zap.String("id", p.note.correlation), zap.Error(err))
				continue
			}
			if ack != nil {
				m.log.Info("alert acknowledged; no escalation", zap.String("id", p.note.correlation), zap.String("by", ack.By))
				continue
			}
		}
		env, err := m.publish(ctx, now, p.note)
		if err != nil {
			continue // the edge is unchanged: the next pass tries again
		}
		m.mu.Lock()
		if e := m.edges[p.key]; e != nil {
			switch {
			case p.escalate:
				// The original alert stays the one the episode is about.
			case p.act == raise:
				e.raised(now, env, m.cfg.EscalateAfter)
			case p.act == resolve:
				e.resolved()
			}
		}
		// The last alert column shows alerts; a resolution marks the alert it resolves.
		switch l, ok := m.last[p.key.who]; {
		case p.act == resolve && p.key.cond != CondHealthy:
			if ok && l.Condition == string(p.key.cond) {
				l.Resolved = &now
				m.last[p.key.who] = l
			}
		case p.act == raise:
			m.last[p.key.who] = LastAlert{ID: env.ID, Priority: env.Message.Priority.String(), Condition: string(p.key.cond),
				Body: env.Message.Content.Body, At: now}
		}
		m.dirty(p.key.who)
		m.mu.Unlock()
	}
}

// publish sends n and logs it.
func (m *Monitor) publish(ctx context.Context, now time.Time, n note) (*subjects.Envelope, error) {
	env, err := m.envelope(now, n)
	if err != nil {
		m.log.Error("cannot build alert", zap.Error(err))
		return nil, err
	}
	if _, err := m.bus.Publish(ctx, env); err != nil {
		m.log.Warn("publishing failed", zap.String("body", n.body), zap.Error(err))
		return nil, err
	}
	m.log.Info("published", zap.String("id", env.ID), zap.String("to", env.Target.String()),
		zap.Stringer("priority", env.Message.Priority), zap.Strings("tags", env.Metadata.Tags), zap.String("body", n.body))
	return env, nil
}

func (m *Monitor) edge(k edgeKey) *edge {
	e := m.edges[k]
	if e == nil {
		e = &edge{}
		m.edges[k] = e
	}
	return e
}

// isNone reports whether the pane opted out (@orc-role none).
func isNone(p tmux.Pane) bool { return len(agentstate.Groups(tmux.Pane{Role: p.Role})) == 0 }

// roleName is the pane's role as status shows it: its @orc-role (pm, orchestrator, ...),
// "agent" when it has none.
func roleName(p tmux.Pane) string {
	if r := strings.TrimSpace(p.Role); r != "" {
		return r
	}
	return "agent"
}

// isPM reports whether the pane is a PM or orchestrator, as agentstate.Groups decides.
func isPM(p tmux.Pane) bool {
	return slices.Contains(agentstate.Groups(tmux.Pane{Role: p.Role}), "management")
}

// sortedAgents returns the agents ordered by session, window and pane. Called with m.mu held.
func (m *Monitor) sortedAgents() []*agent {
	as := make([]*agent, 0, len(m.agents))
	for _, a := range m.agents {
		as = append(as, a)
	}
	sort.Slice(as, func(i, j int) bool {
		x, y := as[i].pane, as[j].pane
		if x.Session != y.Session {
			return x.Session < y.Session
		}
		if x.WindowIndex != y.WindowIndex {
			return x.WindowIndex < y.WindowIndex
		}
		return x.Index < y.Index
	})
	return as
}
