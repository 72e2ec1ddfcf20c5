package agentsim

import (
	"strings"
	"testing"
	"time"
)

// noBurst is a Config mutation that turns the paste-burst rule off, so that
// the editing tests can feed whole words at once.
func noBurst(c *Config) { c.BurstChars = 0 }

func TestEditingDraftWithCursorAnywhere(t *testing.T) {
	s := newSim(t, func(c *Config) { noBurst(c); c.Editing = true })
	s.feed(0, "world").feed(10, "\x1b[H").feed(20, "hello ") // Home, then insert at the start
	s.wantComposer("hello world")
	if s.m.Cursor() != 6 {
		t.Fatalf("cursor %d, want 6", s.m.Cursor())
	}
	s.feed(30, "\x05").feed(40, "\n").feed(50, "second") // ^E, LF is a newline, not a submit
	s.wantComposer("hello world\nsecond")
	s.wantTexts()
	s.feed(60, "\x1b[A").feed(70, "\x01") // Up, ^A: start of the first line
	if s.m.Cursor() != 0 {
		t.Fatalf("cursor %d after Up and ^A, want 0", s.m.Cursor())
	}
	_, row, col := s.m.layout()
	if row != 1 || col != len(PromptPrefix) {
		t.Fatalf("screen cursor %d,%d, want at the start of the draft", row, col)
	}
	s.feed(80, "\x1b[B").feed(90, "\x1b[D").feed(100, "\x7f") // Down (col 0), Left (end of line 1), Backspace
	s.wantComposer("hello worl\nsecond")
	s.feed(110, "\x1b[1~").feed(120, "\x15") // Home (vt220 form): ^U deletes nothing before the start
	s.wantComposer("hello worl\nsecond")
	s.feed(130, "\x1b[F\x1b[B").feed(140, "\x15") // End, Down (to the end of the shorter line), ^U: the second line goes
	s.wantComposer("hello worl\n")
	s.feed(200, "\r")
	s.wantTexts("hello worl\n")
}

func TestWithoutEditingKeysStayIgnored(t *testing.T) {
	s := newSim(t, noBurst)
	s.feed(0, "ab").feed(10, "\x1b[H\x01").feed(20, "c").feed(30, "\n")
	s.wantTexts("abc")
}

func TestStartupKeepsTextAndLosesEnter(t *testing.T) {
	s := newSim(t, func(c *Config) { noBurst(c); c.Startup = 500 * time.Millisecond })
	if !s.m.Starting() || len(s.m.Lines()) != 0 {
		t.Fatalf("starting %v, lines %q", s.m.Starting(), s.m.Lines())
	}
	s.feed(10, "typed during startup").feed(20, "\r")
	s.wantTexts()
	if s.count(EventStartupEnter) != 1 || s.events[0].Text != "typed during startup" {
		t.Fatalf("events %+v", s.events)
	}
	s.tick(500)
	if s.m.Starting() || s.count(EventStarted) != 1 {
		t.Fatalf("still starting at 500 ms; events %+v", s.events)
	}
	s.wantComposer("typed during startup")
	s.feed(600, "\r")
	s.wantTexts("typed during startup")
}

func TestPickerTakesItsKeys(t *testing.T) {
	s := newSim(t, func(c *Config) { noBurst(c); c.PickerCommand = "/model" })
	s.feed(0, "/model").feed(50, "\r")
	if !s.m.Picker() || s.count(EventPickerOpen) != 1 {
		t.Fatalf("picker not open; events %+v", s.events)
	}
	s.feed(100, "hello").feed(110, "\x1b[B").feed(120, "\r")
	s.wantTexts()
	if s.m.Picker() || s.count(EventPickerAnswer) != 1 || s.events[len(s.events)-1].Text != "Opus" {
		t.Fatalf("events %+v", s.events)
	}
	if s.count(EventModalDropped) != 1 {
		t.Fatalf("typed text not recorded as dropped: %+v", s.events)
	}
	s.wantComposer("")
	s.feed(200, "/model").feed(210, "\r").feed(220, "4")
	if got := s.events[len(s.events)-1]; got.Kind != EventPickerAnswer || got.Text != "Haiku" {
		t.Fatalf("digit pick: %+v", got)
	}
	s.feed(300, "/model").feed(310, "\r").feed(320, "\x1b").tick(400)
	if got := s.events[len(s.events)-1]; got.Kind != EventPickerAnswer || got.Text != AnswerCancel {
		t.Fatalf("Esc: %+v", got)
	}
	if s.m.Interrupts() != 0 {
		t.Fatal("the Esc that closed the picker counted as an interrupt")
	}
	s.wantTexts()
}

func TestClaudeStyleDialog(t *testing.T) {
	s := newSim(t, func(c *Config) { noBurst(c); c.Style = StyleClaude; c.Modal = true; c.ModalKeys = true; c.Width = 40 })
	lines, row, col := s.m.layout()
	if lines[row] != " ❯ 1. Yes" || col != 1 {
		t.Fatalf("cursor %d,%d on %q; screen:\n%s", row, col, lines[row], strings.Join(lines, "\n"))
	}
	s.feed(0, "hello").feed(10, "\x1b[B").feed(20, "\x1b[B").feed(30, "\r") // down to "3. No", Enter
	if got := s.events[len(s.events)-1]; got.Kind != EventModalAnswer || got.Text != AnswerNo {
		t.Fatalf("events %+v", s.events)
	}
	s.collect(s.m.SetModal(at(40), true))
	s.feed(50, "2")
	if got := s.events[len(s.events)-1]; got.Kind != EventModalAnswer || got.Text != AnswerYes {
		t.Fatalf("2 should approve as Claude Code's second choice does: %+v", got)
	}
	s.wantTexts()
	s.wantComposer("")
}

func TestClaudeStyleInputBox(t *testing.T) {
	s := newSim(t, func(c *Config) { noBurst(c); c.Style = StyleClaude; c.Editing = true; c.Width = 30 })
	rule := strings.Repeat("─", 30)
	lines, row, col := s.m.layout()
	n := len(lines)
	if lines[n-4] != rule || lines[n-3] != "❯\u00a0" || lines[n-2] != rule || row != n-3 || col != 2 {
		t.Fatalf("empty box: cursor %d,%d, screen:\n%s", row, col, strings.Join(lines, "\n"))
	}
	if !strings.Contains(lines[n-1], "? for shortcuts") {
		t.Fatalf("status line %q", lines[n-1])
	}
	s.feed(0, "draft").feed(10, "\n").feed(20, "two").feed(30, "\x1b[A\x1b[H")
	lines, row, col = s.m.layout()
	n = len(lines)
	if lines[n-5] != rule || lines[n-4] != "❯\u00a0draft" || lines[n-3] != "  two" || row != n-4 || col != 2 {
		t.Fatalf("draft: cursor %d,%d, screen:\n%s", row, col, strings.Join(lines, "\n"))
	}
	if strings.Contains(lines[n-1], "? for shortcuts") {
		t.Fatalf("status line with a draft %q", lines[n-1])
	}
}
