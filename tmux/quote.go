package tmux

import (
	"strings"
	"unicode/utf8"
)

// Sanitize makes text safe to inject into a pane: it removes C0 control
// characters except newline and tab (so ESC, BEL, CR, NUL and friends never
// reach the pane), DEL and the C1 controls U+0080-U+009F, and replaces each
// run of invalid UTF-8 bytes with one U+FFFD. A CR LF pair becomes LF
// because the CR is removed. Everything else, including non-ASCII text, is
// kept.
func Sanitize(text string) string {
	clean := true
	for _, r := range text {
		if dropRune(r) || r == utf8.RuneError {
			clean = false
			break
		}
	}
	if clean {
		return text
	}
	var b strings.Builder
	b.Grow(len(text))
	for _, r := range strings.ToValidUTF8(text, "\uFFFD") {
		if !dropRune(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func dropRune(r rune) bool {
	switch {
	case r == '\n' || r == '\t':
		return false
	case r < 0x20 || r == 0x7f:
		return true
	case r >= 0x80 && r <= 0x9f:
		return true
	}
	return false
}

// bareSafe reports whether b can appear unquoted in a tmux command line
// token without any special meaning.
func bareSafe(b byte) bool {
	switch {
	case b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z', b >= '0' && b <= '9':
		return true
	}
	return strings.IndexByte("-_%@/.,:+^", b) >= 0
}

// Quote turns arbitrary bytes into one argument of a tmux command line, as
// read by the tmux command parser in control mode (and by source-file or
// command-prompt). Words made only of letters, digits and -_%@/.,:+^ are left
// bare; anything else is single-quoted, so ; # { } $ ~ and spaces lose their
// meaning and nothing is expanded. A single quote is written \' outside the
// quotes, and control characters (newline above all, which would end the
// control-mode line) are written as \ooo octal escapes outside the quotes,
// as is the byte 0xff, which tmux's lexer takes for end of input. Other
// non-ASCII bytes are passed through inside the quotes. The empty string
// becomes a pair of single quotes.
//
// Quote does not protect against an argument being read as a flag: pass
// "--" before free text.
func Quote(s string) string {
	if s == "" {
		return "''"
	}
	bare := true
	for i := 0; i < len(s); i++ {
		if !bareSafe(s[i]) {
			bare = false
			break
		}
	}
	if bare {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 2)
	open := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\'' || c < 0x20 || c == 0x7f || c == 0xff {
			if open {
				b.WriteByte('\'')
				open = false
			}
			if c == '\'' {
				b.WriteString(`\'`)
			} else {
				b.WriteByte('\\')
				b.WriteByte('0' + c>>6)
				b.WriteByte('0' + c>>3&7)
				b.WriteByte('0' + c&7)
			}
			continue
		}
		if !open {
			b.WriteByte('\'')
			open = true
		}
		b.WriteByte(c)
	}
	if open {
		b.WriteByte('\'')
	}
	return b.String()
}

// EscapeArg prepares one argument for a spawned tmux argv (exec, no shell).
// tmux splits command sequences at arguments ending in ';', so a trailing
// ';' is escaped as "\;" (which tmux turns back into ';'); a lone ";" becomes
// "\;". No other character is special in argv.
func EscapeArg(s string) string {
	if strings.HasSuffix(s, ";") {
		return s[:len(s)-1] + `\;`
	}
	return s
}

// Cmd is one tmux command: its name followed by its arguments, each a
// literal value. Runners quote or escape the values themselves.
type Cmd []string

// commandLine renders cmds as one control-mode command line, joined with
// " ; " so that tmux abandons the rest of the line when one command fails.
func commandLine(cmds []Cmd) string {
	var b strings.Builder
	for i, c := range cmds {
		if i > 0 {
			b.WriteString(" ; ")
		}
		for j, a := range c {
			if j > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(Quote(a))
		}
	}
	return b.String()
}
