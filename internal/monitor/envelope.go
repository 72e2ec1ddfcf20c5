package monitor

import (
	"fmt"
	"time"

	"github.com/tmux-orc/tmux-orc/internal/agentstate"
	"github.com/tmux-orc/tmux-orc/subjects"
)

// SourceType and SourceID identify the monitor as the sender of its messages.
const (
	SourceType = "monitor"
	SourceID   = "tmux-orc-monitor"
)

// note is a message before it becomes an envelope.
type note struct {
	session     string
	priority    subjects.Priority
	body        string
	tags        []string
	context     map[string]any
	requiresAck bool
	correlation string
	// correlated is the priority of the message correlation names.
	correlated subjects.Priority
}

// envelope addresses n to the management group of its session.
func (m *Monitor) envelope(now time.Time, n note) (*subjects.Envelope, error) {
	to, err := subjects.GroupAddress("management", n.session)
	if err != nil {
		return nil, fmt.Errorf("addressing session %q: %w", n.session, err)
	}
	// The monitor watches this host's tmux server: its session, no registry lookup.
	to.Host = m.cfg.Host
	return &subjects.Envelope{ID: subjects.NewID(now), Timestamp: now.UTC(),
		Source: subjects.Source{Type: SourceType, Identifier: SourceID, Host: m.cfg.Host},
		Target: to,
		Message: subjects.Message{Type: "alert", Category: "monitoring", Priority: n.priority,
			Content: subjects.Content{Subject: subjects.SubjectLine(n.body), Body: n.body, Context: n.context}},
		Metadata: subjects.Metadata{RequiresAck: n.requiresAck, Tags: n.tags, CorrelationID: n.correlation}}, nil
}

// alertNote words the alert for condition c of agent a. The bridge prefixes the priority
// marker and label, so "PM crash detected ..." reads "🚨 CRITICAL PM crash detected ...".
func (m *Monitor) alertNote(now time.Time, a *agent, c Condition) note {
	t := agentstate.PaneTarget(a.pane)
	n := note{session: a.pane.Session, tags: []string{"monitoring", "health", string(c)},
		context: map[string]any{"agent": t, "pane": a.pane.ID, "issue_type": string(c), "role": roleName(a.pane),
			"command": a.pane.Command, "state": string(a.state), "since": a.since.UTC().Format(time.RFC3339)}}
	switch c {
	case CondCrash:
		how := "its program went back to a shell (" + a.pane.Command + ")"
		if a.pane.Dead {
			how = "pane dead"
		}
		n.context["reason"] = how
		n.requiresAck = true
		if a.pm {
			n.priority = subjects.Critical
			n.body = fmt.Sprintf("PM crash detected %s (%s) - restart it: tmux-orc agent restart %s", t, how, t)
		} else {
			n.priority = subjects.High
			n.body = fmt.Sprintf("Agent %s crashed (%s) - restart it: tmux-orc agent restart %s", t, how, t)
		}
	case CondStuck:
		n.priority, n.requiresAck = subjects.High, true
		n.context["reason"] = a.stuckReason()
		n.body = fmt.Sprintf("Agent %s stuck: %s for %s - investigate", t, a.stuckReason(), minutes(now.Sub(a.stuckSince)))
		if a.reading.Unsubmitted != "" && a.stuckReason() == "text left unsubmitted" {
			n.body += fmt.Sprintf(" (composer: %q)", clip(a.reading.Unsubmitted, 80))
		}
	case CondFresh:
		n.priority = subjects.Normal
		n.context["started"] = a.startedAt.UTC().Format(time.RFC3339)
		n.body = fmt.Sprintf("Fresh agent %s started %s ago and has not been briefed - send it its task", t, minutes(now.Sub(a.startedAt)))
	case CondIdle, CondLongIdle:
		idle := a.idleFor(now)
		n.context["idle_duration"] = idle.Round(time.Second).String()
		n.tags[2] = "idle"
		if c == CondLongIdle {
			n.tags = append(n.tags, string(CondLongIdle))
			n.priority = subjects.High
			n.body = fmt.Sprintf("Agent %s idle %s - investigate or restart", t, minutes(idle))
		} else {
			n.priority = subjects.Normal
			n.body = fmt.Sprintf("Agent %s idle %s - assign work or check on it", t, minutes(idle))
		}
	}
	return n
}

// goneNote words the disappearance of agent a's pane.
func goneNote(a *agent) note {
	t := agentstate.PaneTarget(a.pane)
	n := note{session: a.pane.Session, requiresAck: true, tags: []string{"monitoring", "health", string(CondGone)},
		context: map[string]any{"agent": t, "pane": a.pane.ID, "issue_type": string(CondGone), "role": roleName(a.pane),
			"command": a.pane.Command, "reason": "pane closed"}}
	if a.pm {
		n.priority = subjects.Critical
		n.body = fmt.Sprintf("PM missing: the pane of %s (%s) closed - start a replacement PM", t, a.pane.Command)
	} else {
		n.priority = subjects.High
		n.body = fmt.Sprintf("Agent %s gone: its pane (%s) closed - start it again in a new window", t, a.pane.Command)
	}
	return n
}

// resolvedNote words the end of condition c of agent a: what changed, and the state now,
// which is never the condition that ended.
func resolvedNote(a *agent, c Condition, alertID string) note {
	t := agentstate.PaneTarget(a.pane)
	now := string(a.state)
	if a.state == Waiting || a.state == Stuck {
		now += ": " + a.stuckReason()
	}
	var what string
	switch c {
	case CondCrash:
		what = "is running again"
	case CondStuck:
		what = "is no longer stuck"
	case CondFresh:
		what = "got its first task"
	default: // idle
		what = "is working again"
		if a.state != Busy {
			what = "worked again since the idle alert"
		}
	}
	body := fmt.Sprintf("Resolved: agent %s %s (now %s)", t, what, now)
	return note{session: a.pane.Session, priority: subjects.Normal, body: body, correlation: alertID,
		tags:    []string{"monitoring", "health", string(c), "resolved"},
		context: map[string]any{"agent": t, "pane": a.pane.ID, "issue_type": string(c), "state": string(a.state)}}
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
