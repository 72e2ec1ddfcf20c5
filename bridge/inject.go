package bridge

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/internal/agentstate"
	"github.com/tmux-orc/tmux-orc/tmux"
)

// verifyPoll is the first pause before checking that Enter was taken; it doubles up to
// VerifyDelay.
const verifyPoll = 5 * time.Millisecond

// gatePoll is how often a pane that is not ready is looked at again (a hook event looks at
// once).
const gatePoll = 100 * time.Millisecond

// ShellWait is how long a pane must keep running a shell before its messages are recorded
// undeliverable ("the pane runs a shell"): a command started through `sh -c` shows the shell
// for a moment before it execs the agent.
const ShellWait = 3 * time.Second

// Injector types messages into panes and checks that agents took them. The bridge's
// writers use one, and so does DeliverDirect (the CLI's fallback when the daemon is
// unreachable).
type Injector struct {
	// Runner reaches the tmux server: a control connection, or a spawned tmux per command.
	Runner func() tmux.Runner
	// EnterDelay, VerifyDelay, EnterRetries and ReadyWait are as in Config.
	EnterDelay   time.Duration
	VerifyDelay  time.Duration
	EnterRetries int
	ReadyWait    time.Duration
	// Tracker holds the hook state of the panes (nil: screens and pane facts only).
	Tracker *agentstate.Tracker
	Log     *zap.Logger
}

// NewInjector returns an injector with the configuration's timing.
func NewInjector(cfg Config, runner func() tmux.Runner, log *zap.Logger) *Injector {
	return &Injector{Runner: runner, EnterDelay: cfg.EnterDelay, VerifyDelay: cfg.VerifyDelay,
		EnterRetries: cfg.EnterRetries, ReadyWait: cfg.ReadyWait, Tracker: cfg.Tracker, Log: log}
}

// Injection is the result of typing one line into a pane and submitting it.
type Injection struct {
	Outcome      bus.Outcome
	Typed        time.Time
	Submitted    time.Time
	EnterPresses int
	Queued       bool
	Reason       string
	// Left: the typed text still sits in the input box (not submitted).
	Left bool
}

// Gate reads pane p (one tmux round trip) and says whether it can be typed into now: the
// agent's own input prompt with an empty box, no dialog, picker or menu, not copy mode, not
// a shell (unless the pane opted in), not starting up, not busy in a turn by its hooks.
func (b *Injector) Gate(ctx context.Context, p tmux.Pane) (agentstate.Readiness, agentstate.Screen, error) {
	s, err := agentstate.ReadScreen(ctx, b.Runner(), p.ID)
	if err != nil {
		return agentstate.Readiness{}, s, err
	}
	now := time.Now()
	var hook *agentstate.HookState
	changed := now
	if b.Tracker != nil {
		hook, changed = b.Tracker.Observe(p.ID, s, now)
	}
	return agentstate.Assess(p, s, hook, changed, now), s, nil
}

// WaitReady waits until pane p can be typed into, up to ReadyWait (a shell: ShellWait; a
// dead pane: not at all). It returns "" when it is ready, else why not. A pane only kept
// from it by copy mode is taken out of copy mode after the wait (a tmux command, not a key).
func (b *Injector) WaitReady(ctx context.Context, p tmux.Pane) (string, error) {
	start := time.Now()
	for {
		rd, _, err := b.Gate(ctx, p)
		if err != nil {
			return "", err
		}
		if rd.Ready {
			return "", nil
		}
		if limit := waitFor(rd.Blocker, b.ReadyWait); time.Since(start) >= limit {
			if rd.Blocker == agentstate.BlockMode {
				b.Log.Info("leaving copy mode to deliver", zap.String("pane", p.ID))
				if err := tmux.CancelMode(ctx, b.Runner(), p.ID); err != nil {
					return "", err
				}
				start = time.Now()
				continue
			}
			return notReady(rd, limit), nil
		}
		if !sleep(ctx, gatePoll) {
			return "", ctx.Err()
		}
	}
}

// BusyWait is how long a message waits for an agent that its hooks report busy in a turn
// (and whose screen keeps moving): a turn may last long, and the message is handed over by
// its Stop hook, or typed once it is idle.
const BusyWait = 30 * time.Minute

// waitFor is how long a message waits for a pane kept from typing by blocker.
func waitFor(blocker agentstate.Blocker, readyWait time.Duration) time.Duration {
	switch blocker {
	case agentstate.BlockDead:
		return 0
	case agentstate.BlockShell:
		return min(ShellWait, readyWait)
	case agentstate.BlockBusy:
		return max(BusyWait, readyWait)
	}
	return readyWait
}

// notReady says why a message was not typed after waiting (the wait for its blocker).
func notReady(rd agentstate.Readiness, wait time.Duration) string {
	if rd.Blocker == agentstate.BlockDead || rd.Blocker == agentstate.BlockShell {
		return rd.Reason
	}
	return fmt.Sprintf("not typed: the pane was not ready for %s: %s", wait, rd.Reason)
}

// Inject types text into pane p, which Gate just found ready, presses Enter after
// EnterDelay, and checks that the agent took it. It never sends C-c or C-u.
func (b *Injector) Inject(ctx context.Context, p tmux.Pane, text string) Injection {
	if err := tmux.SendText(ctx, b.Runner(), p.ID, text); err != nil {
		return Injection{Outcome: bus.Undeliverable, Reason: "typing failed: " + err.Error()}
	}
	return b.Submit(ctx, p, text, time.Now())
}

// Submit presses Enter for text already typed into pane p (at typed) and checks that the
// agent took it, pressing Enter again with backoff up to EnterRetries times. Before every
// Enter it reads the screen: Enter is pressed only while the typed text sits in the agent's
// input box and no dialog, menu or copy mode could take the key instead.
func (b *Injector) Submit(ctx context.Context, p tmux.Pane, text string, typed time.Time) Injection {
	res := Injection{Typed: typed}
	prof := agentstate.ProfileOf(agentstate.KindOf(p))
	delay := b.EnterDelay
	var lastPress time.Time
	for res.EnterPresses <= b.EnterRetries {
		if !sleep(ctx, delay) {
			res.Outcome, res.Reason, res.Left = bus.Unconfirmed, "stopped before Enter", true
			return res
		}
		if res.EnterPresses > 0 {
			// Before another Enter: a text that left the box since was taken by the last one
			// (the agent was slow to redraw).
			s, err := agentstate.ReadScreen(ctx, b.Runner(), p.ID)
			if err == nil && !prof.Holds(s, text) {
				res.Outcome, res.Submitted, res.Queued = bus.Delivered, lastPress, queuedMarker(s.Lines)
				return res
			}
		}
		// A busy machine may draw the typed text late: give it up to textShows to appear.
		var s agentstate.Screen
		var why string
		for shown := time.Now().Add(textShows); ; {
			var err error
			s, err = agentstate.ReadScreen(ctx, b.Runner(), p.ID)
			if err != nil {
				res.Outcome, res.Reason = bus.Unconfirmed, "reading the pane before Enter failed: "+err.Error()
				return res
			}
			why = enterUnsafe(p, s, prof, text, res.EnterPresses == 0)
			if why != notShown || time.Now().After(shown) || !sleep(ctx, 20*time.Millisecond) {
				break
			}
		}
		if why != "" {
			res.Outcome, res.Reason = bus.Unconfirmed, "typed, but Enter was not pressed: "+why
			res.Left = prof.Holds(s, text)
			return res
		}
		if err := tmux.SendEnter(ctx, b.Runner(), p.ID); err != nil {
			res.Outcome, res.Reason = bus.Unconfirmed, "pressing Enter failed: "+err.Error()
			return res
		}
		res.EnterPresses++
		pressed := time.Now()
		lastPress = pressed
		// Poll the screen until the text leaves the input box or VerifyDelay passes: most
		// agents clear it within milliseconds, and the pane is busy until we know.
		for wait := verifyPoll; ; wait = min(wait*2, b.VerifyDelay) {
			if !sleep(ctx, wait) {
				res.Outcome, res.Reason = bus.Unconfirmed, "stopped while checking submission"
				return res
			}
			s, err := agentstate.ReadScreen(ctx, b.Runner(), p.ID)
			if err != nil {
				res.Outcome, res.Reason = bus.Unconfirmed, "checking submission failed: "+err.Error()
				return res
			}
			if !prof.Holds(s, text) {
				res.Outcome, res.Submitted, res.Queued = bus.Delivered, pressed, queuedMarker(s.Lines)
				return res
			}
			if time.Since(pressed) >= b.VerifyDelay {
				break
			}
		}
		delay = b.EnterDelay * time.Duration(1<<res.EnterPresses)
	}
	res.Outcome, res.Left = bus.Unconfirmed, true
	res.Reason = "typed, but the input box still held the text after " + strconv.Itoa(res.EnterPresses) +
		" Enter presses (the agent ignoring Enter?); Enter is tried again every 2s for a minute while the pane is otherwise ready"
	return res
}

// enterUnsafe says why Enter must not be pressed now, "" when it is safe: the typed text
// sits in the agent's input box, and nothing (a dialog, a menu, copy mode, a shell) could
// take the key instead. A program that shows no input box (cat) gets its first Enter when
// nothing else is in the way.
func enterUnsafe(p tmux.Pane, s agentstate.Screen, prof *agentstate.Profile, text string, first bool) string {
	switch {
	case s.Dead:
		return "the pane died"
	case s.InMode:
		return "the pane is in copy mode"
	case s.Shell && !agentstate.AllowsShell(p):
		return "the pane runs a shell"
	}
	in := prof.Input(s)
	if in.Dialog != "" {
		return in.Dialog
	}
	if prof.Holds(s, text) {
		return ""
	}
	if first && prof.Name == string(agentstate.Generic) {
		return "" // nothing to compare with: the program does not echo what it reads
	}
	return notShown
}

// notShown is why Enter is not pressed when the typed text is not in the input box.
const notShown = "the typed text is not in the input box"

// textShows is how long typed text may take to appear in the input box before Enter (a
// loaded machine draws Claude Code's box late).
const textShows = 5 * time.Second

// queuedMarker reports whether the agent shows typed input as queued (it was busy).
func queuedMarker(lines []string) bool {
	for _, l := range lines {
		if strings.Contains(l, "Queued") {
			return true
		}
	}
	return false
}

// Holds reports whether text sits unsubmitted in the input box of pane p.
func (b *Injector) Holds(ctx context.Context, p tmux.Pane, text string) (bool, error) {
	s, err := agentstate.ReadScreen(ctx, b.Runner(), p.ID)
	if err != nil {
		return false, err
	}
	return agentstate.ProfileOf(agentstate.KindOf(p)).Holds(s, text), nil
}

func sleep(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}
