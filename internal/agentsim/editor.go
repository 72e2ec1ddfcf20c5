package agentsim

import "time"

// backspace deletes the rune before the cursor.
func (m *Machine) backspace() {
	if m.cur == 0 {
		return
	}
	m.composer = append(m.composer[:m.cur-1], m.composer[m.cur:]...)
	m.cur--
	m.dirty = true
}

// killLine handles ^U: it clears the composer, or with Config.Editing
// deletes from the start of the cursor's line to the cursor.
func (m *Machine) killLine() {
	if len(m.composer) == 0 {
		return
	}
	start := 0
	if m.cfg.Editing {
		start = m.lineStart(m.cur)
	}
	end := len(m.composer)
	if m.cfg.Editing {
		end = m.cur
	}
	m.composer = append(m.composer[:start:start], m.composer[end:]...)
	m.cur = start
	m.dirty = true
}

// move moves the cursor for an editing key.
func (m *Machine) move(k editKey) {
	old := m.cur
	switch k {
	case keyLeft:
		if m.cur > 0 {
			m.cur--
		}
	case keyRight:
		if m.cur < len(m.composer) {
			m.cur++
		}
	case keyHome:
		m.cur = m.lineStart(m.cur)
	case keyEnd:
		m.cur = m.lineEnd(m.cur)
	case keyUp:
		if start := m.lineStart(m.cur); start > 0 {
			col := m.cur - start
			prev := m.lineStart(start - 1)
			m.cur = min(prev+col, start-1)
		}
	case keyDown:
		if end := m.lineEnd(m.cur); end < len(m.composer) {
			col := m.cur - m.lineStart(m.cur)
			m.cur = min(end+1+col, m.lineEnd(end+1))
		}
	}
	if m.cur != old {
		m.dirty = true
	}
}

// lineStart returns the offset of the start of the line holding offset i.
func (m *Machine) lineStart(i int) int {
	for i > 0 && m.composer[i-1] != '\n' {
		i--
	}
	return i
}

// lineEnd returns the offset of the end (the newline or the end of the
// text) of the line holding offset i.
func (m *Machine) lineEnd(i int) int {
	for i < len(m.composer) && m.composer[i] != '\n' {
		i++
	}
	return i
}

// cursorLineCol returns the cursor's line and column (in runes) in the
// composer.
func (m *Machine) cursorLineCol() (line, col int) {
	for _, r := range m.composer[:m.cur] {
		if r == '\n' {
			line++
			col = 0
		} else {
			col++
		}
	}
	return line, col
}

// startupKey keeps input while the agent is starting, as Claude Code does:
// text is kept for the composer, an Enter is lost, other keys are ignored.
// Ctrl-C is left to apply. It reports whether tok was consumed.
func (m *Machine) startupKey(tok token, out *Output) bool {
	if !m.starting || tok.kind == tokCtrlC {
		return false
	}
	switch tok.kind {
	case tokRune:
		m.insert(string(tok.r))
	case tokPaste:
		m.insert(tok.text)
	case tokEnter:
		out.addEvent(Event{Kind: EventStartupEnter, Time: tok.at, Text: string(m.composer)})
	}
	return true
}

// SetWidth sets the screen width StyleClaude draws with.
func (m *Machine) SetWidth(now time.Time, w int) Output {
	var out Output
	if m.exited || w <= 0 || w == m.cfg.Width {
		return out
	}
	m.advance(now, &out)
	m.cfg.Width = w
	m.dirty = true
	return m.finish(out)
}
