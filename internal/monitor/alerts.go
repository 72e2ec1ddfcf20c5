package monitor

import (
	"fmt"
	"time"

	"github.com/tmux-orc/tmux-orc/subjects"
)

// Condition is what an alert is about.
type Condition string

// Conditions, each de-duplicated on its own per agent (or, for team idle, per session).
const (
	CondCrash    Condition = "crash"
	CondStuck    Condition = "stuck"
	CondIdle     Condition = "idle"
	CondLongIdle Condition = "idle-long"
	CondTeamIdle Condition = "team-idle"
	// CondHealthy is the all-clear of a session after trouble.
	CondHealthy Condition = "healthy"
	// CondFresh is an agent started FreshAfter ago that has not been briefed.
	CondFresh Condition = "fresh"
	// CondGone is an agent whose pane closed (its program exited without remain-on-exit, or
	// the window was killed) while its session lives on.
	CondGone Condition = "gone"
)

// edgeKey names one (agent or session, condition) pair.
type edgeKey struct {
	who  string // pane id, or session name for team idle
	cond Condition
}

// edge is the alert state of one (agent, condition) pair.
type edge struct {
	announced  bool               // an alert went out for the current episode
	lastAlert  time.Time          // when the last alert went out; the cooldown runs from it
	alert      *subjects.Envelope // that alert
	escalateAt time.Time          // zero: no escalation pending
}

// action is what an edge asks to publish.
type action int

const (
	noAction action = iota
	raise
	resolve
)

// step folds the current truth of a condition into the edge. A condition that starts is
// raised when allowed (not in grace) and the last alert for the pair is at least cooldown
// old; a condition that ends after it was raised is resolved. A condition that started in
// the cooldown is raised when the cooldown has passed, if it still holds.
func (e *edge) step(now time.Time, active, allowed bool, cooldown time.Duration) action {
	switch {
	case active && !e.announced && allowed && (e.lastAlert.IsZero() || now.Sub(e.lastAlert) >= cooldown):
		return raise
	case !active && e.announced:
		return resolve
	}
	return noAction
}

// raised records an alert published for the edge.
func (e *edge) raised(now time.Time, env *subjects.Envelope, escalateAfter time.Duration) {
	e.announced, e.lastAlert, e.alert = true, now, env
	e.escalateAt = time.Time{}
	if env.Metadata.RequiresAck {
		e.escalateAt = now.Add(escalateAfter)
	}
}

// resolved records the end of the episode.
func (e *edge) resolved() { e.announced, e.alert, e.escalateAt = false, nil, time.Time{} }

// higher is the next more urgent priority; critical stays critical.
func higher(p subjects.Priority) subjects.Priority {
	if p > subjects.Critical {
		return p - 1
	}
	return p
}

// minutes renders a duration the way the guide writes it: "15min", or "40s" below a minute.
func minutes(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%ds", int(d.Round(time.Second)/time.Second))
	}
	return fmt.Sprintf("%dmin", int(d/time.Minute))
}
