package monitor

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"go.uber.org/zap"

	"github.com/tmux-orc/tmux-orc/internal/agentstate"
	"github.com/tmux-orc/tmux-orc/internal/redact"
)

// Request/reply subjects the monitor answers on (not stored).
const (
	// StatusSubject answers with a Status.
	StatusSubject = "orc.sys.monitor.status"
	// RestartSubject takes a RestartRequest and answers with a RestartReply.
	RestartSubject = "orc.sys.monitor.restart"
	// ControlSubject takes a ControlRequest and answers with a ControlReply; the daemon that
	// hosts the monitor serves it.
	ControlSubject = "orc.sys.monitor.control"
)

// ForHost is the subject on which the monitor of host's daemon answers: every host of a
// cluster runs one, and a request goes to one of them.
func ForHost(subject, host string) string { return subject + "." + host }

// LastAlert is the last message the monitor published about an agent or a session.
type LastAlert struct {
	ID        string    `json:"id"`
	Priority  string    `json:"priority"`
	Condition string    `json:"condition"`
	Body      string    `json:"body"`
	At        time.Time `json:"at"`
	// Resolved is when the condition of the alert ended, nil while it lasts.
	Resolved *time.Time `json:"resolved,omitempty"`
}

// AgentStatus is one watched pane.
type AgentStatus struct {
	Pane         string    `json:"pane"`
	Target       string    `json:"target"`
	Session      string    `json:"session"`
	Window       string    `json:"window"`
	Role         string    `json:"role"`
	Profile      string    `json:"profile"`
	Command      string    `json:"command"`
	StartCommand string    `json:"start_command,omitempty"`
	State        State     `json:"state"`
	Since        time.Time `json:"since"`
	Reason       string    `json:"reason,omitempty"`
	// Hook is the last hook event, when hooks report this agent.
	Hook       *HookEvent `json:"hook,omitempty"`
	Restarts   int        `json:"restarts"`
	GraceUntil *time.Time `json:"grace_until,omitempty"`
	LastAlert  *LastAlert `json:"last_alert,omitempty"`
}

// Status is the monitor's whole picture.
type Status struct {
	Agents []AgentStatus `json:"agents"`
	// SessionAlerts are the last session-wide messages (team idle), by session.
	SessionAlerts map[string]LastAlert `json:"session_alerts,omitempty"`
	Passes        uint64               `json:"passes"`
	// Reads counts the screens read (capture-pane): only panes that had output or whose
	// state needs a look are read, so quiet panes add nothing per pass.
	Reads uint64    `json:"reads"`
	At    time.Time `json:"at"`
}

// Status returns the current picture.
func (m *Monitor) Status() Status {
	now := m.cfg.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	st := Status{Agents: []AgentStatus{}, SessionAlerts: map[string]LastAlert{}, Passes: m.passes, Reads: m.reads, At: now}
	for _, a := range m.sortedAgents() {
		s := AgentStatus{Pane: a.pane.ID, Target: agentstate.PaneTarget(a.pane), Session: a.pane.Session, Window: a.pane.Window,
			Role: roleName(a.pane), Profile: a.profile.Name, Command: a.pane.Command, StartCommand: redact.Command(a.startCmd),
			State: a.state, Since: a.since, Restarts: a.restarts}
		if a.state == Stuck || a.state == Waiting {
			s.Reason = a.stuckReason()
		}
		if a.hook != nil {
			h := *a.hook
			s.Hook = &h
		}
		if a.inGrace(now) {
			g := a.graceUntil
			s.GraceUntil = &g
		}
		if l, ok := m.last[a.pane.ID]; ok {
			s.LastAlert = &l
		}
		st.Agents = append(st.Agents, s)
	}
	for who, l := range m.last {
		if _, isPane := m.agents[who]; !isPane && l.Condition == string(CondTeamIdle) {
			st.SessionAlerts[who] = l
		}
	}
	return st
}

// RestartRequest asks the monitor to restart a pane.
type RestartRequest struct {
	// Target is a pane id (%N) or a tmux target (session:window[.pane]).
	Target string `json:"target"`
	Force  bool   `json:"force"`
}

// RestartReply says what the monitor did.
type RestartReply struct {
	Pane   string `json:"pane,omitempty"`
	Target string `json:"target,omitempty"`
	Error  string `json:"error,omitempty"`
	// Busy is true when the restart was refused because the agent works.
	Busy bool `json:"busy,omitempty"`
}

// serve answers status and restart requests on the bus until the returned stop is called.
func (m *Monitor) serve() (stop func(), err error) {
	nc := m.bus.Conn()
	s1, err := nc.Subscribe(ForHost(StatusSubject, m.cfg.Host), func(msg *nats.Msg) {
		data, _ := json.Marshal(m.Status())
		_ = msg.Respond(data)
	})
	if err != nil {
		return nil, fmt.Errorf("serving %s: %w", StatusSubject, err)
	}
	s2, err := nc.Subscribe(ForHost(RestartSubject, m.cfg.Host), func(msg *nats.Msg) {
		var req RestartRequest
		var rep RestartReply
		if err := json.Unmarshal(msg.Data, &req); err != nil {
			rep.Error = "bad request: " + err.Error()
		} else {
			// A subscription callback must not block the connection for long; a respawn is quick.
			ctx, cancel := contextWithTimeout(10 * time.Second)
			res, err := m.Restart(ctx, req.Target, req.Force)
			cancel()
			rep.Pane, rep.Target = res.Pane, res.Target
			if err != nil {
				rep.Error, rep.Busy = err.Error(), isBusy(err)
			}
		}
		data, _ := json.Marshal(rep)
		_ = msg.Respond(data)
	})
	if err != nil {
		_ = s1.Unsubscribe()
		return nil, fmt.Errorf("serving %s: %w", RestartSubject, err)
	}
	s3, err := nc.Subscribe(ForHost(HookSubject, m.cfg.Host), m.hookHandler)
	if err != nil {
		_ = s1.Unsubscribe()
		_ = s2.Unsubscribe()
		return nil, fmt.Errorf("serving %s: %w", HookSubject, err)
	}
	return func() {
		for _, s := range []*nats.Subscription{s1, s2, s3} {
			if err := s.Unsubscribe(); err != nil {
				m.log.Debug("unsubscribing", zap.Error(err))
			}
		}
	}, nil
}

// ControlRequest asks the daemon to start or stop its monitor.
type ControlRequest struct {
	// Action is "start" or "stop".
	Action string `json:"action"`
}

// ControlReply says whether the monitor runs after the request.
type ControlReply struct {
	Running bool   `json:"running"`
	Changed bool   `json:"changed"`
	Error   string `json:"error,omitempty"`
}
