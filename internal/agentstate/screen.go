package agentstate

import (
	"context"
	"fmt"
	"strings"
	"unicode"

	"github.com/tmux-orc/tmux-orc/tmux"
)

// Screen is what one pane shows, with the facts tmux knows about it, read in one round trip.
type Screen struct {
	// Lines is the visible screen, top to bottom.
	Lines []string
	// CursorX and CursorY are the cursor's column and row (0-based).
	CursorX, CursorY int
	// Width is the pane's width in cells.
	Width int
	// InMode: the pane is in copy mode (or another mode) and keys go to the mode.
	InMode bool
	// Dead: the pane's program exited (remain-on-exit).
	Dead bool
	// Shell: the pane's foreground command is an interactive shell.
	Shell bool
	// PID is the pid of the pane's first process (it changes when the pane is respawned).
	PID int
}

// factsFormat prints only numbers (no name a program chooses), so the line cannot be forged.
var factsFormat = "#{pane_in_mode} #{cursor_x} #{cursor_y} #{pane_width} #{pane_dead} " + ShellFormat() + " #{pane_pid}"

// ReadScreen reads pane's facts and screen in one tmux round trip (about 0.05 ms over a
// control connection).
func ReadScreen(ctx context.Context, r tmux.Runner, pane string) (Screen, error) {
	lines, err := r.Run(ctx,
		tmux.Cmd{"display-message", "-p", "-t", pane, "--", factsFormat},
		tmux.Cmd{"capture-pane", "-p", "-t", pane})
	if err != nil {
		return Screen{}, fmt.Errorf("reading pane %s: %w", pane, err)
	}
	if len(lines) == 0 {
		return Screen{}, fmt.Errorf("reading pane %s: no output", pane)
	}
	s, err := ParseFacts(lines[0])
	if err != nil {
		return Screen{}, fmt.Errorf("reading pane %s: %w", pane, err)
	}
	s.Lines = lines[1:]
	return s, nil
}

// ParseFacts parses the facts line of ReadScreen.
func ParseFacts(line string) (Screen, error) {
	var s Screen
	var mode, dead, shell int
	if _, err := fmt.Sscanf(line, "%d %d %d %d %d %d %d", &mode, &s.CursorX, &s.CursorY, &s.Width, &dead, &shell, &s.PID); err != nil {
		return Screen{}, fmt.Errorf("unexpected pane facts %q", line)
	}
	s.InMode, s.Dead, s.Shell = mode != 0, dead != 0, shell != 0
	return s, nil
}

// cursorLine returns the cursor's line split at the cursor.
func (s Screen) cursorLine() (before, after string) {
	if s.CursorY < 0 || s.CursorY >= len(s.Lines) {
		return "", ""
	}
	rs := []rune(s.Lines[s.CursorY])
	x := min(max(s.CursorX, 0), len(rs))
	return string(rs[:x]), string(rs[x:])
}

// beforeCursor returns the text before the cursor on its line and on the lines above that
// the same text wrapped from (full-width lines), joined.
func (s Screen) beforeCursor() string {
	before, _ := s.cursorLine()
	for y := s.CursorY - 1; y >= 0 && y < len(s.Lines) && s.Width > 0 && len([]rune(s.Lines[y])) >= s.Width; y-- {
		before = s.Lines[y] + before
	}
	return before
}

// bottom returns the indexes of the last n non-empty lines, bottom first.
func (s Screen) bottom(n int) []int {
	var out []int
	for i := len(s.Lines) - 1; i >= 0 && len(out) < n; i-- {
		if strings.TrimRightFunc(s.Lines[i], unicode.IsSpace) != "" {
			out = append(out, i)
		}
	}
	return out
}

// Squash collapses runs of white space to one space and trims the ends, so text can be
// compared with what a screen shows however it was wrapped or padded.
func Squash(s string) string { return strings.Join(strings.Fields(s), " ") }

// Tail returns the last n runes of s.
func Tail(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[len(r)-n:])
}
