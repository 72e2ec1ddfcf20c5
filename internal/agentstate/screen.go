package agentstate

import (
	"context"
	"fmt"
	"strconv"
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
	// Command is the pane's foreground command (control characters replaced by '?').
	Command string
	// attrs holds, per line and rune, the dim and reverse attributes (from capture-pane -e).
	attrs [][]uint8
}

// factsFormat prints numbers, then the foreground command with every control character
// replaced (tmux.TextField), so no name a program gives itself can break the line.
var factsFormat = "#{pane_in_mode} #{cursor_x} #{cursor_y} #{pane_width} #{pane_dead} #{pane_pid} " +
	tmux.TextField("pane_current_command")

// ReadScreen reads pane's facts and screen in one tmux round trip (about 0.05 ms over a
// control connection).
func ReadScreen(ctx context.Context, r tmux.Runner, pane string) (Screen, error) {
	lines, err := r.Run(ctx,
		tmux.Cmd{"display-message", "-p", "-t", pane, "--", factsFormat},
		tmux.Cmd{"capture-pane", "-p", "-e", "-t", pane})
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
	s.Lines, s.attrs = parseEscapes(lines[1:])
	return s, nil
}

// ScreenFromEscapes builds a Screen from capture-pane -p -e lines (for tests and tools).
func ScreenFromEscapes(lines []string, cursorX, cursorY, width int) Screen {
	s := Screen{CursorX: cursorX, CursorY: cursorY, Width: width}
	s.Lines, s.attrs = parseEscapes(lines)
	return s
}

// ParseFacts parses the facts line of ReadScreen.
func ParseFacts(line string) (Screen, error) {
	var s Screen
	var mode, dead int
	f := strings.SplitN(line, " ", 7)
	if len(f) < 6 {
		return Screen{}, fmt.Errorf("unexpected pane facts %q", line)
	}
	for i, p := range []*int{&mode, &s.CursorX, &s.CursorY, &s.Width, &dead, &s.PID} {
		n, err := strconv.Atoi(f[i])
		if err != nil {
			return Screen{}, fmt.Errorf("unexpected pane facts %q", line)
		}
		*p = n
	}
	if len(f) == 7 {
		s.Command = f[6]
	}
	s.InMode, s.Dead, s.Shell = mode != 0, dead != 0, IsShell(s.Command)
	return s, nil
}

// cursorLine returns the cursor's line split at the cursor.
func (s Screen) cursorLine() (before, after string) {
	if s.CursorY < 0 || s.CursorY >= len(s.Lines) {
		return "", ""
	}
	rs := []rune(s.Lines[s.CursorY])
	x := runeAtCell(rs, s.CursorX)
	return string(rs[:x]), string(rs[x:])
}

// runeAtCell returns the index of the rune at screen column x: wide characters (CJK, most
// emoji) take two columns, combining marks and variation selectors none.
func runeAtCell(rs []rune, x int) int {
	col := 0
	for i, r := range rs {
		if col >= x && cellWidth(r) > 0 {
			return i
		}
		col += cellWidth(r)
	}
	return len(rs)
}

func cellWidth(r rune) int {
	switch {
	case r == 0x200D || (r >= 0x200B && r <= 0x200F) || (r >= 0xFE00 && r <= 0xFE0F) || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Me, r):
		return 0
	case (r >= 0x1100 && r <= 0x115F) || (r >= 0x2E80 && r <= 0xA4CF) || (r >= 0xAC00 && r <= 0xD7A3) ||
		(r >= 0xF900 && r <= 0xFAFF) || (r >= 0xFE30 && r <= 0xFE4F) || (r >= 0xFF00 && r <= 0xFF60) ||
		(r >= 0xFFE0 && r <= 0xFFE6) || (r >= 0x1F300 && r <= 0x1F64F) || (r >= 0x1F680 && r <= 0x1F6FF) ||
		(r >= 0x1F900 && r <= 0x1F9FF) || (r >= 0x20000 && r <= 0x3FFFD):
		return 2
	}
	return 1
}

// cursorRow returns the cursor's whole line, right-trimmed, with the lines above it that
// the same text wrapped from (full-width lines).
func (s Screen) cursorRow() string {
	if s.CursorY < 0 || s.CursorY >= len(s.Lines) {
		return ""
	}
	row := strings.TrimRightFunc(s.Lines[s.CursorY], unicode.IsSpace)
	for y := s.CursorY - 1; y >= 0 && s.Width > 0 && len([]rune(s.Lines[y])) >= s.Width; y-- {
		row = s.Lines[y] + row
	}
	return row
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
