package agentsim

import "time"

// Dialog answers logged as the Text of an EventModalAnswer.
const (
	AnswerYes = "yes"
	AnswerNo  = "no"
	// AnswerCancel is a picker closed with Esc.
	AnswerCancel = "cancel"
)

// claudeDialogOptions are StyleClaude's permission choices: 1 and 2 approve.
var claudeDialogOptions = []string{"Yes", "Yes, and don't ask again for this command", "No"}

// dialogKey lets the open modal dialog consume tok when Config.ModalKeys is
// set, as real permission dialogs do: Enter picks the highlighted "1. Yes",
// 1/y answers yes, 2/n/Esc answer no, and any other key or paste is dropped
// (one EventModalDropped per read). Ctrl-C is left to apply. It
// reports whether tok was consumed.
func (m *Machine) dialogKey(tok token, out *Output) bool {
	if !m.modal || !m.cfg.ModalKeys || tok.kind == tokCtrlC {
		return false
	}
	m.runLen = 0
	if m.cfg.Style == StyleClaude {
		return m.claudeDialogKey(tok, out)
	}
	switch {
	case tok.kind == tokEnter, tok.kind == tokRune && (tok.r == '1' || tok.r == 'y' || tok.r == 'Y'):
		m.answer(tok.at, AnswerYes, out)
	case tok.kind == tokEsc, tok.kind == tokRune && (tok.r == '2' || tok.r == 'n' || tok.r == 'N'):
		m.answer(tok.at, AnswerNo, out)
	case tok.kind == tokRune:
		m.drop(tok.at, string(tok.r))
	case tok.kind == tokPaste:
		m.drop(tok.at, tok.text)
	}
	return true
}

// claudeDialogKey is dialogKey for StyleClaude's three choices: 1, 2 or y
// approve, 3, n or Esc refuse, Up/Down move the highlight and Enter picks it.
func (m *Machine) claudeDialogKey(tok token, out *Output) bool {
	switch {
	case tok.kind == tokEnter:
		ans := AnswerYes
		if m.dialogSel == len(claudeDialogOptions)-1 {
			ans = AnswerNo
		}
		m.answer(tok.at, ans, out)
	case tok.kind == tokRune && (tok.r == '1' || tok.r == '2' || tok.r == 'y' || tok.r == 'Y'):
		m.answer(tok.at, AnswerYes, out)
	case tok.kind == tokEsc, tok.kind == tokRune && (tok.r == '3' || tok.r == 'n' || tok.r == 'N'):
		m.answer(tok.at, AnswerNo, out)
	case tok.kind == tokIgnored && (tok.key == keyUp || tok.key == keyDown):
		m.dialogSel = step(m.dialogSel, tok.key, len(claudeDialogOptions))
		m.dirty = true
	case tok.kind == tokRune:
		m.drop(tok.at, string(tok.r))
	case tok.kind == tokPaste:
		m.drop(tok.at, tok.text)
	}
	return true
}

// step moves a highlight up or down among n entries, stopping at the ends.
func step(sel int, k editKey, n int) int {
	if k == keyUp && sel > 0 {
		return sel - 1
	}
	if k == keyDown && sel < n-1 {
		return sel + 1
	}
	return sel
}

// answer closes the dialog with ans.
func (m *Machine) answer(at time.Time, ans string, out *Output) {
	m.flushDropped(out)
	m.modal = false
	m.dialogSel = 0
	m.dirty = true
	out.addEvent(Event{Kind: EventModalAnswer, Time: at, Text: ans})
}

// drop remembers text the dialog threw away.
func (m *Machine) drop(at time.Time, text string) {
	if m.dropped == "" {
		m.droppedAt = at
	}
	m.dropped += text
}

// flushDropped logs the text dropped since the last flush, if any.
func (m *Machine) flushDropped(out *Output) {
	if m.dropped == "" {
		return
	}
	out.addEvent(Event{Kind: EventModalDropped, Time: m.droppedAt, Text: m.dropped})
	m.dropped = ""
}
