// Package termsafe makes text from messages safe to print on a terminal: control
// characters (C0, DEL, C1), which start escape sequences that can retitle the terminal,
// write the clipboard (OSC 52), move the cursor or hide text, and the Unicode controls that
// reorder text (bidirectional overrides) are shown as visible escapes such as \x1b, and
// invalid UTF-8 as \xNN. Standard library only.
package termsafe

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Text escapes s for printing, keeping newlines and tabs (a message body).
func Text(s string) string { return escape(s, true) }

// Line escapes s for printing on one line: newlines, carriage returns and tabs are escaped
// too (a subject, a sender, a note, a table cell).
func Line(s string) string { return escape(s, false) }

func escape(s string, multiline bool) string {
	if safe(s, multiline) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case multiline && (r == '\n' || r == '\t'):
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case unsafeRune(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

func safe(s string, multiline bool) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 {
			if multiline && (c == '\n' || c == '\t') {
				continue
			}
			return false
		}
		if c >= 0x7f {
			// Non-ASCII: decode to check for C1 controls, bidi overrides and bad UTF-8.
			for _, r := range s[i:] {
				if r == utf8.RuneError || r < 0x20 || r == 0x7f || unsafeRune(r) {
					return false
				}
			}
			return utf8.ValidString(s[i:])
		}
	}
	return true
}

// unsafeRune: C1 controls, and the invisible marks and overrides that reorder or hide text.
func unsafeRune(r rune) bool {
	return (r >= 0x80 && r <= 0x9f) || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) ||
		r == 0x200e || r == 0x200f || r == 0x061c
}
