package tmux

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// PaneActivity is one pane as ListActivity sees it: the few fields that are cheap for tmux
// to expand, for watching many panes once a second.
type PaneActivity struct {
	// ID is the pane id, "%N".
	ID string
	// Activity is the time of the last output into the pane's window, in whole seconds
	// since the epoch (window_activity; tmux updates it for every window, attached or not).
	Activity int64
	// Dead reports whether the pane's program has exited (remain-on-exit).
	Dead bool
	// PID is the pid of the pane's first process; a new one means the pane was respawned.
	PID int
}

// activityFormat is one line per pane: id, activity, dead, pid. At 1000 panes tmux expands
// it in about 4 ms, against 16 ms for the full ListPanes format.
const activityFormat = "#{pane_id} #{window_activity} #{pane_dead} #{pane_pid}"

// ListActivity lists every pane of the server with its activity time, dead flag and pid.
func ListActivity(ctx context.Context, r Runner) ([]PaneActivity, error) {
	lines, err := r.Run(ctx, Cmd{"list-panes", "-a", "-F", activityFormat})
	if err != nil {
		return nil, fmt.Errorf("listing pane activity: %w", err)
	}
	out := make([]PaneActivity, 0, len(lines))
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) != 4 || !validPaneID(f[0]) {
			return nil, fmt.Errorf("listing pane activity: unexpected line %q", shorten(l))
		}
		act, err1 := strconv.ParseInt(f[1], 10, 64)
		pid, err2 := strconv.Atoi(f[3])
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("listing pane activity: unexpected line %q", shorten(l))
		}
		out = append(out, PaneActivity{ID: f[0], Activity: act, Dead: f[2] == "1", PID: pid})
	}
	return out, nil
}

// PaneInfo returns pane id as ListPanes would list it.
func PaneInfo(ctx context.Context, r Runner, id string) (Pane, error) {
	lines, err := r.Run(ctx, Cmd{"display-message", "-p", "-t", id, paneFormat})
	if err != nil {
		return Pane{}, fmt.Errorf("reading pane %s: %w", id, err)
	}
	panes, skipped := parsePanes(lines)
	if len(skipped) > 0 {
		return Pane{}, fmt.Errorf("reading pane %s: %s: %q", id, skipped[0].Reason, skipped[0].Record)
	}
	if len(panes) != 1 || panes[0].ID != id {
		return Pane{}, fmt.Errorf("reading pane %s: %w", id, ErrTargetNotFound)
	}
	return panes[0], nil
}
