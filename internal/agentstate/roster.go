package agentstate

import (
	"strconv"
	"strings"

	"github.com/tmux-orc/tmux-orc/subjects"
	"github.com/tmux-orc/tmux-orc/tmux"
)

// Roles a pane declares with the tmux user option @orc-role (on the pane or its window).
const (
	RoleAgent        = "agent"
	RolePM           = "pm"
	RoleOrchestrator = "orchestrator"
	// RoleNone excludes a pane: it receives no group messages and is never chosen for a
	// window's messages while another pane of the window has a role.
	RoleNone = "none"
)

// Groups returns the groups of a pane: the comma-separated @orc-group option plus those its
// role implies. An unset role counts as agent. pm and orchestrator are in "management",
// agents in "agents", and every pane with a role other than none in "all".
func Groups(p tmux.Pane) []string {
	var gs []string
	switch role(p) {
	case RolePM, RoleOrchestrator:
		gs = append(gs, "management", "all")
	case RoleNone:
	default:
		gs = append(gs, "agents", "all")
	}
	for _, g := range strings.Split(p.Group, ",") {
		if g = strings.TrimSpace(g); g != "" {
			gs = append(gs, g)
		}
	}
	return gs
}

// Role returns the pane's role in lower case; an unset role is RoleAgent.
func Role(p tmux.Pane) string { return role(p) }

// IsNone reports whether the pane opted out (@orc-role none): it gets no group messages and
// is not watched.
func IsNone(p tmux.Pane) bool { return role(p) == RoleNone }

// IsManagement reports whether the pane is a PM or an orchestrator (group management).
func IsManagement(p tmux.Pane) bool {
	r := role(p)
	return r == RolePM || r == RoleOrchestrator
}

func role(p tmux.Pane) string {
	r := strings.ToLower(strings.TrimSpace(p.Role))
	if r == "" {
		return RoleAgent
	}
	return r
}

// PaneTarget renders a pane as session:window.pane.
func PaneTarget(p tmux.Pane) string {
	return p.Session + ":" + strconv.Itoa(p.WindowIndex) + "." + strconv.Itoa(p.Index)
}

// Resolve picks the panes of session (from the snapshot) that a message for a should
// reach. A window is named by index or by name; its pane is the one with an explicit role
// (other than none), else the window's active pane. A session as a whole means its current
// window. A group means every pane of the session in that group; with session "" (a
// group everywhere), of every session.
func Resolve(panes []tmux.Pane, session string, a subjects.Address) []tmux.Pane {
	var out []tmux.Pane
	switch a.Kind {
	case subjects.KindGroup:
		for _, p := range panes {
			if (session != "" && p.Session != session) || role(p) == RoleNone {
				continue
			}
			for _, g := range Groups(p) {
				if g == a.Group {
					out = append(out, p)
					break
				}
			}
		}
		return out
	case subjects.KindSession:
		if a.Session != session {
			return nil
		}
		var window []tmux.Pane
		for _, p := range panes {
			if p.Session != session {
				continue
			}
			if (a.Window == "" && p.WindowActive) || (a.Window != "" && (strconv.Itoa(p.WindowIndex) == a.Window || p.Window == a.Window)) {
				window = append(window, p)
			}
		}
		if len(window) == 0 {
			return nil
		}
		// A window index wins over a window name when both match different windows.
		byIndex := window[:0:0]
		for _, p := range window {
			if strconv.Itoa(p.WindowIndex) == a.Window {
				byIndex = append(byIndex, p)
			}
		}
		if len(byIndex) > 0 {
			window = byIndex
		}
		for _, p := range window {
			if strings.TrimSpace(p.Role) != "" && role(p) != RoleNone {
				return []tmux.Pane{p}
			}
		}
		for _, p := range window {
			if p.Active {
				return []tmux.Pane{p}
			}
		}
		return window[:1]
	}
	return nil
}
