package tmux

import (
	"strings"
	"testing"
)

func TestSanitize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"plain text", "plain text"},
		{"keep\nnewline\tand tab", "keep\nnewline\tand tab"},
		{"crlf\r\nend", "crlf\nend"},
		{"\x1b[201~\x1b[31mred\x07\x00\x08\x7f", "[201~[31mred"},
		{"c1\u0080\u009b\u009fend\u00a0", "c1end\u00a0"},
		{"ünï ☃ 日本 🎉", "ünï ☃ 日本 🎉"},
		{"bad\xff\xfeutf8\xc3", "bad\uFFFDutf8\uFFFD"},
	}
	for _, tt := range tests {
		if got := Sanitize(tt.in); got != tt.want {
			t.Errorf("Sanitize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestEscapeArg(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"a b", "a b"},
		{";", `\;`},
		{"x;", `x\;`},
		{`x\;`, `x\\;`},
		{";x", ";x"},
	}
	for _, tt := range tests {
		if got := EscapeArg(tt.in); got != tt.want {
			t.Errorf("EscapeArg(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestQuoteShape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "''"},
		{"send-keys", "send-keys"},
		{"%12", "%12"},
		{"-l", "-l"},
		{"a b", "'a b'"},
		{"it's", `'it'\''s'`},
		{"'", `\'`},
		{"a\nb", `'a'\012'b'`},
		{"x;", "'x;'"},
		{"#{pane_id}", "'#{pane_id}'"},
		{"~", "'~'"},
		{"=s", "'=s'"},
	}
	for _, tt := range tests {
		if got := Quote(tt.in); got != tt.want {
			t.Errorf("Quote(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestQuoteRoundTrip checks with the real tmux parser that a quoted
// argument arrives unchanged, by loading it into a buffer over control
// mode and reading the buffer back with a spawned tmux.
func TestQuoteRoundTrip(t *testing.T) {
	s := newTestServer(t, "main", "sleep 1000")
	c := s.dial(Options{})
	ctx := testCtx(t)
	var all strings.Builder
	for b := 1; b < 256; b++ {
		all.WriteByte(byte(b))
	}
	inputs := []string{
		"plain", "with space", "it's", "''", `\`, `\\'\'`, "x;", ";", "; ;", "-x", "--",
		"$HOME", "${HOME}", "~", "~root/x", "#", "# comment", "#{pane_id}", "#(echo hi)", "{", "}",
		"{ a }", "%if 1", "a=b", "\"dq\"", "\"", "tab\there", "new\nline", "\n", "cr\rx", "esc\x1b[1m",
		"ünï ☃ 日本 🎉", "trailing space ", " leading", all.String(),
	}
	for _, in := range inputs {
		if _, err := c.Command(ctx, "set-buffer -b q -- "+Quote(in)); err != nil {
			t.Fatalf("set-buffer %q: %v", in, err)
		}
		lines, err := s.exec.Run(ctx, Cmd{"show-buffer", "-b", "q"})
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(lines, "\n"); got != strings.TrimSuffix(in, "\n") {
			t.Errorf("Quote(%q) arrived as %q", in, got)
		}
	}
}

func TestServerArgv(t *testing.T) {
	tests := []struct {
		srv  Server
		want string
	}{
		{Server{Socket: Socket{Name: "orc"}}, "tmux -u -L orc list-panes -a"},
		{Server{Socket: Socket{Path: "/tmp/s"}, Binary: "/usr/bin/tmux"}, "/usr/bin/tmux -u -S /tmp/s list-panes -a"},
	}
	for _, tt := range tests {
		if got := strings.Join(tt.srv.Argv("list-panes", "-a"), " "); got != tt.want {
			t.Errorf("Argv = %q, want %q", got, tt.want)
		}
	}
}
