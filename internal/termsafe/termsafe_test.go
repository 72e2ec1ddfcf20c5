package termsafe_test

import (
	"strings"
	"testing"

	"github.com/tmux-orc/tmux-orc/internal/termsafe"
)

func TestEscapes(t *testing.T) {
	for _, tc := range []struct{ in, text, line string }{
		{"plain text, ünïcödé ✓", "plain text, ünïcödé ✓", "plain text, ünïcödé ✓"},
		{"two\nlines\tand tab", "two\nlines\tand tab", `two\nlines\tand tab`},
		{"\x1b]0;pwned\x07title", `\x1b]0;pwned\x07title`, `\x1b]0;pwned\x07title`},
		{"\x1b]52;c;ZXZpbA==\x07clip", `\x1b]52;c;ZXZpbA==\x07clip`, `\x1b]52;c;ZXZpbA==\x07clip`},
		{"hide\x1b[8mme\x1b[0m", `hide\x1b[8mme\x1b[0m`, `hide\x1b[8mme\x1b[0m`},
		{"cr\roverwrite", `cr\roverwrite`, `cr\roverwrite`},
		{"del\x7f c1\u009b31m", `del\x7f c1\u009b31m`, `del\x7f c1\u009b31m`},
		{"bidi \u202eevil", `bidi \u202eevil`, `bidi \u202eevil`},
		{"bad \xff utf8", `bad \xff utf8`, `bad \xff utf8`},
		{"nul\x00", `nul\x00`, `nul\x00`},
	} {
		if got := termsafe.Text(tc.in); got != tc.text {
			t.Errorf("Text(%q) = %q, want %q", tc.in, got, tc.text)
		}
		if got := termsafe.Line(tc.in); got != tc.line {
			t.Errorf("Line(%q) = %q, want %q", tc.in, got, tc.line)
		}
		if got := termsafe.Line(tc.in); strings.ContainsAny(got, "\x1b\x07\r\n\x00\x7f") {
			t.Errorf("Line(%q) = %q still has a control character", tc.in, got)
		}
	}
}
