package bridge

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"

	"go.uber.org/zap"

	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/tmux"
)

// verifyPoll is the first pause before checking that Enter was taken; it doubles up to
// VerifyDelay.
const verifyPoll = 5 * time.Millisecond

// promptEnds are the characters an empty prompt line ends with (bash's $ and #, zsh's %,
// the > of Claude Code and Codex, ❯ › » of fancy prompts).
const promptEnds = ">$#%❯›»"

// Injector types messages into panes and checks that agents took them. The bridge uses
// one; the CLI's fallback (daemon unreachable) uses one directly.
type Injector struct {
	// Runner reaches the tmux server: a control connection, or a spawned tmux per command.
	Runner func() tmux.Runner
	// EnterDelay, VerifyDelay, EnterRetries and TypingWait are as in Config.
	EnterDelay   time.Duration
	VerifyDelay  time.Duration
	EnterRetries int
	TypingWait   time.Duration
	Log          *zap.Logger
}

// NewInjector returns an injector with the configuration's timing.
func NewInjector(cfg Config, runner func() tmux.Runner, log *zap.Logger) *Injector {
	return &Injector{Runner: runner, EnterDelay: cfg.EnterDelay, VerifyDelay: cfg.VerifyDelay,
		EnterRetries: cfg.EnterRetries, TypingWait: cfg.TypingWait, Log: log}
}

// Injection is the result of typing one line into a pane and submitting it.
type Injection struct {
	Outcome      bus.Outcome
	Typed        time.Time
	Submitted    time.Time
	EnterPresses int
	Queued       bool
	Reason       string
}

// screen is what the pane shows around its cursor.
type screen struct {
	lines      []string
	cursorLine string // the line the cursor is on, up to the cursor
	beforeCur  string // the line before the cursor line and the cursor line up to the cursor (text may wrap)
	inMode     bool   // the pane is in copy mode (or another mode): keys go to the mode
}

func (b *Injector) readScreen(ctx context.Context, pane string) (screen, error) {
	// One round trip: the cursor and mode, then the visible screen.
	lines, err := b.Runner().Run(ctx,
		tmux.Cmd{"display-message", "-p", "-t", pane, "--", "#{pane_in_mode} #{cursor_x} #{cursor_y}"},
		tmux.Cmd{"capture-pane", "-p", "-t", pane})
	if err != nil || len(lines) == 0 {
		return screen{}, fmt.Errorf("reading pane %s: %v", pane, err)
	}
	var mode, x, y int
	if _, err := fmt.Sscanf(lines[0], "%d %d %d", &mode, &x, &y); err != nil {
		return screen{}, fmt.Errorf("reading the cursor of %s: %q", pane, lines[0])
	}
	s := screen{lines: lines[1:], inMode: mode != 0}
	lines = lines[1:]
	if y >= 0 && y < len(lines) {
		rs := []rune(lines[y])
		s.cursorLine = string(rs[:min(x, len(rs))])
		s.beforeCur = s.cursorLine
		if y > 0 {
			s.beforeCur = lines[y-1] + s.cursorLine
		}
	}
	return s, nil
}

// inputEmpty reports whether nothing is typed at the prompt: the text before the cursor is
// empty or ends with a prompt character.
func (s screen) inputEmpty() bool {
	t := strings.TrimRightFunc(s.cursorLine, unicode.IsSpace)
	return t == "" || strings.ContainsRune(promptEnds, []rune(t)[len([]rune(t))-1])
}

// holds reports whether the text still sits before the cursor, i.e. in the input line (not
// yet submitted). After a submit the cursor is back at an empty prompt.
func (s screen) holds(text string) bool {
	return strings.HasSuffix(squash(s.beforeCur), tailOf(squash(tmux.Sanitize(text)), 16))
}

// queuedMarker reports whether the agent shows typed input as queued (it was busy).
func (s screen) queuedMarker() bool {
	for _, l := range s.lines {
		if strings.Contains(l, "Queued") {
			return true
		}
	}
	return false
}

func squash(s string) string { return strings.Join(strings.Fields(s), " ") }

func tailOf(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[len(r)-n:])
}

// waitReady waits until the pane can take input: not in copy mode, nothing typed at the
// prompt. A person scrolling or typing is waited for, up to TypingWait; then copy mode is
// left, but typed text is never overwritten or submitted: the message is not typed.
func (b *Injector) WaitReady(ctx context.Context, pane string) (string, error) {
	deadline := time.Now().Add(b.TypingWait)
	for {
		scr, err := b.readScreen(ctx, pane)
		if err != nil {
			return "", err
		}
		inMode := scr.inMode
		if !inMode && scr.inputEmpty() {
			return "", nil
		}
		if time.Now().After(deadline) {
			if inMode && scr.inputEmpty() {
				b.Log.Info("leaving copy mode to deliver", zap.String("pane", pane))
				return "", tmux.CancelMode(ctx, b.Runner(), pane)
			}
			return fmt.Sprintf("the input line was not empty for %s (a person typing?); not typed, so their text is left alone", b.TypingWait), nil
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Inject types text into pane, presses Enter after EnterDelay, and checks that the agent
// took it, pressing Enter again up to EnterRetries times. It never sends C-c or C-u.
func (b *Injector) Inject(ctx context.Context, pane, text string) Injection {
	if err := tmux.SendText(ctx, b.Runner(), pane, text); err != nil {
		return Injection{Outcome: bus.Undeliverable, Reason: "typing failed: " + err.Error()}
	}
	return b.Submit(ctx, pane, text, time.Now())
}

// Submit presses Enter for text already typed into pane (at typed) and checks that the
// agent took it, pressing Enter again with backoff up to EnterRetries times.
func (b *Injector) Submit(ctx context.Context, pane, text string, typed time.Time) Injection {
	res := Injection{Typed: typed}
	delay := b.EnterDelay
	for res.EnterPresses <= b.EnterRetries {
		if !sleep(ctx, delay) {
			res.Outcome, res.Reason = bus.Unconfirmed, "stopped before Enter"
			return res
		}
		if err := tmux.SendEnter(ctx, b.Runner(), pane); err != nil {
			res.Outcome, res.Reason = bus.Unconfirmed, "pressing Enter failed: "+err.Error()
			return res
		}
		res.EnterPresses++
		pressed := time.Now()
		// Poll the screen until the text leaves the input line or VerifyDelay passes: most
		// agents clear it within milliseconds, and the pane is busy until we know.
		for wait := verifyPoll; ; wait = min(wait*2, b.VerifyDelay) {
			if !sleep(ctx, wait) {
				res.Outcome, res.Reason = bus.Unconfirmed, "stopped while checking submission"
				return res
			}
			scr, err := b.readScreen(ctx, pane)
			if err != nil {
				res.Outcome, res.Reason = bus.Unconfirmed, "checking submission failed: "+err.Error()
				return res
			}
			if !scr.holds(text) {
				res.Outcome, res.Submitted, res.Queued = bus.Delivered, pressed, scr.queuedMarker()
				return res
			}
			if time.Since(pressed) >= b.VerifyDelay {
				break
			}
		}
		delay = b.EnterDelay * time.Duration(1<<res.EnterPresses)
	}
	res.Outcome = bus.Unconfirmed
	res.Reason = "typed, but the input line still held the text after " + strconv.Itoa(res.EnterPresses) +
		" Enter presses (a dialog open, or the agent ignoring Enter)"
	return res
}

// Holds reports whether text sits unsubmitted in the pane's input line.
func (b *Injector) Holds(ctx context.Context, pane, text string) (bool, error) {
	scr, err := b.readScreen(ctx, pane)
	if err != nil {
		return false, err
	}
	return scr.holds(text), nil
}

func sleep(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}
