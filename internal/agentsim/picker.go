package agentsim

import (
	"strings"
	"time"
)

// PickerTitle is the first line of the picker opened by Config.PickerCommand.
const PickerTitle = "Select model"

// PickerOptions are the picker's entries, as Claude Code's /model lists them.
var PickerOptions = []string{"Default (recommended)", "Opus", "Sonnet", "Haiku"}

// openPicker opens the picker in place of accepting the command as a prompt.
func (m *Machine) openPicker(at time.Time, out *Output) {
	m.picker = true
	m.pickerSel = 0
	m.dirty = true
	out.addEvent(Event{Kind: EventPickerOpen, Time: at, Text: m.cfg.PickerCommand})
}

// isPickerCommand reports whether the submitted text opens the picker.
func (m *Machine) isPickerCommand(text string) bool {
	return m.cfg.PickerCommand != "" && strings.TrimSpace(text) == m.cfg.PickerCommand
}

// pickerKey lets the open picker consume tok (Ctrl-C is left to apply). It
// reports whether tok was consumed.
func (m *Machine) pickerKey(tok token, out *Output) bool {
	if !m.picker || tok.kind == tokCtrlC {
		return false
	}
	m.runLen = 0
	switch {
	case tok.kind == tokEnter:
		m.closePicker(tok.at, PickerOptions[m.pickerSel], out)
	case tok.kind == tokEsc:
		m.closePicker(tok.at, AnswerCancel, out)
	case tok.kind == tokRune && tok.r >= '1' && int(tok.r-'1') < len(PickerOptions):
		m.closePicker(tok.at, PickerOptions[tok.r-'1'], out)
	case tok.kind == tokIgnored && (tok.key == keyUp || tok.key == keyDown):
		m.pickerSel = step(m.pickerSel, tok.key, len(PickerOptions))
		m.dirty = true
	case tok.kind == tokRune:
		m.drop(tok.at, string(tok.r))
	case tok.kind == tokPaste:
		m.drop(tok.at, tok.text)
	}
	return true
}

func (m *Machine) closePicker(at time.Time, ans string, out *Output) {
	m.flushDropped(out)
	m.picker = false
	m.dirty = true
	out.addEvent(Event{Kind: EventPickerAnswer, Time: at, Text: ans})
}

// Picker reports whether the picker is open.
func (m *Machine) Picker() bool { return m.picker }

// Starting reports whether the agent is still starting (Config.Startup).
func (m *Machine) Starting() bool { return m.starting }

// Cursor returns the composer's cursor as a rune offset into Composer.
func (m *Machine) Cursor() int { return m.cur }
