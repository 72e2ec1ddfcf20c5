package agentstate

import (
	"fmt"
	"strings"
	"time"

	"github.com/tmux-orc/tmux-orc/tmux"
)

// Blocker says what kind of thing keeps a pane from taking typed input.
type Blocker string

// Blockers, in the order Assess checks them.
const (
	// BlockDead: the pane's program exited. Waiting does not help.
	BlockDead Blocker = "dead"
	// BlockShell: the pane runs a shell and has not opted in (@orc-agent shell).
	BlockShell Blocker = "shell"
	// BlockMode: the pane is in copy mode (a person scrolling).
	BlockMode Blocker = "copy-mode"
	// BlockDialog: a dialog, picker or menu is open, or a hook says the agent waits for the
	// user. Any key could answer it.
	BlockDialog Blocker = "dialog"
	// BlockNoPrompt: the agent's input box is not on the screen (starting up, a full-screen
	// view).
	BlockNoPrompt Blocker = "no-prompt"
	// BlockDraft: the input box holds text (a person's draft, anywhere in the box).
	BlockDraft Blocker = "draft"
	// BlockBusy: hooks report the agent busy in a turn; its Stop hook can take the messages.
	BlockBusy Blocker = "busy"
)

// Readiness says whether a pane can take typed input now, and why not.
type Readiness struct {
	// Ready: the agent's own input prompt is shown with an empty box, nothing in the way.
	Ready bool
	// Blocker is what is in the way ("" when ready); Reason says it for people.
	Blocker Blocker
	Reason  string
	// Kind is the agent kind the screen was read as.
	Kind Kind
}

// BusyQuiet is how long a screen must stay unchanged before a "busy" hook state is no longer
// trusted (a turn that ended in an API error fires no Stop hook, but its spinner stops).
const BusyQuiet = 3 * time.Second

// Assess decides whether pane p (as the roster lists it) can be typed into, given what it
// shows (s) and, when hooks report it, its hook state. Hooks come first, then the process
// and pane facts, then the screen profile of the agent kind.
func Assess(p tmux.Pane, s Screen, hook *HookState, lastChange, now time.Time) Readiness {
	kind := KindOf(p)
	if s.Shell && kind != Shell {
		if AllowsShell(p) {
			kind = Shell
		}
	}
	r := Readiness{Kind: kind}
	not := func(b Blocker, reason string) Readiness {
		r.Blocker, r.Reason = b, reason
		return r
	}
	switch {
	case s.Dead || p.Dead:
		return not(BlockDead, "the pane is dead (its program exited)")
	case (s.Shell || kind == Shell) && !AllowsShell(p):
		cmd := s.Command
		if cmd == "" {
			cmd = p.Command
		}
		if cmd == "" {
			cmd = "a shell"
		}
		return not(BlockShell, fmt.Sprintf("the pane runs a shell (%s): anything typed would run as a command; "+
			"not typed (set the tmux option %s shell on the pane to allow it)", cmd, AgentOption))
	case s.InMode:
		return not(BlockMode, "the pane is in copy mode (a person scrolling)")
	}
	prof := ProfileOf(kind)
	in := prof.Input(s)
	if hook != nil && hook.State == HookWaiting && !idleNotice(hook) && !(in.Found && in.Dialog == "" && lastChange.After(hook.At)) {
		// The hook's word stands until the screen shows the prompt again after it.
		why := "the agent waits for the user"
		if hook.Message != "" {
			why += ": " + hook.Message
		}
		return not(BlockDialog, why)
	}
	switch {
	case in.Dialog != "":
		return not(BlockDialog, in.Dialog)
	case !in.Found:
		return not(BlockNoPrompt, "the agent's input prompt is not on the screen (starting up, or a full-screen view)")
	case in.Text != "":
		return not(BlockDraft, fmt.Sprintf("the input box holds text (a person's draft?): %q", Tail(Squash(in.Text), 40)))
	}
	if hook != nil && hook.State == HookBusy && now.Sub(lastChange) < BusyQuiet {
		return not(BlockBusy, "the agent is busy in a turn (its hooks say so)")
	}
	r.Ready = true
	return r
}

// idleNotice reports whether a "waiting" hook is only Claude Code's idle reminder ("Claude is
// waiting for your input", notification_type idle_prompt): the agent is idle, not in a
// dialog.
func idleNotice(h *HookState) bool {
	return strings.Contains(strings.ToLower(h.Message), "waiting for your input")
}
