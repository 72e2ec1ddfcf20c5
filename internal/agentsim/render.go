package agentsim

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// PromptPrefix starts the composer's first screen line; continuation lines
// start with two spaces.
const PromptPrefix = "> "

// QueuedMarker starts each line that shows a prompt queued while busy.
const QueuedMarker = "Queued"

// ModalQuestion is the first line of the modal dialog.
const ModalQuestion = "Do you want to proceed?"

var spinnerFrames = []rune{'-', '\\', '|', '/'}

// Lines returns the screen as plain text lines, top to bottom: a status
// line (state and counters, including composer_lines, which shows a
// trailing newline that a screen capture cannot), the transcript of recent prompts, the spinner while busy, the
// composer, queued prompts and the modal dialog.
func (m *Machine) Lines() []string {
	lines, _, _ := m.layout()
	return lines
}

// layout returns Lines and the 0-based row and column of the end of the
// composer, where the cursor goes. Columns count runes, so wide characters,
// tabs and wrapped lines put the cursor off; the screen text is unaffected.
func (m *Machine) layout() (lines []string, row, col int) {
	if m.starting {
		return nil, 0, 0
	}
	if m.cfg.Style == StyleClaude {
		return m.claudeLayout()
	}
	composer := strings.Split(string(m.composer), "\n")
	lines = []string{m.statusLine(len(composer))}
	for _, p := range m.history {
		lines = append(lines, fmt.Sprintf("[#%d] %s", p.Seq, summary(p.Text)))
	}
	if m.Busy() {
		f := spinnerFrames[m.frame%len(spinnerFrames)]
		lines = append(lines, fmt.Sprintf("%c Working... (esc to interrupt)", f))
	}
	cl, cc := m.cursorLineCol()
	for i, l := range composer {
		prefix := "  "
		if i == 0 {
			prefix = PromptPrefix
		}
		lines = append(lines, prefix+l)
		if i == cl {
			row, col = len(lines)-1, utf8.RuneCountInString(prefix)+cc
		}
	}
	for _, q := range m.queue {
		lines = append(lines, QueuedMarker+": "+summary(q))
	}
	if m.modal {
		lines = append(lines, ModalQuestion, "  1. Yes", "  2. No")
	}
	if m.picker {
		lines = append(lines, PickerTitle)
		for i, o := range PickerOptions {
			mark := "  "
			if i == m.pickerSel {
				mark = "> "
			}
			lines = append(lines, fmt.Sprintf("%s%d. %s", mark, i+1, o))
		}
	}
	return lines, row, col
}

// statusLine is the first screen line: state and counters.
func (m *Machine) statusLine(composerLines int) string {
	state := "idle"
	switch {
	case m.modal:
		state = "modal"
	case m.picker:
		state = "picker"
	case m.Busy():
		state = "busy"
	}
	return fmt.Sprintf("agentsim [%s] accepted=%d queued=%d interrupts=%d composer_lines=%d",
		state, m.seq, len(m.queue), m.interrupts, composerLines)
}

// Render returns terminal bytes that draw Lines from the top left corner,
// clear everything below and leave the cursor at the composer's cursor (the
// highlighted choice of a StyleClaude dialog or picker; the top left corner
// while starting).
func (m *Machine) Render() []byte {
	lines, row, col := m.layout()
	var b strings.Builder
	b.WriteString("\x1b[H")
	for i, l := range lines {
		if i > 0 {
			b.WriteString("\r\n")
		}
		b.WriteString(m.styled(l))
		b.WriteString("\x1b[K")
	}
	b.WriteString("\x1b[J")
	fmt.Fprintf(&b, "\x1b[%d;%dH", row+1, col+1)
	return []byte(b.String())
}

// summary returns the first line of text, noting how many lines follow.
func summary(text string) string {
	first, rest, ok := strings.Cut(text, "\n")
	if !ok {
		return first
	}
	return fmt.Sprintf("%s (+%d lines)", first, strings.Count(rest, "\n")+1)
}
