package monitor

import (
	"crypto/sha256"
	"strings"
	"time"

	"github.com/tmux-orc/tmux-orc/tmux"
)

// State is what an agent is doing, as the monitor sees it.
type State string

// States, most urgent first. These are all the states status shows.
const (
	// Crashed: the pane is dead, or its command went back to a shell.
	Crashed State = "crashed"
	// Stuck: waiting (below) for StuckAfter or longer.
	Stuck State = "stuck"
	// Waiting: the agent waits for a person: a permission dialog or question (from its hooks
	// or its screen), a rate-limit notice, or text left unsubmitted in its input box.
	Waiting State = "waiting"
	// Busy: the agent works: its hooks say so (a prompt submitted, a tool running), or its
	// screen changed within BusyWindow.
	Busy State = "busy"
	// Gone: the pane closed while its session lives on; shown until its alert is dealt with.
	Gone State = "gone"
	// Idle: the agent does not work: its turn ended (Stop, StopFailure), or its screen has
	// been still for BusyWindow. The idle alert comes after IdleAfter of it.
	Idle State = "idle"
)

// agent is what the monitor remembers about one pane.
type agent struct {
	pane     tmux.Pane
	pm       bool
	profile  *Profile
	startCmd string // pane_start_command when first seen
	seenApp  bool   // a non-shell command ran in the pane
	pid      int

	hash       [32]byte
	lastChange time.Time
	reading    Reading
	stuckWhy   string // what the wait is about; a change starts a new wait
	stuckText  string // the reason as alerts and status say it
	stuckSince time.Time
	hook       *HookEvent // the last hook event for the current process
	idleFrom   time.Time  // since when the agent has not worked: its last screen change, or the end of its turn

	state      State
	since      time.Time
	graceUntil time.Time
	restarts   int
	crashedAt  time.Time

	activity  int64 // window_activity when last read
	gone      bool  // the pane closed; kept until its alert is dealt with
	goneAlert bool  // its closing is reported (its session lives on)

	startedAt time.Time // first seen, or respawned
	briefed   bool      // work seen since startedAt: a prompt hook, or the screen changing after start-up
}

// observe folds one sighting of the pane (and its screen, nil for a dead pane) into a.
func (a *agent) observe(now time.Time, p tmux.Pane, screen []string, c *Config) {
	a.pane = p
	if p.PID != a.pid && a.pid != 0 {
		// Respawned (by us or anyone): a new process, a new episode.
		a.seenApp = false
		a.hook = nil
		a.graceUntil = now.Add(c.Grace)
		a.lastChange = now
		a.startedAt, a.briefed = now, false
	}
	if a.startedAt.IsZero() {
		a.startedAt = now
	}
	a.pid = p.PID
	crashed := p.Dead || (IsShell(p.Command) && a.seenApp)
	if !p.Dead && !IsShell(p.Command) && p.Command != "" {
		a.seenApp = true
		a.profile = ProfileFor(p.Command)
	}
	if screen != nil {
		h := sha256.Sum256([]byte(strings.Join(screen, "\n")))
		if h != a.hash {
			if a.hash != ([32]byte{}) && now.Sub(a.startedAt) >= c.FreshSettle {
				a.briefed = true // the screen moved after start-up: it is working on something
			}
			a.hash = h
			a.lastChange = now
		}
		a.reading = a.profile.Read(screen)
	}
	reason := a.reading.Stuck()
	why := reason
	if why != "" && a.reading.Unsubmitted != "" && !a.reading.Dialog && !a.reading.RateLimited {
		why += ": " + a.reading.Unsubmitted // new text starts a new wait
	}
	// Hook state, when hooks report the agent, wins over the screen.
	a.idleFrom = a.lastChange
	hookBusy, hookIdle := false, false
	if h := a.hook; h != nil {
		switch h.State {
		case HookBusy:
			hookBusy = true
			a.briefed = true
			if !a.reading.Dialog && !a.reading.RateLimited {
				// Text in the box while it works is queued input, not a wait; a dialog on the
				// screen (a tool's permission, after PreToolUse) is one.
				why, reason = "", ""
			}
		case HookIdle:
			hookIdle = true
			if h.At.After(a.idleFrom) {
				a.idleFrom = h.At
			}
		case HookWaiting:
			if a.lastChange.After(h.At) && screen != nil && !a.reading.Dialog {
				// The dialog was answered (the screen moved on and shows none): the next hook
				// will say what the agent does; until then the screen does.
				a.hook = nil
				break
			}
			reason = "waiting for the user"
			if h.Message != "" {
				reason += ": " + h.Message
			}
			why = reason
		}
	}
	if why != a.stuckWhy || why == "" {
		a.stuckWhy, a.stuckSince = why, now
	}
	a.stuckText = reason
	var s State
	switch {
	case crashed:
		s = Crashed
	case a.stuckWhy != "" && now.Sub(a.stuckSince)+c.slack() >= c.StuckAfter:
		s = Stuck
	case a.stuckWhy != "" && !a.typing():
		s = Waiting
	case hookBusy:
		s = Busy
	case hookIdle: // the turn ended; the screen may still settle (a redraw, a clock)
		s = Idle
	case now.Sub(a.lastChange) < c.BusyWindow:
		s = Busy
	default:
		s = Idle
	}
	if s != a.state {
		if s == Crashed {
			a.crashedAt = now
		}
		a.state, a.since = s, now
	}
}

// typing reports whether the only thing the agent waits for is text in its input box: that
// is someone typing (or the bridge) until it has stood there for StuckAfter.
func (a *agent) typing() bool {
	h := a.hook
	return a.reading.Unsubmitted != "" && !a.reading.Dialog && !a.reading.RateLimited && (h == nil || h.State != HookWaiting)
}

// idleFor is how long the agent has been idle, 0 when it is not.
func (a *agent) idleFor(now time.Time) time.Duration {
	if a.state != Idle {
		return 0
	}
	return now.Sub(a.idleFrom)
}

// applyHook records hook event ev. An idle_prompt notification, which comes about a minute
// after the turn ended, does not move the start of idleness; the end of a session hands the
// state back to the screen and the process.
func (a *agent) applyHook(ev *HookEvent) {
	switch {
	case ev.State == HookEnded:
		a.hook = nil
		return
	case ev.State == HookIdle && ev.Event == "Notification":
		if a.hook != nil && a.hook.State == HookIdle {
			return // idle since the Stop
		}
		e := *ev
		if !a.lastChange.IsZero() && a.lastChange.Before(e.At) {
			e.At = a.lastChange
		}
		a.hook = &e
		return
	}
	e := *ev
	a.hook = &e
}

// busy reports whether the agent is working: its screen changed within BusyWindow, or it was
// restarted within BusyWindow, and it has not crashed since.
func (a *agent) busy(now time.Time, c *Config) bool {
	return now.Sub(a.lastChange) < c.BusyWindow && (a.state != Crashed || a.lastChange.After(a.crashedAt))
}

// watched reports whether the pane is an agent to flag when idle or stuck: an agent program
// ran in it, or its role is set explicitly. A plain shell pane with no role is left alone.
func (a *agent) watched() bool { return a.seenApp || strings.TrimSpace(a.pane.Role) != "" }

// stuckReason says why the agent is stuck, "" when it is not waiting for anything.
func (a *agent) stuckReason() string { return a.stuckText }

// fresh reports whether the agent started FreshAfter ago or more and has not been briefed.
func (a *agent) fresh(now time.Time, c *Config) bool {
	return !a.briefed && a.state != Crashed && now.Sub(a.startedAt)+c.slack() >= c.FreshAfter
}

// inGrace reports whether the agent was restarted within Grace.
func (a *agent) inGrace(now time.Time) bool { return now.Before(a.graceUntil) }
