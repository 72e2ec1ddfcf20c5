package tmux

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"go.uber.org/zap"
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

// Field separators for list-panes. A record starts with RS and its fields
// are split at US.
//
// No byte a program or a name holds can shift fields or start a record.
// tmux 3.3a prints pane_current_command (argv[0] of the foreground process,
// which any program can set to anything) without escaping, and also a window
// name given by new-window -n or new-session -n (rename-window and session
// names are escaped), so the format replaces the control characters of the
// command and of both names with '?' (TextField; about 8 µs of tmux's time
// per pane and field, BenchmarkListPanes100). The user options may hold a
// newline, which continues the record on the next line; RS and US in them
// become '?' (optionField). Every record is then checked field by field (ids
// of the form %N, $N, @N, numbers, 0/1 flags, exactly paneFieldCount fields,
// no pane twice); a record that fails is skipped and logged, never mistaken
// for another pane, and never stops the listing of the others.
const (
	recordSep = "\x1e"
	fieldSep  = "\x1f"
)

// TextField returns a format that expands variable (a format variable
// such as pane_current_command) with its control characters (C0, newline
// included, and DEL) replaced by '?', so that the value cannot break a
// line or forge fields of the output it is part of. Use it for every value
// a program or a person chooses (pane_current_command, window and session
// names, pane_title) in formats read back by tmux-orc: list-panes,
// subscriptions, display-message.
func TextField(variable string) string {
	return "#{s/[\x01-\x1f\x7f]/?/:" + variable + "}"
}

// optionField is like TextField for a user option, keeping newlines (the
// record continues on the next line) but replacing RS and US.
func optionField(option string) string {
	return "#{s/[\x1e\x1f]/?/:" + option + "}"
}

// paneFormat prints the fields parsed by parsePane, in order.
var paneFormat = recordSep + strings.Join([]string{
	"#{pane_id}", "#{session_id}", TextField("session_name"), "#{window_id}", "#{window_index}",
	TextField("window_name"), "#{window_active}", "#{pane_index}", "#{pane_active}", "#{pane_dead}",
	"#{pane_pid}", "#{pane_in_mode}", TextField("pane_current_command"),
	optionField("@orc-agent"), optionField("@orc-role"), optionField("@orc-group"),
}, fieldSep)

// paneFieldCount is the number of fields in paneFormat.
const paneFieldCount = 16

// ListPanes lists the panes of all sessions of the server. A pane whose
// record cannot be parsed is left out and logged (as a warning, on the
// runner's logger); the others are listed.
func ListPanes(ctx context.Context, r Runner) ([]Pane, error) {
	lines, err := r.Run(ctx, Cmd{"list-panes", "-a", "-F", paneFormat})
	if err != nil {
		return nil, fmt.Errorf("listing panes: %w", err)
	}
	panes, skipped := parsePanes(lines)
	if len(skipped) > 0 {
		log := runnerLogger(r)
		for _, s := range skipped {
			log.Warn("skipping a pane that list-panes printed in an unexpected form",
				zap.String("reason", s.Reason), zap.String("record", s.Record))
		}
	}
	return panes, nil
}

// skippedPane is a list-panes record parsePanes could not use.
type skippedPane struct {
	Record string // shortened
	Reason string
}

// parsePanes parses list-panes output made with paneFormat. A line that
// does not start with the record separator continues the previous record
// (a user option value holding a newline). Records that do not parse, and
// any repeated pane id, are returned as skipped.
func parsePanes(lines []string) (panes []Pane, skipped []skippedPane) {
	var records []string
	for _, l := range lines {
		if strings.HasPrefix(l, recordSep) {
			records = append(records, l[len(recordSep):])
			continue
		}
		if len(records) == 0 {
			skipped = append(skipped, skippedPane{shorten(l), "line before the first record"})
			continue
		}
		records[len(records)-1] += "\n" + l
	}
	seen := make(map[string]bool, len(records))
	panes = make([]Pane, 0, len(records))
	for _, rec := range records {
		p, err := parsePane(rec)
		if err == nil && seen[p.ID] {
			err = fmt.Errorf("pane id %s listed twice", p.ID)
		}
		if err != nil {
			skipped = append(skipped, skippedPane{shorten(rec), err.Error()})
			continue
		}
		seen[p.ID] = true
		panes = append(panes, p)
	}
	return panes, skipped
}

func parsePane(rec string) (Pane, error) {
	f := strings.Split(rec, fieldSep)
	if len(f) != paneFieldCount {
		return Pane{}, fmt.Errorf("record has %d fields, want %d", len(f), paneFieldCount)
	}
	var errs []string
	id := func(s, prefix, name string) string {
		if !validID(s, prefix) {
			errs = append(errs, fmt.Sprintf("%s %q is not %sN", name, s, prefix))
		}
		return s
	}
	num := func(s, name string) int {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || !allDigits(s) {
			errs = append(errs, fmt.Sprintf("%s %q is not a number", name, s))
		}
		return n
	}
	flag := func(s, name string) bool {
		if s != "0" && s != "1" {
			errs = append(errs, fmt.Sprintf("%s %q is not 0 or 1", name, s))
		}
		return s == "1"
	}
	p := Pane{
		ID:           id(f[0], "%", "pane_id"),
		SessionID:    id(f[1], "$", "session_id"),
		Session:      f[2],
		WindowID:     id(f[3], "@", "window_id"),
		WindowIndex:  num(f[4], "window_index"),
		Window:       f[5],
		WindowActive: flag(f[6], "window_active"),
		Index:        num(f[7], "pane_index"),
		Active:       flag(f[8], "pane_active"),
		Dead:         flag(f[9], "pane_dead"),
		PID:          num(f[10], "pane_pid"),
		InMode:       flag(f[11], "pane_in_mode"),
		Command:      f[12],
		Agent:        f[13],
		Role:         f[14],
		Group:        f[15],
	}
	if len(errs) > 0 {
		return Pane{}, errors.New(strings.Join(errs, "; "))
	}
	return p, nil
}

// validPaneID reports whether id has the form %N.
func validPaneID(id string) bool { return validID(id, "%") }

// validID reports whether id is prefix followed by decimal digits.
func validID(id, prefix string) bool {
	rest, ok := strings.CutPrefix(id, prefix)
	return ok && allDigits(rest)
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// runnerLogger returns the logger of a Runner of this package, or a no-op.
func runnerLogger(r Runner) *zap.Logger {
	var l *zap.Logger
	switch r := r.(type) {
	case *Control:
		l = r.log
	case *Exec:
		l = r.Logger
	}
	if l == nil {
		return zap.NewNop()
	}
	return l
}
