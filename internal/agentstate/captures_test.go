package agentstate

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tmux-orc/tmux-orc/tmux"
)

// capture loads a real Claude Code screen recorded by internal/claudetest (capture-pane -p -e
// and the cursor).
func capture(t *testing.T, name string) Screen {
	t.Helper()
	dir := filepath.Join("..", "claudetest", "testdata", "captures")
	b, err := os.ReadFile(filepath.Join(dir, name+".ansi.txt"))
	if os.IsNotExist(err) {
		b, err = os.ReadFile(filepath.Join(dir, name+".txt")) // a blank screen has no escapes
	}
	if err != nil {
		t.Fatal(err)
	}
	c, err := os.ReadFile(filepath.Join(dir, name+".cursor"))
	if err != nil {
		t.Fatal(err)
	}
	var x, y, flag, w, h int
	if _, err := fmt.Sscanf(string(c), "%d,%d flag=%d %dx%d", &x, &y, &flag, &w, &h); err != nil {
		t.Fatalf("%s.cursor: %v", name, err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	s := ScreenFromEscapes(lines, x, y, w)
	plain, err := os.ReadFile(filepath.Join(dir, name+".txt"))
	if err != nil {
		t.Fatal(err)
	}
	pl := strings.Split(strings.TrimSuffix(string(plain), "\n"), "\n")
	for i := range min(len(pl), len(s.Lines)) {
		if strings.TrimRight(pl[i], " ") != strings.TrimRight(s.Lines[i], " ") {
			t.Fatalf("%s line %d: escapes parsed to %q, capture-pane -p says %q", name, i, s.Lines[i], pl[i])
		}
	}
	return s
}

// TestRealClaudeCodeScreens reads every recorded screen of Claude Code 2.1.328 with the
// claude-code profile: the gate must say ready only for an empty input box.
func TestRealClaudeCodeScreens(t *testing.T) {
	now := time.Now()
	p := tmux.Pane{ID: "%1", Command: "claude"}
	for name, want := range map[string]Blocker{
		"idle":                         "",
		"after-turn":                   "",
		"after-approve":                "",
		"after-interrupt":              "",
		"after-picker-esc":             "",
		"exit-hint":                    "",
		"busy":                         "", // by the screen alone; hooks hold it (BlockBusy)
		"busy-queued":                  "", // the box shows a dim placeholder
		"api-error":                    "", // the box shows a dim placeholder
		"busy-draft":                   BlockDraft,
		"draft-end":                    BlockDraft,
		"draft-cursor-start":           BlockDraft,
		"draft-cursor-mid":             BlockDraft,
		"draft-multiline-end":          BlockDraft,
		"draft-multiline-cursor-start": BlockDraft,
		"slash-command-draft":          BlockDraft,
		"typed-during-startup":         BlockDraft,
		"permission-dialog":            BlockDialog,
		"mcp-dialog":                   BlockDialog,
		"model-picker":                 BlockDialog,
		"trust-dialog":                 BlockDialog,
		"startup-blank":                BlockNoPrompt,
	} {
		t.Run(name, func(t *testing.T) {
			s := capture(t, name)
			r := Assess(p, s, nil, now, now)
			if r.Blocker != want || r.Ready != (want == "") {
				t.Fatalf("got %+v, want blocker %q\n%s", r, want, strings.Join(s.Lines, "\n"))
			}
		})
	}
}

// BenchmarkAssessClaudeScreen is the Go side of the readiness check on a real 120x40 Claude
// Code screen: parsing capture-pane -e and reading it with the claude-code profile.
func BenchmarkAssessClaudeScreen(b *testing.B) {
	dir := filepath.Join("..", "claudetest", "testdata", "captures")
	raw, err := os.ReadFile(filepath.Join(dir, "draft-multiline-end.ansi.txt"))
	if err != nil {
		b.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
	p := tmux.Pane{ID: "%1", Command: "claude"}
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		s := ScreenFromEscapes(lines, 2, 37, 120)
		if r := Assess(p, s, nil, now, now); r.Blocker != BlockDraft {
			b.Fatal(r)
		}
	}
}

// TestMonitorReadsRealScreens: the monitor's view (plain capture-pane, no attributes) of the
// same real screens: placeholders are not unsubmitted text, drafts are, dialogs are dialogs.
func TestMonitorReadsRealScreens(t *testing.T) {
	prof := ProfileFor("claude")
	for name, want := range map[string]string{
		"idle": "", "busy-queued": "", "api-error": "", "after-turn": "",
		"draft-cursor-start": "text left unsubmitted", "busy-draft": "text left unsubmitted",
		"permission-dialog": "permission dialog waiting", "mcp-dialog": "permission dialog waiting",
	} {
		s := capture(t, name)
		if got := prof.Read(s.Lines).Stuck(); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
}
