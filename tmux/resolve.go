package tmux

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// ResolveTarget turns a target into a pane id (%N). It accepts:
//
//   - "%N": a pane id, checked to exist;
//   - "session": the session's current window's active pane;
//   - "session:window": the window's active pane;
//   - "session:window.pane": the pane with that index.
//
// The session is a name or a "$N" id; the window an index, a name or an
// "@N" id; an optional leading '=' on either is ignored. Names match
// exactly (no prefixes or patterns, unlike tmux). Because window names may
// contain '.' and ':', the part after the first ':' is first matched whole
// as a window, and only then split at its last '.' into window and pane
// index. A window index wins over a window whose name is that number.
//
// Targets can move between messages while pane ids cannot: resolve once per
// message and send to the pane id. Errors wrap ErrTargetNotFound or
// ErrAmbiguousTarget.
func ResolveTarget(ctx context.Context, r Runner, target string) (string, error) {
	panes, err := ListPanes(ctx, r)
	if err != nil {
		return "", fmt.Errorf("resolving %q: %w", target, err)
	}
	id, err := resolveIn(panes, target)
	if err != nil {
		return "", fmt.Errorf("resolving %q: %w", target, err)
	}
	return id, nil
}

// resolveIn resolves target against a pane list; see ResolveTarget.
func resolveIn(panes []Pane, target string) (string, error) {
	if strings.HasPrefix(target, "%") {
		for _, p := range panes {
			if p.ID == target {
				return p.ID, nil
			}
		}
		return "", ErrTargetNotFound
	}
	sess, win, hasWin := strings.Cut(target, ":")
	sess = strings.TrimPrefix(sess, "=")
	var inSess []Pane
	for _, p := range panes {
		if p.Session == sess || p.SessionID == sess {
			inSess = append(inSess, p)
		}
	}
	if len(inSess) == 0 {
		return "", fmt.Errorf("%w: no session %q", ErrTargetNotFound, sess)
	}
	if !hasWin {
		return activePane(inSess, func(p Pane) bool { return p.WindowActive })
	}
	win = strings.TrimPrefix(win, "=")
	wid, err := matchWindow(inSess, win)
	if err == nil {
		return activePane(inSess, func(p Pane) bool { return p.WindowID == wid })
	}
	dot := strings.LastIndexByte(win, '.')
	if dot < 0 {
		return "", err
	}
	idx, convErr := strconv.Atoi(win[dot+1:])
	if convErr != nil || idx < 0 {
		return "", err
	}
	wid, werr := matchWindow(inSess, strings.TrimPrefix(win[:dot], "="))
	if werr != nil {
		return "", werr
	}
	for _, p := range inSess {
		if p.WindowID == wid && p.Index == idx {
			return p.ID, nil
		}
	}
	return "", fmt.Errorf("%w: no pane %d in window %q", ErrTargetNotFound, idx, win[:dot])
}

// matchWindow returns the id of the window named by spec among panes of
// one session: by "@N" id, then index, then exact name.
func matchWindow(panes []Pane, spec string) (string, error) {
	for _, p := range panes {
		if p.WindowID == spec {
			return p.WindowID, nil
		}
	}
	if idx, err := strconv.Atoi(spec); err == nil {
		for _, p := range panes {
			if p.WindowIndex == idx {
				return p.WindowID, nil
			}
		}
	}
	found := ""
	for _, p := range panes {
		if p.Window != spec || p.WindowID == found {
			continue
		}
		if found != "" {
			return "", fmt.Errorf("%w: several windows named %q", ErrAmbiguousTarget, spec)
		}
		found = p.WindowID
	}
	if found == "" {
		return "", fmt.Errorf("%w: no window %q", ErrTargetNotFound, spec)
	}
	return found, nil
}

// activePane returns the active pane among the panes selected by in.
func activePane(panes []Pane, in func(Pane) bool) (string, error) {
	for _, p := range panes {
		if in(p) && p.Active {
			return p.ID, nil
		}
	}
	return "", fmt.Errorf("%w: no active pane", ErrTargetNotFound)
}
