package tmux

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// sendCase is one text for SendText with the bytes a raw pane without
// bracketed paste must read; paste marks texts that go through a buffer,
// which a bracketed-paste pane reads between ESC[200~ and ESC[201~.
type sendCase struct {
	name  string
	text  string
	want  string
	paste bool
}

func sendCases() []sendCase {
	unit := "0123456789 abcdefghijklmnopqrstuvwxyz; $HOME 'q' \\ é "
	long := strings.Repeat(unit, 20<<10/len(unit)+1)
	var lines strings.Builder
	for lines.Len() < 20<<10 {
		fmt.Fprintf(&lines, "line %d: some text; with 'quotes' and -dashes\n", lines.Len())
	}
	return []sendCase{
		{name: "leading dash", text: "-n hello", want: "-n hello"},
		{name: "lone dash", text: "-", want: "-"},
		{name: "double dash", text: "-- -x", want: "-- -x"},
		{name: "trailing semicolon", text: "run tests;", want: "run tests;"},
		{name: "lone semicolon", text: ";", want: ";"},
		{name: "escaped semicolon", text: `a\;`, want: `a\;`},
		{name: "backslashes", text: `back\slash\`, want: `back\slash\`},
		{name: "quotes", text: `it's "quoted" 'twice'`, want: `it's "quoted" 'twice'`},
		{name: "no expansion", text: "$HOME ~ ~/x #{pane_id} #S {a} } { %1 #x", want: "$HOME ~ ~/x #{pane_id} #S {a} } { %1 #x"},
		{name: "control characters", text: "esc\x1b[201~ bel\x07 nul\x00 cr\r del\x7f c1\u009b end", want: "esc[201~ bel nul cr del c1 end"},
		{name: "only controls", text: "\x1b\x03", want: ""},
		{name: "tab", text: "\tx\ty", want: "\tx\ty"},
		{name: "non-ASCII", text: "ünïcödé ☃ 日本 🎉", want: "ünïcödé ☃ 日本 🎉"},
		{name: "invalid UTF-8", text: "a\xffb", want: "a\uFFFDb"},
		{name: "multi-line", text: "line1\nline2 ;\n-x", want: "line1\rline2 ;\r-x", paste: true},
		{name: "trailing newline", text: "x;\r\n", want: "x;\r", paste: true},
		{name: "20 KB line", text: long, want: long, paste: true},
		{name: "20 KB lines", text: lines.String(), want: strings.ReplaceAll(lines.String(), "\n", "\r"), paste: true},
	}
}

func TestSendTextTraps(t *testing.T) {
	s := newTestServer(t, "main", "sleep 1000")
	ctx := testCtx(t)
	for name, r := range s.runners() {
		for _, bp := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/bracketed=%v", name, bp), func(t *testing.T) {
				id, file := s.rawPane("main", bp)
				var want strings.Builder
				for _, tc := range sendCases() {
					if err := SendText(ctx, r, id, tc.text); err != nil {
						t.Fatalf("%s: %v", tc.name, err)
					}
					if err := SendEnter(ctx, r, id); err != nil {
						t.Fatalf("%s: %v", tc.name, err)
					}
					if tc.paste && bp {
						want.WriteString("\x1b[200~" + tc.want + "\x1b[201~")
					} else {
						want.WriteString(tc.want)
					}
					want.WriteString("\r")
					waitBytes(t, file, want.String())
				}
				got, _ := os.ReadFile(file)
				rest := strings.NewReplacer("\x1b[200~", "", "\x1b[201~", "").Replace(string(got))
				if strings.ContainsAny(rest, "\x1b\x00\x07\x7f") {
					t.Fatalf("a control character reached the pane: %q", tail(rest))
				}
				if out := s.tmux("list-buffers"); out != "" {
					t.Fatalf("paste buffers left behind: %q", out)
				}
			})
		}
	}
}

func TestSendErrors(t *testing.T) {
	s := newTestServer(t, "main", "sleep 1000")
	ctx := testCtx(t)
	for name, r := range s.runners() {
		for _, bad := range []string{"", "main:0", "%", "%1a", "1"} {
			if err := SendText(ctx, r, bad, "x"); !errors.Is(err, ErrInvalidPane) {
				t.Errorf("%s: SendText(%q) = %v, want ErrInvalidPane", name, bad, err)
			}
			if err := SendEnter(ctx, r, bad); !errors.Is(err, ErrInvalidPane) {
				t.Errorf("%s: SendEnter(%q) = %v, want ErrInvalidPane", name, bad, err)
			}
		}
		for _, text := range []string{"x", "x\ny"} {
			var ce *CommandError
			if err := SendText(ctx, r, "%9999", text); !errors.As(err, &ce) || !strings.Contains(ce.Message, "can't find pane") {
				t.Errorf("%s: SendText to a missing pane = %v, want can't find pane", name, err)
			}
		}
		if out := s.tmux("list-buffers"); out != "" {
			t.Errorf("%s: paste buffers left behind: %q", name, out)
		}
	}
}

func TestCapturePane(t *testing.T) {
	s := newTestServer(t, "main", `printf 'hello capture\n  indented é\n'; exec sleep 1000`)
	ctx := testCtx(t)
	id := s.tmux("display-message", "-p", "-t", "main:0.0", "#{pane_id}")
	var screens [][]string
	for name, r := range s.runners() {
		var lines []string
		checkFor(t, 10*time.Second, 10*time.Millisecond, func() error {
			var err error
			lines, err = CapturePane(ctx, r, id)
			if err != nil {
				return err
			}
			if len(lines) != 50 || lines[0] != "hello capture" || lines[1] != "  indented é" {
				return fmt.Errorf("%s: got %d lines starting %q", name, len(lines), lines[:min(2, len(lines))])
			}
			return nil
		})
		screens = append(screens, lines)
	}
	if strings.Join(screens[0], "\n") != strings.Join(screens[1], "\n") {
		t.Fatal("control and exec captures differ")
	}
}

func TestRespawnDeadPane(t *testing.T) {
	s := newTestServer(t, "main", "sleep 1000")
	s.tmux("set", "-g", "remain-on-exit", "on")
	ctx := testCtx(t)
	for name, r := range s.runners() {
		id := s.tmux("new-window", "-d", "-P", "-F", "#{pane_id}", "-t", "main:", "exit 3")
		state := func(dead bool, cmd string) func() error {
			return func() error {
				panes, err := ListPanes(ctx, r)
				if err != nil {
					return err
				}
				for _, p := range panes {
					if p.ID == id && p.Dead == dead && (cmd == "" || p.Command == cmd) {
						return nil
					}
				}
				return fmt.Errorf("%s: pane %s not dead=%v %q: %+v", name, id, dead, cmd, panes)
			}
		}
		checkFor(t, 10*time.Second, 10*time.Millisecond, state(true, ""))
		if err := RespawnPane(ctx, r, id, "exec sleep 999"); err != nil {
			t.Fatal(err)
		}
		checkFor(t, 10*time.Second, 10*time.Millisecond, state(false, "sleep"))
		// -k: a live pane is restarted too.
		if err := RespawnPane(ctx, r, id, "exec sleep 998"); err != nil {
			t.Fatal(err)
		}
		if err := RespawnPane(ctx, r, "%9999", ""); err == nil {
			t.Fatalf("%s: respawning a missing pane succeeded", name)
		}
	}
}
