package agentstate

import (
	"path"
	"strings"

	"github.com/tmux-orc/tmux-orc/tmux"
)

// Kind is the kind of program in a pane, which selects its screen profile.
type Kind string

// Agent kinds.
const (
	// ClaudeCode is Anthropic's Claude Code TUI (2.x): an input box starting with "❯ "
	// between two horizontal rules.
	ClaudeCode Kind = "claude-code"
	// Codex is OpenAI's Codex CLI.
	Codex Kind = "codex"
	// Generic is any other program: a "> " composer line, or the cursor after a prompt.
	Generic Kind = "generic"
	// Shell is an interactive shell. It is typed into only when a person declared it
	// (@orc-agent shell): whatever is typed there runs as a command.
	Shell Kind = "shell"
)

// AgentOption is the tmux user option that declares a pane's agent kind.
const AgentOption = "@orc-agent"

// shells are the programs that count as interactive shells.
var shells = map[string]bool{"sh": true, "bash": true, "dash": true, "zsh": true, "fish": true, "ksh": true,
	"mksh": true, "pdksh": true, "oksh": true, "loksh": true, "yash": true, "posh": true, "ash": true, "busybox": true,
	"tcsh": true, "csh": true, "nu": true, "nushell": true, "pwsh": true, "powershell": true, "elvish": true,
	"xonsh": true, "ion": true, "oil": true, "osh": true, "ysh": true, "rc": true, "es": true, "murex": true,
	"ngs": true, "tclsh": true, "rbash": true}

// IsShell reports whether command (a pane_current_command) is an interactive shell; a
// login shell's leading "-" and a directory are ignored.
func IsShell(command string) bool {
	c := strings.TrimPrefix(strings.TrimSpace(command), "-")
	return shells[path.Base(c)]
}

// ParseKind reads a declared kind; ok is false for an unknown value.
func ParseKind(s string) (Kind, bool) {
	switch k := Kind(strings.ToLower(strings.TrimSpace(s))); k {
	case ClaudeCode, Codex, Generic, Shell:
		return k, true
	case "claude":
		return ClaudeCode, true
	}
	return "", false
}

// KindOf returns the agent kind of a pane: declared with @orc-agent, else detected from its
// current command (claude, codex; a shell; generic otherwise).
func KindOf(p tmux.Pane) Kind {
	if k, ok := ParseKind(p.Agent); ok {
		return k
	}
	return KindOfCommand(p.Command)
}

// KindOfCommand detects the agent kind from a pane_current_command.
func KindOfCommand(command string) Kind {
	c := strings.ToLower(path.Base(strings.TrimSpace(command)))
	switch {
	case c == "claude" || strings.HasPrefix(c, "claude-") || c == "claude-code":
		return ClaudeCode
	case c == "codex" || strings.HasPrefix(c, "codex-"):
		return Codex
	case IsShell(command):
		return Shell
	}
	return Generic
}

// AllowsShell reports whether a person declared that the pane may be typed into while it
// runs a shell (@orc-agent shell).
func AllowsShell(p tmux.Pane) bool {
	k, ok := ParseKind(p.Agent)
	return ok && k == Shell
}
