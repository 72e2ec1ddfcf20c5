package bridge

import (
	"github.com/tmux-orc/tmux-orc/internal/agentstate"
	"github.com/tmux-orc/tmux-orc/subjects"
	"github.com/tmux-orc/tmux-orc/tmux"
)

// The roster (roles, groups, which pane a target means) lives in package agentstate, shared
// with the monitor. These names keep the bridge's API.
const (
	RoleAgent        = agentstate.RoleAgent
	RolePM           = agentstate.RolePM
	RoleOrchestrator = agentstate.RoleOrchestrator
	RoleNone         = agentstate.RoleNone
)

// Groups is agentstate.Groups.
func Groups(p tmux.Pane) []string { return agentstate.Groups(p) }

// PaneTarget is agentstate.PaneTarget.
func PaneTarget(p tmux.Pane) string { return agentstate.PaneTarget(p) }

// Resolve is agentstate.Resolve.
func Resolve(panes []tmux.Pane, session string, a subjects.Address) []tmux.Pane {
	return agentstate.Resolve(panes, session, a)
}
