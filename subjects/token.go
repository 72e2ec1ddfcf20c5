package subjects

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Any is the token that stands for "no particular window" in a session address and for
// "every session" in a group address. EncodeToken never produces it ("~" is escaped as %7E).
const Any = "~"

// EncodeToken turns a tmux session or window name into one NATS subject token.
//
// ASCII letters, digits, '-' and '_' and non-ASCII letters and digits are kept as they are, so
// that subjects stay readable in `nats sub`; every other byte (including '.', ' ', '*', '>',
// '%' and '~') is written as %XX, upper-case hex. The encoding is canonical: DecodeToken
// accepts only what EncodeToken produces, so a name has exactly one subject.
func EncodeToken(name string) string {
	var b strings.Builder
	for i := 0; i < len(name); {
		r, size := utf8.DecodeRuneInString(name[i:])
		if keepLiteral(r, size) {
			b.WriteString(name[i : i+size])
		} else {
			for _, c := range []byte(name[i : i+size]) {
				fmt.Fprintf(&b, "%%%02X", c)
			}
		}
		i += size
	}
	return b.String()
}

func keepLiteral(r rune, size int) bool {
	if r == utf8.RuneError && size <= 1 {
		return false
	}
	if r < utf8.RuneSelf {
		return r == '-' || r == '_' || ('0' <= r && r <= '9') || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z')
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

// DecodeToken reverses EncodeToken. It refuses tokens EncodeToken would not produce and
// names that are not valid UTF-8.
func DecodeToken(tok string) (string, error) {
	if tok == "" {
		return "", fmt.Errorf("%w: empty subject token", ErrSubject)
	}
	var b strings.Builder
	for i := 0; i < len(tok); {
		if tok[i] == '%' {
			if i+3 > len(tok) {
				return "", fmt.Errorf("%w: truncated escape in token %q", ErrSubject, tok)
			}
			c, ok := unhex(tok[i+1], tok[i+2])
			if !ok {
				return "", fmt.Errorf("%w: bad escape %q in token %q", ErrSubject, tok[i:i+3], tok)
			}
			b.WriteByte(c)
			i += 3
			continue
		}
		r, size := utf8.DecodeRuneInString(tok[i:])
		if !keepLiteral(r, size) {
			return "", fmt.Errorf("%w: unescaped %q in token %q", ErrSubject, tok[i:i+size], tok)
		}
		b.WriteString(tok[i : i+size])
		i += size
	}
	name := b.String()
	if !utf8.ValidString(name) {
		return "", fmt.Errorf("%w: token %q is not UTF-8 when decoded", ErrSubject, tok)
	}
	if EncodeToken(name) != tok {
		// An escape of a byte that is kept literally (%41 for "A"): not canonical.
		return "", fmt.Errorf("%w: token %q is not canonically encoded", ErrSubject, tok)
	}
	return name, nil
}

func unhex(hi, lo byte) (byte, bool) {
	h, ok1 := hexVal(hi)
	l, ok2 := hexVal(lo)
	return h<<4 | l, ok1 && ok2
}

func hexVal(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
