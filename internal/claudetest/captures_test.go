package claudetest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tmux-orc/tmux-orc/internal/fakeapi"
)

// EnvCaptureDir names the environment variable that makes TestScreens write its captures
// (NAME.txt, NAME.ansi.txt, NAME.cursor, as in testdata/captures) into that directory.
const EnvCaptureDir = "TMUX_ORC_CAPTURE_DIR"

// shot captures the screen of c as name and checks it with the facts NOTES.md states.
type shooter struct {
	t   *testing.T
	dir string
}

func (s shooter) shot(c *Claude, name string) (screen string, x, y int) {
	s.t.Helper()
	screen, esc := c.Capture(), c.CaptureEscapes()
	x, y = c.Cursor()
	if s.dir != "" {
		cursor := fmt.Sprintf("%d,%d flag=%s %sx%s cmd=%s mode=%s\n", x, y, c.format("#{cursor_flag}"),
			c.format("#{pane_width}"), c.format("#{pane_height}"), c.format("#{pane_current_command}"), c.format("#{pane_in_mode}"))
		for file, content := range map[string]string{name + ".txt": screen, name + ".ansi.txt": esc, name + ".cursor": cursor} {
			if err := os.WriteFile(filepath.Join(s.dir, file), []byte(content), 0o644); err != nil {
				s.t.Fatal(err)
			}
		}
	}
	return screen, x, y
}

func (c *Claude) format(f string) string {
	out, _ := c.tmux("display-message", "-p", "-t", c.Pane, f)
	return strings.TrimSpace(out)
}

// line returns screen line y (from 0).
func line(screen string, y int) string {
	lines := strings.Split(screen, "\n")
	if y < 0 || y >= len(lines) {
		return ""
	}
	return lines[y]
}

// TestScreens walks the real TUI through the states of testdata/captures and checks what
// NOTES.md says of each: where the input box is, that the cursor is in it (at x=2 when
// empty), that a draft with the cursor at its start still reads as a draft, that dialogs and
// pickers have no input box and the cursor on their ❯. With TMUX_ORC_CAPTURE_DIR set it saves
// every screen there, which is how testdata/captures is made.
func TestScreens(t *testing.T) {
	s := shooter{t: t, dir: os.Getenv(EnvCaptureDir)}
	boxAt := func(screen string, x, y int, text string) {
		t.Helper()
		box, ok := InputBox(screen)
		if !ok || box.Text != text {
			t.Fatalf("input box %+v, %v; want %q in:\n%s", box, ok, text, screen)
		}
		if !strings.HasPrefix(line(screen, box.Row), "❯\u00a0") {
			t.Errorf("box line %q does not start with ❯ and a no-break space", line(screen, box.Row))
		}
		if y < box.Row || y >= box.Row+len(box.Lines) {
			t.Errorf("cursor at %d,%d is outside the box (rows %d-%d)", x, y, box.Row, box.Row+len(box.Lines)-1)
		}
	}
	noBox := func(screen string, x, y int, choice string) {
		t.Helper()
		if _, ok := InputBox(screen); ok {
			t.Fatalf("input box found on:\n%s", screen)
		}
		if l := line(screen, y); !strings.HasPrefix(l[min(len(l), strings.Index(l, "❯")+0):], "❯ "+choice) || strings.Index(l, "❯") != x {
			t.Errorf("cursor %d,%d on %q, want on the ❯ of %q", x, y, l, choice)
		}
	}

	c := Start(t, Options{})
	screen, x, y := s.shot(c, "idle")
	boxAt(screen, x, y, "")
	if x != 2 {
		t.Errorf("empty box: cursor x=%d, want 2", x)
	}
	c.Type("hello from the test")
	c.WaitText("hello from the test")
	screen, x, y = s.shot(c, "draft-end")
	boxAt(screen, x, y, "hello from the test")
	if box, _ := InputBox(screen); box.Placeholder(c.CaptureEscapes()) {
		t.Errorf("a draft is taken for a placeholder")
	}
	c.Keys("Home")
	c.WaitScreen("cursor at the start", func(string) bool { x, _ := c.Cursor(); return x == 2 })
	screen, x, y = s.shot(c, "draft-cursor-start")
	boxAt(screen, x, y, "hello from the test") // the cursor is where it is when empty: read the text
	c.Keys("Right", "Right", "Right")
	c.WaitScreen("cursor moved", func(string) bool { x, _ := c.Cursor(); return x == 5 })
	s.shot(c, "draft-cursor-mid")
	c.Keys("End", "C-j")
	c.Type("second line of draft")
	c.Keys("C-j")
	c.Type("third")
	c.WaitText("third")
	screen, x, y = s.shot(c, "draft-multiline-end")
	boxAt(screen, x, y, "hello from the test\nsecond line of draft\nthird")
	c.Keys("Up", "Up", "Home")
	c.WaitScreen("cursor on the first line", func(string) bool { x, y := c.Cursor(); b, _ := InputBox(c.Capture()); return x == 2 && y == b.Row })
	screen, x, y = s.shot(c, "draft-multiline-cursor-start")
	boxAt(screen, x, y, "hello from the test\nsecond line of draft\nthird")
	c.Keys("Enter")
	c.WaitText(fakeapi.DefaultText)
	c.WaitPrompt()
	s.shot(c, "after-turn")

	c.API.Queue(fakeapi.Bash("touch "+filepath.Join(c.Dir, "approved"), "run it"))
	c.Submit("please run the tool")
	c.WaitText("Do you want to proceed?")
	screen, x, y = s.shot(c, "permission-dialog")
	noBox(screen, x, y, "1. Yes")
	time.Sleep(time.Second) // the dialog ignores keys for its first 100-200 ms (NOTES.md)
	c.Keys("1")
	c.WaitText("Ran 1 shell command")
	c.WaitPrompt()
	s.shot(c, "after-approve")

	c.API.Queue(fakeapi.Error(500))
	c.Submit("this one fails")
	c.WaitText("Resend your message")
	c.WaitPrompt() // the dim placeholder counts as empty
	screen, x, y = s.shot(c, "api-error")
	boxAt(screen, x, y, "Resend your message to try again")
	if box, _ := InputBox(screen); !box.Placeholder(c.CaptureEscapes()) {
		t.Errorf("the error placeholder is not drawn as a placeholder")
	}

	release := make(chan struct{})
	c.API.Queue(fakeapi.Text("slow answer").Until(release))
	c.Submit("a slow question")
	c.WaitText("esc to interrupt")
	screen, x, y = s.shot(c, "busy")
	boxAt(screen, x, y, "") // busy looks idle in the box
	c.Submit("queued while busy")
	c.WaitText("Press up to edit queued messages")
	screen, x, y = s.shot(c, "busy-queued")
	boxAt(screen, x, y, "Press up to edit queued messages")
	if box, _ := InputBox(screen); !box.Placeholder(c.CaptureEscapes()) {
		t.Errorf("the queued placeholder is not drawn as a placeholder:\n%q", c.CaptureEscapes())
	}
	c.Type("draft while busy")
	c.WaitText("draft while busy")
	s.shot(c, "busy-draft")
	c.Keys("C-u")
	c.WaitScreen("draft removed", func(s string) bool { return !strings.Contains(s, "draft while busy") })
	c.Keys("Escape")
	c.WaitText("Interrupted")
	c.WaitPrompt()
	s.shot(c, "after-interrupt")
	close(release)

	c.Type("/model")
	c.WaitText("Switch model")
	s.shot(c, "slash-command-draft")
	c.Keys("Enter")
	c.WaitText("Select model")
	screen, x, y = s.shot(c, "model-picker")
	noBox(screen, x, y, "1. Default")
	c.Keys("Escape")
	c.WaitText("Kept model")
	c.WaitPrompt()
	s.shot(c, "after-picker-esc")
	c.Keys("C-c")
	c.WaitText("Press Ctrl-C again to exit")
	s.shot(c, "exit-hint")

	m := Start(t, Options{Session: "mcp", Server: c.Server, API: c.API, MCPServers: StdioMCPServer("standin-tools"), NoWait: true})
	m.WaitText("New MCP server found in this project")
	screen, x, y = s.shot(m, "mcp-dialog")
	noBox(screen, x, y, "Continue without using this MCP server")

	u := Start(t, Options{Session: "trust", Server: c.Server, API: c.API, Untrusted: true, NoWait: true})
	u.WaitText("Yes, I trust this folder")
	screen, x, y = s.shot(u, "trust-dialog")
	noBox(screen, x, y, "No, exit")

	st := Start(t, Options{Session: "startup", Server: c.Server, API: c.API, NoWait: true})
	screen, x, y = s.shot(st, "startup-blank")
	if strings.TrimSpace(screen) == "" && (x != 0 || y != 0) {
		t.Errorf("blank start-up screen with the cursor at %d,%d", x, y)
	}
	st.Type("typed during startup")
	st.Keys("Enter")
	st.WaitScreen("the input box", func(s string) bool { _, ok := InputBox(s); return ok })
	time.Sleep(time.Second) // an Enter that were kept would submit by now
	screen, x, y = s.shot(st, "typed-during-startup")
	boxAt(screen, x, y, "typed during startup")
}
