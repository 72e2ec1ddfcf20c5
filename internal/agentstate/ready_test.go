package agentstate

import (
	"strings"
	"testing"
	"time"

	"github.com/tmux-orc/tmux-orc/tmux"
)

const rule = "────────────────────────────────────────────────────────────"

// claudeScreen is a Claude Code 2.x screen: conversation, then the input box between two
// rules, then the status line.
func claudeScreen(box ...string) []string {
	return append(append([]string{"╭─── Claude Code v2.1.328 ───╮", "", "> earlier prompt", "", "● Done.", "", rule}, box...),
		rule, "  ⏸ manual mode on · ? for shortcuts")
}

func TestAssess(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	claude := tmux.Pane{ID: "%1", Command: "claude"}
	sim := tmux.Pane{ID: "%2", Command: "agentsim"}
	bash := tmux.Pane{ID: "%3", Command: "bash"}
	cat := tmux.Pane{ID: "%4", Command: "cat"}
	permission := []string{"● Bash(touch /tmp/x)", "", rule, " Bash command", "", "   touch /tmp/x", "",
		" Do you want to proceed?", " ❯ 1. Yes", "   2. Yes, and don't ask again for touch commands in /tmp", "   3. No, and tell Claude what to do differently (esc)", "", " Esc to cancel · Tab to amend"}
	tests := []struct {
		name    string
		pane    tmux.Pane
		s       Screen
		hook    *HookState
		changed time.Time
		want    Blocker
	}{
		{"claude empty box", claude, Screen{Lines: claudeScreen("❯ "), CursorY: 8, CursorX: 2}, nil, now, ""},
		{"claude draft", claude, Screen{Lines: claudeScreen("❯ half typed by a human"), CursorY: 8, CursorX: 2}, nil, now, BlockDraft},
		{"claude draft second line", claude, Screen{Lines: claudeScreen("❯ ", "  second line"), CursorY: 8, CursorX: 2}, nil, now, BlockDraft},
		{"claude permission dialog", claude, Screen{Lines: permission, CursorY: 8}, nil, now, BlockDialog},
		{"claude menu item in the box", claude, Screen{Lines: claudeScreen("❯ 1. Yes", "  2. No")}, nil, now, BlockDialog},
		{"claude model picker under the box", claude, Screen{Lines: append(claudeScreen("❯ /model"), " Select model", " ❯ 1. Default (recommended)", "   2. Opus")}, nil, now, BlockDialog},
		{"claude mcp approval", claude, Screen{Lines: []string{"New MCP server found in .mcp.json: files", "", "❯ 1. Use this and all future MCP servers in this project", "  2. Use this MCP server", "  3. Continue without using this MCP server", "", "Enter to confirm · Esc to reject"}}, nil, now, BlockDialog},
		{"claude trust folder", claude, Screen{Lines: []string{"Do you trust the files in this folder?", "", "/tmp/x", "", "❯ 1. Yes, proceed", "  2. No, exit", "", "Enter to confirm · Esc to exit"}}, nil, now, BlockDialog},
		{"claude box drawn without its rules (start-up frame)", claude, Screen{Lines: []string{" ▐▛███▛█   Claude Code v2.1.328", "", "❯\u00a0", "  ⏸ manual mode on"}}, nil, now, ""},
		{"claude box without rules, holding text", claude, Screen{Lines: []string{" ▐▛███▛█   Claude Code v2.1.328", "", "❯\u00a0typed", "  ⏸ manual mode on"}}, nil, now, BlockDraft},
		{"claude scrollback prompt is not the box", claude, Screen{Lines: []string{"❯ an old prompt", "", "● answer"}}, nil, now, BlockNoPrompt},
		{"claude starting", claude, Screen{Lines: []string{"", "", ""}}, nil, now, BlockNoPrompt},
		{"claude hook waiting, screen not changed since", claude, Screen{Lines: claudeScreen("❯ ")}, &HookState{State: HookWaiting, At: now}, now.Add(-time.Second), BlockDialog},
		{"claude hook waiting, prompt back since", claude, Screen{Lines: claudeScreen("❯ ")}, &HookState{State: HookWaiting, At: now.Add(-2 * time.Second)}, now.Add(-time.Second), ""},
		{"claude busy by hook, screen moving", claude, Screen{Lines: claudeScreen("❯ ")}, &HookState{State: HookBusy, At: now.Add(-time.Minute)}, now.Add(-time.Second), BlockBusy},
		{"claude busy by hook, screen still (no Stop after an error)", claude, Screen{Lines: claudeScreen("❯ ")}, &HookState{State: HookBusy, At: now.Add(-time.Minute)}, now.Add(-10 * time.Second), ""},
		{"copy mode", claude, Screen{Lines: claudeScreen("❯ "), InMode: true}, nil, now, BlockMode},
		{"dead", claude, Screen{Dead: true}, nil, now, BlockDead},
		{"crashed back to a shell", claude, Screen{Lines: []string{"user@host:~$ "}, CursorX: 13, Shell: true}, nil, now, BlockShell},
		{"a shell", bash, Screen{Lines: []string{"user@host:~$ "}, CursorX: 13, Shell: true}, nil, now, BlockShell},
		{"a login shell", tmux.Pane{Command: "-bash"}, Screen{Lines: []string{"$ "}, CursorX: 2}, nil, now, BlockShell},
		{"a shell that opted in", tmux.Pane{Command: "bash", Agent: "shell"}, Screen{Lines: []string{"user@host:~$ "}, CursorX: 13, Shell: true}, nil, now, ""},
		{"opted-in shell with a draft after the cursor", tmux.Pane{Command: "bash", Agent: "shell"}, Screen{Lines: []string{"user@host:~$ rm -rf x"}, CursorX: 13, Shell: true}, nil, now, BlockDraft},
		{"agentsim empty", sim, Screen{Lines: []string{"agentsim [idle] accepted=0", "> "}, CursorY: 1, CursorX: 2}, nil, now, ""},
		{"agentsim draft, cursor at its end", sim, Screen{Lines: []string{"agentsim [idle]", "> draft"}, CursorY: 1, CursorX: 7}, nil, now, BlockDraft},
		{"agentsim draft, cursor at its start", sim, Screen{Lines: []string{"agentsim [idle]", "> draft"}, CursorY: 1, CursorX: 2}, nil, now, BlockDraft},
		{"agentsim two-line draft, cursor on the empty second line", sim, Screen{Lines: []string{"agentsim [idle]", "> draft", "  "}, CursorY: 2, CursorX: 2}, nil, now, BlockDraft},
		{"agentsim modal", sim, Screen{Lines: []string{"agentsim [modal]", "> ", "Do you want to proceed?", "  1. Yes", "  2. No"}, CursorY: 1, CursorX: 2}, nil, now, BlockDialog},
		{"cat at a fresh line", cat, Screen{Lines: []string{"hello", "hello", ""}, CursorY: 2}, nil, now, ""},
		{"a blank screen (starting up)", cat, Screen{Lines: []string{"", "", ""}}, nil, now, BlockNoPrompt},
		{"cat with typed text", cat, Screen{Lines: []string{"half"}, CursorX: 4}, nil, now, BlockDraft},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Assess(tt.pane, tt.s, tt.hook, tt.changed, now)
			if r.Blocker != tt.want || r.Ready != (tt.want == "") {
				t.Fatalf("got %+v, want blocker %q", r, tt.want)
			}
			if !r.Ready && r.Reason == "" {
				t.Fatal("no reason")
			}
		})
	}
}

func TestHolds(t *testing.T) {
	text := "⚠️ HIGH PRIORITY deploy now [id 1m8f5mkjsd2tgd7t]"
	gen := ProfileOf(Generic)
	// cat echoes the line after Enter: the text is on screen twice, the cursor on a fresh line.
	after := Screen{Lines: []string{text, text, ""}, CursorY: 2, Width: 200}
	if gen.Holds(after, text) {
		t.Fatal("cat: the echoed text counted as unsubmitted")
	}
	typed := Screen{Lines: []string{text}, CursorY: 0, CursorX: len([]rune(text)), Width: 200}
	if !gen.Holds(typed, text) {
		t.Fatal("cat: typed text not seen")
	}
	wrapped := Screen{Lines: []string{strings.Repeat("x", 10), "[id 1m8f5mkjsd2tgd7t]"}, CursorY: 1, CursorX: 21, Width: 10}
	if !gen.Holds(wrapped, "xxxxxxxxxx[id 1m8f5mkjsd2tgd7t]") {
		t.Fatal("wrapped text not seen")
	}
	// agentsim turned Enter into a newline: the composer holds the text and an empty line.
	nl := Screen{Lines: []string{"agentsim", "> " + text, "  "}, CursorY: 2, CursorX: 2, Width: 200}
	if !gen.Holds(nl, text) {
		t.Fatal("agentsim: text above a newline in the composer not seen")
	}
	cc := ProfileOf(ClaudeCode)
	if !cc.Holds(Screen{Lines: claudeScreen("❯ " + text)}, text) || cc.Holds(Screen{Lines: claudeScreen("❯ ")}, text) {
		t.Fatal("claude box")
	}
}

func TestKinds(t *testing.T) {
	for cmd, want := range map[string]Kind{"claude": ClaudeCode, "codex": Codex, "bash": Shell, "-zsh": Shell, "/bin/sh": Shell,
		"nu": Shell, "pwsh": Shell, "xonsh": Shell, "elvish": Shell, "fish": Shell, "cat": Generic, "agentsim": Generic, "python3": Generic} {
		if got := KindOfCommand(cmd); got != want {
			t.Errorf("%s: %s, want %s", cmd, got, want)
		}
	}
	if KindOf(tmux.Pane{Command: "node", Agent: "claude-code"}) != ClaudeCode || KindOf(tmux.Pane{Command: "bash", Agent: "bogus"}) != Shell {
		t.Error("declared kind")
	}
}

// TestPlaceholders: dim text in an input box is a placeholder, not a draft.
func TestPlaceholders(t *testing.T) {
	now := time.Now()
	codex := tmux.Pane{ID: "%5", Command: "codex"}
	dim := ScreenFromEscapes([]string{"› \x1b[2mAsk Codex to do anything\x1b[0m"}, 2, 0, 80)
	if r := Assess(codex, dim, nil, now, now); !r.Ready {
		t.Fatalf("codex placeholder: %+v", r)
	}
	draft := ScreenFromEscapes([]string{"› fix the tests"}, 15, 0, 80)
	if r := Assess(codex, draft, nil, now, now); r.Blocker != BlockDraft {
		t.Fatalf("codex draft: %+v", r)
	}
}

func TestParseFacts(t *testing.T) {
	s, err := ParseFacts("1 12 30 120 0 4242 -bash")
	if err != nil || !s.InMode || s.CursorX != 12 || s.CursorY != 30 || s.Width != 120 || s.Dead || s.PID != 4242 || !s.Shell || s.Command != "-bash" {
		t.Fatalf("%+v %v", s, err)
	}
	// A program naming itself with spaces and (replaced) control characters stays one field.
	s, err = ParseFacts("0 2 37 120 0 99 x ? 1 2 3")
	if err != nil || s.Command != "x ? 1 2 3" || s.Shell {
		t.Fatalf("%+v %v", s, err)
	}
	if _, err := ParseFacts("0 2 x"); err == nil {
		t.Fatal("bad facts accepted")
	}
}
