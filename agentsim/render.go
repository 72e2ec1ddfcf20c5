package agentsim

import (
	"fmt"
	"strings"
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
	state := "idle"
	switch {
	case m.modal:
		state = "modal"
	case m.Busy():
		state = "busy"
	}
	composer := strings.Split(string(m.composer), "\n")
	lines := []string{fmt.Sprintf("agentsim [%s] accepted=%d queued=%d interrupts=%d composer_lines=%d",
		state, m.seq, len(m.queue), m.interrupts, len(composer))}
	for _, p := range m.history {
		lines = append(lines, fmt.Sprintf("[#%d] %s", p.Seq, summary(p.Text)))
	}
	if m.Busy() {
		f := spinnerFrames[m.frame%len(spinnerFrames)]
		lines = append(lines, fmt.Sprintf("%c Working... (esc to interrupt)", f))
	}
	for i, l := range composer {
		prefix := "  "
		if i == 0 {
			prefix = PromptPrefix
		}
		lines = append(lines, prefix+l)
	}
	for _, q := range m.queue {
		lines = append(lines, QueuedMarker+": "+summary(q))
	}
	if m.modal {
		lines = append(lines, ModalQuestion, "  1. Yes", "  2. No")
	}
	return lines
}

// Render returns terminal bytes that draw Lines from the top left corner
// and clear everything below.
func (m *Machine) Render() []byte {
	var b strings.Builder
	b.WriteString("\x1b[H")
	for i, l := range m.Lines() {
		if i > 0 {
			b.WriteString("\r\n")
		}
		b.WriteString(l)
		b.WriteString("\x1b[K")
	}
	b.WriteString("\x1b[J")
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
