package claudetest

import (
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// waitTimeout bounds every Wait helper; the real TUI answers the stand-in in about a second.
const waitTimeout = 30 * time.Second

// promptGlyph starts the input box line; Claude Code follows it with a no-break space.
const promptGlyph = "❯"

func (c *Claude) tmux(args ...string) (string, error) {
	out, err := exec.Command("tmux", c.Server.Socket.Args(args...)...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("tmux %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// Capture returns the visible screen as text (capture-pane -p), or "" when it cannot.
func (c *Claude) Capture() string {
	out, _ := c.tmux("capture-pane", "-p", "-t", c.Pane)
	return out
}

// CaptureEscapes returns the visible screen with colours and attributes (capture-pane -p -e).
func (c *Claude) CaptureEscapes() string {
	out, _ := c.tmux("capture-pane", "-p", "-e", "-t", c.Pane)
	return out
}

// Cursor returns tmux's cursor position in the pane (from 0).
func (c *Claude) Cursor() (x, y int) {
	out, err := c.tmux("display-message", "-p", "-t", c.Pane, "#{cursor_x},#{cursor_y}")
	if err != nil {
		c.t.Fatal(err)
	}
	xs, ys, _ := strings.Cut(strings.TrimSpace(out), ",")
	x, _ = strconv.Atoi(xs)
	y, _ = strconv.Atoi(ys)
	return x, y
}

// Type types text literally (send-keys -l), without Enter.
func (c *Claude) Type(text string) {
	c.t.Helper()
	if _, err := c.tmux("send-keys", "-t", c.Pane, "-l", "--", text); err != nil {
		c.t.Fatal(err)
	}
}

// Keys sends tmux key names (Enter, Escape, Home, C-j, ...).
func (c *Claude) Keys(keys ...string) {
	c.t.Helper()
	if _, err := c.tmux(append([]string{"send-keys", "-t", c.Pane}, keys...)...); err != nil {
		c.t.Fatal(err)
	}
}

// Submit types text and then presses Enter, as a person would.
func (c *Claude) Submit(text string) {
	c.t.Helper()
	c.Type(text)
	c.Keys("Enter")
}

// WaitScreen polls the screen until cond holds and returns it; it fails the test after 30 s.
func (c *Claude) WaitScreen(what string, cond func(screen string) bool) string {
	c.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		s := c.Capture()
		if cond(s) {
			return s
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("timed out waiting for %s; screen:\n%s", what, s)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// WaitText waits until the screen contains sub.
func (c *Claude) WaitText(sub string) string {
	c.t.Helper()
	return c.WaitScreen(fmt.Sprintf("%q on screen", sub), func(s string) bool { return strings.Contains(s, sub) })
}

// WaitPrompt waits until Claude Code shows its input box empty (placeholders count as empty)
// with the cursor in it: it would take a typed prompt.
func (c *Claude) WaitPrompt() {
	c.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		box, ok := InputBox(c.Capture())
		if ok {
			x, y := c.Cursor()
			if x == 2 && y == box.Row && (box.Text == "" || box.Placeholder(c.CaptureEscapes())) {
				return
			}
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("timed out waiting for the empty prompt; screen:\n%s", c.Capture())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Box is Claude Code's input box as found on a screen.
type Box struct {
	// Row is the screen line (from 0) of the box's first line, the one starting with ❯.
	Row int
	// Lines are the box's lines without the ❯ and the two-space indent of continuation lines,
	// right-trimmed.
	Lines []string
	// Text is Lines joined by newlines, trimmed: "" for an empty box. A placeholder
	// ("Resend your message to try again") reads as text here.
	Text string
}

// InputBox finds the input box on a plain screen capture: the last pair of full-width ─ rules
// whose first line in between starts with ❯. ok is false when there is none (start-up, a dialog
// or a picker covering the bottom of the screen).
func InputBox(screen string) (box Box, ok bool) {
	lines := strings.Split(strings.TrimRight(screen, "\n"), "\n")
	lower := -1
	for i := len(lines) - 1; i >= 0; i-- {
		if isRule(lines[i]) {
			lower = i
			break
		}
	}
	if lower < 0 {
		return Box{}, false
	}
	upper := -1
	for i := lower - 1; i >= 0; i-- {
		if isRule(lines[i]) {
			upper = i
			break
		}
	}
	if upper < 0 || upper+1 >= lower || !strings.HasPrefix(lines[upper+1], promptGlyph) {
		return Box{}, false
	}
	box.Row = upper + 1
	for i := upper + 1; i < lower; i++ {
		l := lines[i]
		if i == upper+1 {
			l = strings.TrimPrefix(l, promptGlyph)
			l = strings.TrimPrefix(strings.TrimPrefix(l, "\u00a0"), " ")
		} else {
			l = strings.TrimPrefix(l, "  ")
		}
		box.Lines = append(box.Lines, strings.TrimRight(l, " \u00a0"))
	}
	box.Text = strings.TrimSpace(strings.Join(box.Lines, "\n"))
	return box, true
}

// isRule reports whether line is a horizontal rule of ─ (at least 20 of them, nothing else).
func isRule(line string) bool {
	line = strings.TrimRight(line, " ")
	return strings.Count(line, "─") >= 20 && strings.Trim(line, "─") == ""
}

// Placeholder reports whether the box holds a dim placeholder (such as "Resend your message to
// try again"), not a draft, given the same screen with escapes (CaptureEscapes):
// Claude Code draws its cursor on the first letter in reverse video and the rest dim.
func (b Box) Placeholder(escaped string) bool {
	lines := strings.Split(escaped, "\n")
	if b.Row >= len(lines) || len(b.Lines) != 1 {
		return false
	}
	l := lines[b.Row]
	i := strings.Index(l, "\x1b[7m")
	if i < 0 {
		return false
	}
	rest := l[i+len("\x1b[7m"):]
	_, after, found := strings.Cut(rest, "\x1b[0;2m")
	_, size := utf8.DecodeRuneInString(b.Text)
	return found && strings.Contains(after, b.Text[size:])
}
