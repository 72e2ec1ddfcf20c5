package monitor

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/tmux-orc/tmux-orc/subjects"
	"github.com/tmux-orc/tmux-orc/tmux"
)

// The monitor keeps its view of every agent (briefed or not, since when idle, its alerts
// and their escalation) in the KV bucket ORC_MONITOR, one key per pane
// (<host>.p<N>) and one per session (<host>.s.<session>), so that a restarted daemon or
// bridge neither repeats alerts nor raises false ones ("fresh agent" for an agent that
// worked for an hour).

// stateStore writes what changed, at most every saveEvery for a key whose alert state did
// not change (a busy agent's screen changes every second).
type stateStore struct {
	host  string
	saved map[string]savedRecord // by key
	dirty map[string]bool        // pane ids and session names
}

type savedRecord struct {
	sig string
	at  time.Time
}

// saveEvery bounds how often a key is written while only its screen times change.
const saveEvery = 30 * time.Second

// savedEdge is an edge as stored.
type savedEdge struct {
	Announced  bool               `json:"announced,omitempty"`
	LastAlert  time.Time          `json:"last_alert,omitzero"`
	Alert      *subjects.Envelope `json:"alert,omitempty"`
	EscalateAt time.Time          `json:"escalate_at,omitzero"`
}

// savedAgent is an agent as stored.
type savedAgent struct {
	Pane       tmux.Pane               `json:"pane"`
	PM         bool                    `json:"pm,omitempty"`
	StartCmd   string                  `json:"start_cmd,omitempty"`
	SeenApp    bool                    `json:"seen_app,omitempty"`
	Hash       []byte                  `json:"hash,omitempty"`
	Activity   int64                   `json:"activity,omitempty"`
	LastChange time.Time               `json:"last_change"`
	IdleFrom   time.Time               `json:"idle_from,omitzero"`
	Reading    Reading                 `json:"reading"`
	StuckWhy   string                  `json:"stuck_why,omitempty"`
	StuckText  string                  `json:"stuck_text,omitempty"`
	StuckSince time.Time               `json:"stuck_since,omitzero"`
	Hook       *HookEvent              `json:"hook,omitempty"`
	State      State                   `json:"state"`
	Since      time.Time               `json:"since"`
	GraceUntil time.Time               `json:"grace_until,omitzero"`
	Restarts   int                     `json:"restarts,omitempty"`
	CrashedAt  time.Time               `json:"crashed_at,omitzero"`
	StartedAt  time.Time               `json:"started_at"`
	Briefed    bool                    `json:"briefed,omitempty"`
	Gone       bool                    `json:"gone,omitempty"`
	GoneAlert  bool                    `json:"gone_alert,omitempty"`
	Edges      map[Condition]savedEdge `json:"edges,omitempty"`
	Last       *LastAlert              `json:"last,omitempty"`
}

// savedSession is a session's own alert state as stored.
type savedSession struct {
	Troubled bool                    `json:"troubled,omitempty"`
	Edges    map[Condition]savedEdge `json:"edges,omitempty"`
	Last     *LastAlert              `json:"last,omitempty"`
}

func (st *stateStore) paneKey(id string) string { return st.host + ".p" + strings.TrimPrefix(id, "%") }

func (st *stateStore) sessionKey(session string) string {
	var b strings.Builder
	for _, c := range []byte(session) {
		if c == '-' || c == '_' || ('0' <= c && c <= '9') || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "=%02X", c)
		}
	}
	return st.host + ".s." + b.String()
}

// openStore loads the stored view for this host; nil (and a warning) when the bucket cannot
// be read: the monitor then starts from nothing, as before.
func (m *Monitor) openStore(ctx context.Context) *stateStore {
	host := m.cfg.Host
	st := &stateStore{host: host, saved: map[string]savedRecord{}, dirty: map[string]bool{}}
	lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	vals, err := m.bus.LoadMonitorState(lctx, host+".>")
	if err != nil {
		m.log.Warn("the monitor's state is not kept across restarts", zap.Error(err))
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for key, v := range vals {
		rest := strings.TrimPrefix(key, host+".")
		switch {
		case strings.HasPrefix(rest, "p"):
			var s savedAgent
			if err := json.Unmarshal(v, &s); err != nil || s.Pane.ID == "" {
				m.log.Warn("ignoring an unreadable stored agent", zap.String("key", key), zap.Error(err))
				continue
			}
			m.restoreAgent(&s)
			st.saved[key] = savedRecord{sig: s.sig(), at: time.Now()}
		case strings.HasPrefix(rest, "s."):
			var s savedSession
			if err := json.Unmarshal(v, &s); err != nil {
				continue
			}
			session := sessionFromKey(rest[2:])
			m.restoreSession(session, &s)
			st.saved[key] = savedRecord{sig: string(v), at: time.Now()}
		}
	}
	if len(vals) > 0 {
		m.log.Info("restored the monitor's view of its agents", zap.Int("records", len(vals)))
	}
	return st
}

// sessionFromKey undoes sessionKey's escaping.
func sessionFromKey(tok string) string {
	var b strings.Builder
	for i := 0; i < len(tok); i++ {
		if tok[i] == '=' && i+2 < len(tok) {
			var c byte
			if _, err := fmt.Sscanf(tok[i+1:i+3], "%02X", &c); err == nil {
				b.WriteByte(c)
				i += 2
				continue
			}
		}
		b.WriteByte(tok[i])
	}
	return b.String()
}

func toSaved(e *edge) savedEdge {
	return savedEdge{Announced: e.announced, LastAlert: e.lastAlert, Alert: e.alert, EscalateAt: e.escalateAt}
}

func fromSaved(s savedEdge) *edge {
	return &edge{announced: s.Announced, lastAlert: s.LastAlert, alert: s.Alert, escalateAt: s.EscalateAt}
}

// snapshot renders agent id for the store. Called with m.mu held.
func (m *Monitor) snapshot(id string, a *agent) *savedAgent {
	s := &savedAgent{Pane: a.pane, PM: a.pm, StartCmd: a.startCmd, SeenApp: a.seenApp, Activity: a.activity,
		LastChange: a.lastChange, IdleFrom: a.idleFrom, Reading: a.reading, StuckWhy: a.stuckWhy, StuckText: a.stuckText,
		StuckSince: a.stuckSince, Hook: a.hook, State: a.state, Since: a.since, GraceUntil: a.graceUntil,
		Restarts: a.restarts, CrashedAt: a.crashedAt, StartedAt: a.startedAt, Briefed: a.briefed, Gone: a.gone,
		GoneAlert: a.goneAlert, Edges: map[Condition]savedEdge{}}
	if a.hash != ([32]byte{}) {
		s.Hash = a.hash[:]
	}
	for k, e := range m.edges {
		if k.who == id {
			s.Edges[k.cond] = toSaved(e)
		}
	}
	if l, ok := m.last[id]; ok {
		s.Last = &l
	}
	return s
}

// sig is what must be written at once when it changes: everything but the screen's times
// and the busy/idle flips that follow them.
func (s *savedAgent) sig() string {
	c := *s
	c.Hash, c.Activity, c.LastChange, c.IdleFrom = nil, 0, time.Time{}, time.Time{}
	if c.State == Busy || c.State == Idle {
		// Flips between working and not follow the screen: written with the screen times.
		c.State, c.Since = "", time.Time{}
	}
	if c.Hook != nil && c.Hook.State == HookIdle {
		c.IdleFrom = s.IdleFrom // the end of the turn is not a screen time
	}
	b, _ := json.Marshal(c)
	return string(b)
}

// restoreAgent puts a stored agent back. Called with m.mu held.
func (m *Monitor) restoreAgent(s *savedAgent) {
	a := &agent{pane: s.Pane, pm: s.PM, profile: ProfileFor(s.Pane.Command), startCmd: s.StartCmd, seenApp: s.SeenApp,
		pid: s.Pane.PID, activity: s.Activity, lastChange: s.LastChange, idleFrom: s.IdleFrom, reading: s.Reading,
		stuckWhy: s.StuckWhy, stuckText: s.StuckText, stuckSince: s.StuckSince, hook: s.Hook, state: s.State, since: s.Since,
		graceUntil: s.GraceUntil, restarts: s.Restarts, crashedAt: s.CrashedAt, startedAt: s.StartedAt, briefed: s.Briefed,
		gone: s.Gone, goneAlert: s.GoneAlert}
	copy(a.hash[:], s.Hash)
	m.agents[s.Pane.ID] = a
	for c, e := range s.Edges {
		m.edges[edgeKey{s.Pane.ID, c}] = fromSaved(e)
	}
	if s.Last != nil {
		m.last[s.Pane.ID] = *s.Last
	}
}

// restoreSession puts a session's stored alert state back. Called with m.mu held.
func (m *Monitor) restoreSession(session string, s *savedSession) {
	if session == "" {
		return
	}
	m.troubled[session] = s.Troubled
	for c, e := range s.Edges {
		m.edges[edgeKey{session, c}] = fromSaved(e)
	}
	if s.Last != nil {
		m.last[session] = *s.Last
	}
}

// dirty marks a pane id or session for the next save. Called with m.mu held.
func (m *Monitor) dirty(who string) {
	if m.store != nil {
		m.store.dirty[who] = true
	}
}

// save writes the records of the dirty panes and sessions whose stored form changed, and
// deletes those of forgotten panes and sessions.
func (m *Monitor) save(ctx context.Context) { m.saveAll(ctx, false) }

// saveAll is save; with force it also writes records whose screen times only changed (at
// shutdown).
func (m *Monitor) saveAll(ctx context.Context, force bool) {
	st := m.store
	if st == nil {
		return
	}
	type write struct {
		key  string
		data []byte // nil: delete
		sig  string
	}
	var writes []write
	now := time.Now()
	m.mu.Lock()
	sessions := map[string]bool{}
	for _, a := range m.agents {
		sessions[a.pane.Session] = true
	}
	later := map[string]bool{} // written at a later pass, or at shutdown
	for who := range st.dirty {
		if strings.HasPrefix(who, "%") {
			key := st.paneKey(who)
			a, ok := m.agents[who]
			if !ok {
				if _, had := st.saved[key]; had {
					writes = append(writes, write{key: key})
				}
				continue
			}
			s := m.snapshot(who, a)
			sig := s.sig()
			if r, had := st.saved[key]; had && r.sig == sig && now.Sub(r.at) < saveEvery && !force {
				later[who] = true // only screen times changed: written within saveEvery
				continue
			}
			data, _ := json.Marshal(s)
			writes = append(writes, write{key: key, data: data, sig: sig})
			continue
		}
		key := st.sessionKey(who)
		s := savedSession{Troubled: m.troubled[who], Edges: map[Condition]savedEdge{}}
		for k, e := range m.edges {
			if k.who == who {
				s.Edges[k.cond] = toSaved(e)
			}
		}
		if l, ok := m.last[who]; ok {
			s.Last = &l
		}
		if !sessions[who] && len(s.Edges) == 0 {
			if _, had := st.saved[key]; had {
				writes = append(writes, write{key: key})
			}
			continue
		}
		data, _ := json.Marshal(s)
		if r, had := st.saved[key]; had && r.sig == string(data) {
			continue
		}
		writes = append(writes, write{key: key, data: data, sig: string(data)})
	}
	st.dirty = later
	m.mu.Unlock()
	for _, w := range writes {
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		var err error
		if w.data == nil {
			err = m.bus.DeleteMonitorState(wctx, w.key)
		} else {
			err = m.bus.PutMonitorState(wctx, w.key, w.data)
		}
		cancel()
		if err != nil {
			m.log.Warn("storing the monitor's state", zap.String("key", w.key), zap.Error(err))
			m.mu.Lock()
			// Write it again at the next pass.
			st.dirty[keyOwner(w.key, st.host)] = true
			m.mu.Unlock()
			continue
		}
		if w.data == nil {
			delete(st.saved, w.key)
		} else {
			st.saved[w.key] = savedRecord{sig: w.sig, at: now}
		}
	}
}

// keyOwner is the pane id or session a key stores.
func keyOwner(key, host string) string {
	rest := strings.TrimPrefix(key, host+".")
	if strings.HasPrefix(rest, "s.") {
		return sessionFromKey(rest[2:])
	}
	return "%" + strings.TrimPrefix(rest, "p")
}
