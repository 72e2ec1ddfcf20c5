package tmux

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// Pane is one pane as listed by ListPanes.
type Pane struct {
	// ID is the pane id, "%N"; stable for the life of the pane.
	ID string
	// SessionID is the session id, "$N".
	SessionID string
	// Session is the session name. tmux replaces '.' and ':' in session
	// names with '_'.
	Session string
	// WindowID is the window id, "@N".
	WindowID string
	// WindowIndex is the window's index in its session.
	WindowIndex int
	// Window is the window name; it may contain any printable text.
	Window string
	// WindowActive reports whether the window is its session's current one.
	WindowActive bool
	// Index is the pane's index in its window.
	Index int
	// Active reports whether the pane is its window's active pane.
	Active bool
	// Dead reports whether the pane's program has exited (remain-on-exit).
	Dead bool
	// PID is the pid of the pane's first process.
	PID int
	// InMode reports whether the pane is in a mode (copy mode, ...), where
	// keys go to the mode instead of the program.
	InMode bool
	// Command is the name of the pane's current foreground command.
	Command string
	// Role is the user option @orc-role as the pane sees it: set on the
	// pane, or else inherited from its window (or session, or global).
	Role string
	// Group is the user option @orc-group, looked up like Role.
	Group string
	// Agent is the user option @orc-agent, looked up like Role: the agent kind a
	// person declared for the pane (claude-code, codex, generic, or shell to allow
	// typing into a shell).
	Agent string
}

// Field separators for list-panes. Record starts with RS so that a user
// option holding a newline continues its record instead of starting a new
// one; fields are split at US. tmux escapes control characters in session
// and window names, so neither separator can appear in them.
const (
	recordSep = "\x1e"
	fieldSep  = "\x1f"
)

// paneFormat prints the fields parsed by parsePane, in order.
const paneFormat = recordSep + "#{pane_id}" + fieldSep + "#{session_id}" + fieldSep +
	"#{session_name}" + fieldSep + "#{window_id}" + fieldSep + "#{window_index}" + fieldSep +
	"#{window_name}" + fieldSep + "#{window_active}" + fieldSep + "#{pane_index}" + fieldSep +
	"#{pane_active}" + fieldSep + "#{pane_dead}" + fieldSep + "#{pane_pid}" + fieldSep +
	"#{pane_in_mode}" + fieldSep + "#{pane_current_command}" + fieldSep +
	"#{@orc-agent}" + fieldSep + "#{@orc-role}" + fieldSep + "#{@orc-group}"

// paneFieldCount is the number of fields in paneFormat.
const paneFieldCount = 16

// ListPanes lists the panes of all sessions of the server.
func ListPanes(ctx context.Context, r Runner) ([]Pane, error) {
	lines, err := r.Run(ctx, Cmd{"list-panes", "-a", "-F", paneFormat})
	if err != nil {
		return nil, fmt.Errorf("listing panes: %w", err)
	}
	panes, err := parsePanes(lines)
	if err != nil {
		return nil, fmt.Errorf("listing panes: %w", err)
	}
	return panes, nil
}

// parsePanes parses list-panes output made with paneFormat. A line that
// does not start with the record separator continues the previous record
// (a user option value holding a newline).
func parsePanes(lines []string) ([]Pane, error) {
	var records []string
	for _, l := range lines {
		if strings.HasPrefix(l, recordSep) {
			records = append(records, l[len(recordSep):])
			continue
		}
		if len(records) == 0 {
			return nil, fmt.Errorf("unexpected list-panes line %q", shorten(l))
		}
		records[len(records)-1] += "\n" + l
	}
	panes := make([]Pane, 0, len(records))
	for _, rec := range records {
		p, err := parsePane(rec)
		if err != nil {
			return nil, err
		}
		panes = append(panes, p)
	}
	return panes, nil
}

func parsePane(rec string) (Pane, error) {
	f := strings.Split(rec, fieldSep)
	if len(f) < paneFieldCount {
		return Pane{}, fmt.Errorf("list-panes record has %d fields, want %d: %q",
			len(f), paneFieldCount, shorten(rec))
	}
	if len(f) > paneFieldCount {
		// Only the trailing user options can hold a separator; keep the
		// first field as the role and the rest as the group.
		f = append(f[:paneFieldCount-1], strings.Join(f[paneFieldCount-1:], fieldSep))
	}
	var p Pane
	var err error
	num := func(s, name string) int {
		if s == "" {
			return 0
		}
		n, e := strconv.Atoi(s)
		if e != nil && err == nil {
			err = fmt.Errorf("list-panes field %s: %w", name, e)
		}
		return n
	}
	p.ID = f[0]
	p.SessionID = f[1]
	p.Session = f[2]
	p.WindowID = f[3]
	p.WindowIndex = num(f[4], "window_index")
	p.Window = f[5]
	p.WindowActive = f[6] == "1"
	p.Index = num(f[7], "pane_index")
	p.Active = f[8] == "1"
	p.Dead = f[9] == "1"
	p.PID = num(f[10], "pane_pid")
	p.InMode = f[11] == "1"
	p.Command = f[12]
	p.Agent = f[13]
	p.Role = f[14]
	p.Group = f[15]
	if !validPaneID(p.ID) {
		return Pane{}, fmt.Errorf("list-panes record has pane id %q", p.ID)
	}
	return p, err
}

// validPaneID reports whether id has the form %N.
func validPaneID(id string) bool {
	if len(id) < 2 || id[0] != '%' {
		return false
	}
	for i := 1; i < len(id); i++ {
		if id[i] < '0' || id[i] > '9' {
			return false
		}
	}
	return true
}
