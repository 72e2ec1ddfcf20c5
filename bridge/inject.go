package bridge

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/tmux"
)

// promptEnds are the characters an empty prompt line ends with (bash's $ and #, zsh's %,
// the > of Claude Code and Codex, ❯ › » of fancy prompts).
const promptEnds = ">$#%❯›»"

// injection is the result of typing one line into a pane and submitting it.
type injection struct {
	outcome      bus.Outcome
	typed        time.Time
	submitted    time.Time
	enterPresses int
	queued       bool
	reason       string
}

// screen is what the pane shows around its cursor.
type screen struct {
	lines      []string
	cursorLine string // the line the cursor is on, up to the cursor
	beforeCur  string // the line before the cursor line and the cursor line up to the cursor (text may wrap)
}

func (b *Bridge) readScreen(ctx context.Context, pane string) (screen, error) {
	r := b.runner()
	pos, err := r.Run(ctx, tmux.Cmd{"display-message", "-p", "-t", pane, "--", "#{cursor_x} #{cursor_y}"})
	if err != nil || len(pos) == 0 {
		return screen{}, fmt.Errorf("reading the cursor of %s: %v", pane, err)
	}
	var x, y int
	if _, err := fmt.Sscanf(pos[0], "%d %d", &x, &y); err != nil {
		return screen{}, fmt.Errorf("reading the cursor of %s: %q", pane, pos[0])
	}
	lines, err := tmux.CapturePane(ctx, r, pane)
	if err != nil {
		return screen{}, err
	}
	s := screen{lines: lines}
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
func (b *Bridge) waitReady(ctx context.Context, pane string) (string, error) {
	deadline := time.Now().Add(b.cfg.TypingWait)
	for {
		inMode, err := tmux.PaneInMode(ctx, b.runner(), pane)
		if err != nil {
			return "", err
		}
		scr, err := b.readScreen(ctx, pane)
		if err != nil {
			return "", err
		}
		if !inMode && scr.inputEmpty() {
			return "", nil
		}
		if time.Now().After(deadline) {
			if inMode && scr.inputEmpty() {
				b.log.Info("leaving copy mode to deliver")
				return "", tmux.CancelMode(ctx, b.runner(), pane)
			}
			return fmt.Sprintf("the input line was not empty for %s (a person typing?); not typed, so their text is left alone", b.cfg.TypingWait), nil
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// inject types text into pane, presses Enter after EnterDelay, and checks that the agent
// took it, pressing Enter again up to EnterRetries times. It never sends C-c or C-u.
func (b *Bridge) inject(ctx context.Context, pane, text string) injection {
	var res injection
	if err := tmux.SendText(ctx, b.runner(), pane, text); err != nil {
		return injection{outcome: bus.Undeliverable, reason: "typing failed: " + err.Error()}
	}
	res.typed = time.Now()
	delay := b.cfg.EnterDelay
	for res.enterPresses <= b.cfg.EnterRetries {
		if !sleep(ctx, delay) {
			return injection{outcome: bus.Unconfirmed, typed: res.typed, reason: "stopped before Enter"}
		}
		if err := tmux.SendEnter(ctx, b.runner(), pane); err != nil {
			res.outcome, res.reason = bus.Unconfirmed, "pressing Enter failed: "+err.Error()
			return res
		}
		res.enterPresses++
		pressed := time.Now()
		if !sleep(ctx, b.cfg.VerifyDelay) {
			break
		}
		scr, err := b.readScreen(ctx, pane)
		if err != nil {
			res.outcome, res.reason = bus.Unconfirmed, "checking submission failed: "+err.Error()
			return res
		}
		if !scr.holds(text) {
			res.outcome, res.submitted, res.queued = bus.Delivered, pressed, scr.queuedMarker()
			return res
		}
		delay = b.cfg.EnterDelay * time.Duration(1<<res.enterPresses)
	}
	res.outcome = bus.Unconfirmed
	res.reason = "typed, but the input line still held the text after " + strconv.Itoa(res.enterPresses) +
		" Enter presses (a dialog open, or the agent ignoring Enter)"
	return res
}

func sleep(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}
