package monitor

import "github.com/tmux-orc/tmux-orc/internal/agentstate"

// The screen profiles live in package agentstate, shared with the bridge.
type (
	// Profile is agentstate.Profile.
	Profile = agentstate.Profile
	// Reading is agentstate.Reading.
	Reading = agentstate.Reading
)

// Bottom is agentstate.Bottom.
const Bottom = agentstate.Bottom

// ProfileFor is agentstate.ProfileFor.
func ProfileFor(command string) *Profile { return agentstate.ProfileFor(command) }

// IsShell is agentstate.IsShell.
func IsShell(command string) bool { return agentstate.IsShell(command) }
