package subjects

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
)

// CompileFilter compiles the regular expression of read --filter (Go RE2 syntax), matched
// against FilterText. grep's basic-regex alternation "\|" is taken as "|", so the original
// guide's "HIGH PRIORITY\|CRITICAL" works. It is smart-case: a pattern without an upper-case
// letter ignores case ("recovery" matches "Recovery:"); one with an upper-case letter is
// matched as written. A pattern may still say (?i) itself.
func CompileFilter(expr string) (*regexp.Regexp, error) {
	var b strings.Builder
	for i := 0; i < len(expr); i++ {
		if expr[i] == '\\' && i+1 < len(expr) {
			if expr[i+1] == '|' {
				b.WriteByte('|')
			} else {
				b.WriteString(expr[i : i+2])
			}
			i++
			continue
		}
		b.WriteByte(expr[i])
	}
	src := b.String()
	if !hasUpperRune(expr) {
		src = "(?i)" + src
	}
	re, err := regexp.Compile(src)
	if err != nil {
		return nil, fmt.Errorf("%q is not a valid regular expression (%w): %v", expr, ErrFilter, err)
	}
	return re, nil
}

// hasUpperRune reports whether s has an upper-case letter outside escapes.
func hasUpperRune(s string) bool {
	esc := false
	for _, r := range s {
		switch {
		case esc:
			esc = false
		case r == '\\':
			esc = true
		case unicode.IsUpper(r):
			return true
		}
	}
	return false
}
