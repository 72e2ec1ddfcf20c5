package agentsim

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tmux-orc/tmux-orc/internal/claudetest"
)

// waitBox waits until claudetest.InputBox, the parser the tests of the real Claude Code use,
// finds the simulator's input box holding text, and returns it.
func (p *simPane) waitBox(text string) claudetest.Box {
	p.t.Helper()
	var box claudetest.Box
	waitFor(p.t, 5*time.Second, func() (bool, string) {
		screen := strings.Join(p.capture(), "\n")
		b, ok := claudetest.InputBox(screen)
		box = b
		return ok && b.Text == text, "input box is not " + text + ":\n" + screen
	})
	return box
}

func (p *simPane) cursor() string {
	return strings.TrimSpace(p.mustTmux("display-message", "-p", "-t", p.pane, "#{cursor_x},#{cursor_y}"))
}

// TestTmuxClaudeStyleDraftAnywhere: in a real pane, the claude style draws the box the real
// Claude Code draws (the same parser reads it), with the cursor where the draft's cursor is.
func TestTmuxClaudeStyleDraftAnywhere(t *testing.T) {
	p := startSim(t, "-style", "claude", "-editing")
	box := p.waitBox("")
	if got, want := p.cursor(), "2,"+strconv.Itoa(box.Row); got != want {
		t.Fatalf("empty box: cursor %s, want %s", got, want)
	}
	p.mustTmux("send-keys", "-t", p.pane, "-l", "--", "half typed by a human")
	time.Sleep(enterGap) // out of the paste burst, so that C-j and keys are keys
	p.mustTmux("send-keys", "-t", p.pane, "C-j")
	p.mustTmux("send-keys", "-t", p.pane, "-l", "--", "do not lose me")
	time.Sleep(enterGap)
	p.mustTmux("send-keys", "-t", p.pane, "Up", "Home")
	box = p.waitBox("half typed by a human\ndo not lose me")
	waitFor(t, 5*time.Second, func() (bool, string) {
		got := p.cursor()
		return got == "2,"+strconv.Itoa(box.Row), "cursor " + got + ", want at the start of the draft"
	})
	if got := p.log().Texts(); len(got) != 0 {
		t.Fatalf("a draft was submitted: %q", got)
	}
}

// TestTmuxClaudeStyleDialogAndPicker: the dialog and the picker take over the box, keep the
// cursor on their highlighted choice, and record who answered them.
func TestTmuxClaudeStyleDialogAndPicker(t *testing.T) {
	p := startSim(t, "-style", "claude", "-modal", "-modal-keys", "-picker-command", "/model")
	p.waitScreen(" Do you want to proceed?", " ❯ 1. Yes")
	if _, ok := claudetest.InputBox(strings.Join(p.capture(), "\n")); ok {
		t.Fatal("InputBox found an input box behind the dialog")
	}
	if got := p.cursor(); !strings.HasPrefix(got, "1,") {
		t.Fatalf("cursor %s, want on the dialog's ❯ (x=1)", got)
	}
	if n := p.log().Count(EventModalAnswer); n != 0 {
		t.Fatalf("dialog answered %d times before any key", n)
	}
	p.mustTmux("send-keys", "-t", p.pane, "Escape")
	p.waitBox("")
	if l := p.log(); l.Count(EventModalAnswer) != 1 || l.Events[len(l.Events)-1].Text != AnswerNo {
		t.Fatalf("events %+v", l.Events)
	}
	p.mustTmux("send-keys", "-t", p.pane, "-l", "--", "/model")
	time.Sleep(enterGap)
	p.mustTmux("send-keys", "-t", p.pane, "Enter")
	p.waitScreen("  Select model")
	p.mustTmux("send-keys", "-t", p.pane, "3")
	p.waitBox("")
	if l := p.log(); l.Count(EventPickerAnswer) != 1 || len(l.Prompts) != 0 {
		t.Fatalf("log %+v", l)
	}
}

// TestTmuxStartupLosesEnter: text and Enter sent while the simulator starts: the text lands
// in the box once it is drawn, the Enter is lost, as with the real Claude Code.
func TestTmuxStartupLosesEnter(t *testing.T) {
	p := launchSim(t, "-style", "claude", "-startup", "1s")
	waitFor(t, 5*time.Second, func() (bool, string) {
		return p.log().Count(EventReady) == 1, "not ready"
	})
	p.mustTmux("send-keys", "-t", p.pane, "-l", "--", "typed during startup", ";", "send-keys", "-t", p.pane, "Enter")
	if got := strings.TrimSpace(strings.Join(p.capture(), "")); got != "" && !strings.Contains(got, "typed during startup") {
		t.Fatalf("screen drawn while starting: %q", got)
	}
	p.waitBox("typed during startup")
	l := p.log()
	if l.Count(EventStartupEnter) != 1 || l.Count(EventStarted) != 1 || len(l.Prompts) != 0 {
		t.Fatalf("log %+v", l)
	}
}

// TestTmuxClaudeStylePlaceholder: while a prompt is queued the empty box shows Claude Code's
// dim placeholder, which reads as text in a plain capture and as a placeholder with escapes.
func TestTmuxClaudeStylePlaceholder(t *testing.T) {
	p := startSim(t, "-style", "claude", "-busy", "3s")
	p.mustTmux("send-keys", "-t", p.pane, "-l", "--", "one")
	time.Sleep(enterGap)
	p.mustTmux("send-keys", "-t", p.pane, "Enter")
	p.waitPrompts("one")
	p.mustTmux("send-keys", "-t", p.pane, "-l", "--", "two")
	time.Sleep(enterGap)
	p.mustTmux("send-keys", "-t", p.pane, "Enter")
	box := p.waitBox(ClaudePlaceholder)
	escaped := p.mustTmux("capture-pane", "-p", "-e", "-t", p.pane)
	if !box.Placeholder(escaped) {
		t.Fatalf("placeholder not drawn dim:\n%q", escaped)
	}
	if got := p.cursor(); got != "2,"+strconv.Itoa(box.Row) {
		t.Fatalf("cursor %s, want on the placeholder's first letter", got)
	}
	p.waitPrompts("one", "two")
	p.waitBox("")
}
