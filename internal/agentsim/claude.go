package agentsim

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Claude Code 2.x screen elements drawn by StyleClaude.
const (
	// ClaudePrompt starts the input box's first line: ❯ and a no-break
	// space, as Claude Code draws it.
	ClaudePrompt = "❯\u00a0"
	// ClaudeRule is the character of the rules above and below the box.
	ClaudeRule = "─"
	// ClaudeQueued is shown under a prompt queued while busy.
	ClaudeQueued = "  ⎿  Queued · ctrl+x ctrl+s to send now"
	// ClaudePlaceholder fills the empty box while prompts are queued, drawn
	// as Claude Code draws placeholders: the cursor (reverse video) on its
	// first letter and the rest dim. In a plain capture it reads as text.
	ClaudePlaceholder = "Press up to edit queued messages"
)

var claudeSpinner = []rune{'✻', '✽', '✶', '·'}

// claudeLayout draws Claude Code 2.x's screen: the status line, the
// transcript ("❯ text" per accepted prompt, as Claude Code keeps them), the
// spinner while busy, queued prompts, then either the input box (a rule,
// "❯ " and the composer with continuation lines indented by two spaces, a
// rule, the mode line) or the permission dialog or the picker in its place,
// with the cursor on the highlighted choice.
func (m *Machine) claudeLayout() (lines []string, row, col int) {
	w := m.cfg.Width
	if w <= 0 {
		w = 80
	}
	composer := strings.Split(string(m.composer), "\n")
	lines = []string{m.statusLine(len(composer)), ""}
	for _, p := range m.history {
		lines = append(lines, "❯ "+summary(p.Text), "", "● Done.", "")
	}
	for _, q := range m.queue {
		lines = append(lines, "❯ "+summary(q), ClaudeQueued)
	}
	if m.Busy() {
		f := claudeSpinner[m.frame%len(claudeSpinner)]
		lines = append(lines, fmt.Sprintf("%c Working… (esc to interrupt)", f), "")
	}
	rule := strings.Repeat(ClaudeRule, w)
	switch {
	case m.modal:
		lines = append(lines, rule, " Bash command", "", "   agentsim tool call", "", " "+ModalQuestion)
		for i, o := range claudeDialogOptions {
			mark := "  "
			if i == m.dialogSel {
				mark, row, col = "❯ ", len(lines), 1
			}
			lines = append(lines, fmt.Sprintf(" %s%d. %s", mark, i+1, o))
		}
		lines = append(lines, "", " Esc to cancel · Tab to amend")
	case m.picker:
		lines = append(lines, strings.Repeat("▔", w), "  "+PickerTitle, "")
		for i, o := range PickerOptions {
			mark := "  "
			if i == m.pickerSel {
				mark, row, col = "❯ ", len(lines), 2
			}
			lines = append(lines, fmt.Sprintf("  %s%d. %s", mark, i+1, o))
		}
		lines = append(lines, "", "  Enter to save · Esc to cancel")
	default:
		lines = append(lines, rule)
		cl, cc := m.cursorLineCol()
		for i, l := range composer {
			prefix := "  "
			if i == 0 {
				prefix = ClaudePrompt
			}
			if i == cl {
				row, col = len(lines), utf8.RuneCountInString(prefix)+cc
			}
			if m.placeholder() {
				l = ClaudePlaceholder
			}
			lines = append(lines, prefix+l)
		}
		status := "  ⏸ manual mode on · ? for shortcuts"
		switch {
		case m.Busy():
			status = "  ⏸ manual mode on · esc to interrupt"
		case len(m.composer) > 0:
			status = "  ⏸ manual mode on"
		}
		lines = append(lines, rule, status)
	}
	return lines, row, col
}

// placeholder reports whether the StyleClaude box shows ClaudePlaceholder.
func (m *Machine) placeholder() bool {
	return m.cfg.Style == StyleClaude && len(m.composer) == 0 && len(m.queue) > 0 && !m.modal && !m.picker
}

// styled returns line as Render writes it: the placeholder line gets its
// reverse-video first letter and dim rest.
func (m *Machine) styled(line string) string {
	if !m.placeholder() || line != ClaudePrompt+ClaudePlaceholder {
		return line
	}
	_, size := utf8.DecodeRuneInString(ClaudePlaceholder)
	return ClaudePrompt + "\x1b[7m" + ClaudePlaceholder[:size] + "\x1b[0;2m" + ClaudePlaceholder[size:] + "\x1b[0m"
}
