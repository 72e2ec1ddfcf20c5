package agentsim

import (
	"bytes"
	"strings"
	"time"
	"unicode/utf8"
)

// tokenKind classifies one decoded key or paste.
type tokenKind int

const (
	tokRune       tokenKind = iota // a printable rune or tab
	tokEnter                       // CR or LF outside a paste
	tokBackspace                   // DEL or ^H
	tokKillLine                    // ^U
	tokCtrlC                       // ^C
	tokEsc                         // a lone Esc key
	tokPaste                       // a complete bracketed paste
	tokIgnored                     // an escape sequence or control byte without meaning here
	tokPasteStart                  // internal: ESC[200~
)

// editKey names the editing keys a tokIgnored may carry; they move the
// cursor only when Config.Editing is set.
type editKey int

const (
	keyNone editKey = iota
	keyLeft
	keyRight
	keyUp
	keyDown
	keyHome // Home, ESC[1~, ESC[7~, ESC OH, ^A
	keyEnd  // End, ESC[4~, ESC[8~, ESC OF, ^E
	keyLF   // ^J (LF): a newline in the composer with Config.Editing
)

// token is one decoded input unit with the time its bytes arrived.
type token struct {
	kind tokenKind
	at   time.Time
	r    rune
	text string
	key  editKey // for tokIgnored (and tokEnter from LF): the editing key it is, if any
}

var (
	pasteStart = []byte("\x1b[200~")
	pasteEnd   = []byte("\x1b[201~")
)

// decoder turns timestamped byte chunks into tokens. It keeps incomplete
// UTF-8 and escape sequences across chunks and collects bracketed pastes.
type decoder struct {
	pending  []byte    // undecoded bytes outside a paste
	stallAt  time.Time // arrival of the incomplete sequence at the head of pending
	inPaste  bool
	paste    []byte // paste content collected so far
	scanFrom int    // where to resume searching paste for the end marker
}

// feed decodes chunk, which arrived at now. A stale incomplete escape
// sequence is resolved first (see expire).
func (d *decoder) feed(now time.Time, chunk []byte, escTimeout time.Duration) []token {
	out := d.expire(now, escTimeout, nil)
	d.pending = append(d.pending, chunk...)
	return d.drain(now, out)
}

// expire resolves an escape sequence that has waited escTimeout or longer
// for its remaining bytes: a lone ESC becomes tokEsc, a partial sequence is
// dropped. Incomplete UTF-8 never expires.
func (d *decoder) expire(now time.Time, escTimeout time.Duration, out []token) []token {
	dl, ok := d.deadline(escTimeout)
	if !ok || now.Before(dl) {
		return out
	}
	kind := tokIgnored
	if len(d.pending) == 1 {
		kind = tokEsc
	}
	out = append(out, token{kind: kind, at: d.stallAt})
	d.pending = d.pending[:0]
	d.stallAt = time.Time{}
	return d.drain(now, out)
}

// deadline reports when a waiting escape sequence expires.
func (d *decoder) deadline(escTimeout time.Duration) (time.Time, bool) {
	if d.inPaste || len(d.pending) == 0 || d.pending[0] != 0x1b || d.stallAt.IsZero() {
		return time.Time{}, false
	}
	return d.stallAt.Add(escTimeout), true
}

// drain decodes as much of pending as is complete.
func (d *decoder) drain(now time.Time, out []token) []token {
	for {
		if d.inPaste {
			if !d.collectPaste(now, &out) {
				return out
			}
			continue
		}
		if len(d.pending) == 0 {
			d.stallAt = time.Time{}
			return out
		}
		tok, n, ok := decodeOne(d.pending)
		if !ok {
			if d.stallAt.IsZero() {
				d.stallAt = now
			}
			return out
		}
		d.pending = d.pending[n:]
		d.stallAt = time.Time{}
		if tok.kind == tokPasteStart {
			d.inPaste = true
			continue
		}
		tok.at = now
		out = append(out, tok)
	}
}

// collectPaste moves pending bytes into the paste and emits the paste once
// its end marker is seen. It reports whether the paste ended.
func (d *decoder) collectPaste(now time.Time, out *[]token) bool {
	d.paste = append(d.paste, d.pending...)
	d.pending = d.pending[:0]
	i := bytes.Index(d.paste[d.scanFrom:], pasteEnd)
	if i < 0 {
		d.scanFrom = max(0, len(d.paste)-len(pasteEnd)+1)
		return false
	}
	end := d.scanFrom + i
	*out = append(*out, token{kind: tokPaste, at: now, text: normalizePaste(d.paste[:end])})
	d.pending = append(d.pending, d.paste[end+len(pasteEnd):]...)
	d.paste = nil
	d.scanFrom = 0
	d.inPaste = false
	return true
}

// normalizePaste keeps paste content verbatim except that CR and CRLF become
// LF, invalid UTF-8 becomes U+FFFD and control characters other than tab and
// newline are dropped.
func normalizePaste(b []byte) string {
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' || !isControl(r) {
			return r
		}
		return -1
	}, s)
}

// isControl reports C0, DEL and C1 control characters.
func isControl(r rune) bool {
	return r < 0x20 || (r >= 0x7f && r < 0xa0)
}

// decodeOne decodes the token at the head of b. It reports ok=false when b
// holds only the start of a sequence.
func decodeOne(b []byte) (tok token, n int, ok bool) {
	c := b[0]
	switch {
	case c == 0x1b:
		return decodeEscape(b)
	case c == '\r':
		return token{kind: tokEnter, r: rune(c)}, 1, true
	case c == '\n':
		return token{kind: tokEnter, r: rune(c), key: keyLF}, 1, true
	case c == 0x01:
		return token{kind: tokIgnored, key: keyHome}, 1, true
	case c == 0x05:
		return token{kind: tokIgnored, key: keyEnd}, 1, true
	case c == 0x7f || c == 0x08:
		return token{kind: tokBackspace}, 1, true
	case c == 0x15:
		return token{kind: tokKillLine}, 1, true
	case c == 0x03:
		return token{kind: tokCtrlC}, 1, true
	case c == '\t':
		return token{kind: tokRune, r: '\t'}, 1, true
	case c < 0x20:
		return token{kind: tokIgnored}, 1, true
	case c < utf8.RuneSelf:
		return token{kind: tokRune, r: rune(c)}, 1, true
	}
	if !utf8.FullRune(b) {
		return token{}, 0, false
	}
	r, size := utf8.DecodeRune(b)
	if isControl(r) {
		return token{kind: tokIgnored}, size, true
	}
	return token{kind: tokRune, r: r}, size, true
}

// decodeEscape decodes a sequence starting with ESC. Everything except the
// bracketed paste start and a lone Esc (ESC ESC) is tokIgnored.
func decodeEscape(b []byte) (tok token, n int, ok bool) {
	if len(b) < 2 {
		return token{}, 0, false
	}
	switch c := b[1]; {
	case c == '[':
		return decodeCSI(b)
	case c == 'O':
		if len(b) < 3 {
			return token{}, 0, false
		}
		return token{kind: tokIgnored, key: cursorKey(b[2])}, 3, true
	case c == ']' || c == 'P' || c == '_' || c == '^':
		return decodeString(b)
	case c == 0x1b:
		return token{kind: tokEsc}, 1, true
	case c < utf8.RuneSelf:
		return token{kind: tokIgnored}, 2, true
	default:
		if !utf8.FullRune(b[1:]) {
			return token{}, 0, false
		}
		_, size := utf8.DecodeRune(b[1:])
		return token{kind: tokIgnored}, 1 + size, true
	}
}

// decodeCSI decodes ESC [ params intermediates final.
func decodeCSI(b []byte) (tok token, n int, ok bool) {
	for i := 2; i < len(b); i++ {
		c := b[i]
		switch {
		case c >= 0x20 && c <= 0x3f:
			continue
		case c >= 0x40 && c <= 0x7e:
			if bytes.Equal(b[:i+1], pasteStart) {
				return token{kind: tokPasteStart}, i + 1, true
			}
			return token{kind: tokIgnored, key: csiKey(b[2:i], c)}, i + 1, true
		default:
			// A malformed sequence ends before the offending byte.
			return token{kind: tokIgnored}, i, true
		}
	}
	return token{}, 0, false
}

// decodeString decodes OSC, DCS, APC and PM strings ended by BEL or ESC \.
func decodeString(b []byte) (tok token, n int, ok bool) {
	for i := 2; i < len(b); i++ {
		if b[i] == 0x07 {
			return token{kind: tokIgnored}, i + 1, true
		}
		if b[i] == 0x1b && i+1 < len(b) && b[i+1] == '\\' {
			return token{kind: tokIgnored}, i + 2, true
		}
	}
	return token{}, 0, false
}

// cursorKey maps the final byte of ESC[x or ESC O x to an editing key.
func cursorKey(final byte) editKey {
	switch final {
	case 'A':
		return keyUp
	case 'B':
		return keyDown
	case 'C':
		return keyRight
	case 'D':
		return keyLeft
	case 'H':
		return keyHome
	case 'F':
		return keyEnd
	}
	return keyNone
}

// csiKey maps a CSI sequence (parameters and final byte) to an editing key:
// arrows and Home/End without modifiers, and the vt220 forms ESC[1~ ESC[4~.
func csiKey(params []byte, final byte) editKey {
	if final == '~' {
		switch string(params) {
		case "1", "7":
			return keyHome
		case "4", "8":
			return keyEnd
		}
		return keyNone
	}
	if len(params) != 0 {
		return keyNone
	}
	return cursorKey(final)
}
