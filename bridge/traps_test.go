package bridge_test

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/tmux-orc/tmux-orc/bridge"
	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/subjects"
	"github.com/tmux-orc/tmux-orc/tmux"
)

// TestTrapsAreTypedLiterally sends bodies that break naive tmux injection (see
// shared/notes/tmux.md) into an agentsim with the Codex paste-burst rule on, and checks that
// each one is exactly one accepted prompt equal to its rendering, in publication order.
func TestTrapsAreTypedLiterally(t *testing.T) {
	w := newWorld(t, func(c *bridge.Config) { c.VerifyDelay = 50 * time.Millisecond })
	log := w.agent("be:agent")
	w.startBridge()

	long := strings.Repeat("0123456789abcdefghij", 1024) // 20 KB
	bodies := []string{
		"-n hello",                              // a flag to send-keys if not after --
		"run tests;",                            // a trailing ; separates tmux commands
		";",                                     // a lone ;
		`back\slash \\ "double" 'single' \; \n`, // escapes and quotes
		"echo $HOME ~ `id` $(id) #{pane_id} %1", // shell and tmux expansions
		"esc\x1b[201~ bel\x07 cc\x03 nul\x00 del\x7f cr\r end", // control characters, a paste end marker
		"first line\nsecond line\r\nthird line",                // newlines
		"日本語のメッセージ 🚀 👍🏽 é",                                     // non-ASCII, wide characters and a modifier
		// Longer than MaxInline and than a spawned tmux command line. Last, because agentsim
		// places its cursor by logical line: once this prompt wraps in its transcript, the
		// cursor sits on the transcript and the composer looks non-empty to the bridge.
		long,
	}
	var es []*subjects.Envelope
	for _, b := range bodies {
		es = append(es, w.publish("be:agent", subjects.Normal, b))
	}
	waitAccepted(t, log, len(es))
	for i, e := range es {
		r := w.only(e)
		if r.Outcome != bus.Delivered || r.EnterPresses != 1 || r.PaneTarget != "be:0.0" {
			t.Errorf("body %d (%.30q): receipt %+v", i, bodies[i], r)
		}
	}
	quiet(300 * time.Millisecond)
	got := accepted(t, log)
	if len(got) != len(es) {
		t.Fatalf("agent accepted %d prompts, want %d (one per message): %q", len(got), len(es), got)
	}
	for i, e := range es {
		// The bridge strips control characters from what it types.
		want := tmux.Sanitize(bridge.Render(e, bridge.DefaultMaxInline))
		if got[i] != want {
			t.Errorf("body %d: agent accepted\n%q\nwant\n%q", i, got[i], want)
		}
	}

	// What the renderings must be, independently of Render.
	if want := "📨 NORMAL -n hello [id " + es[0].ID + "]"; got[0] != want {
		t.Errorf("leading '-': %q, want %q", got[0], want)
	}
	if !strings.Contains(got[1], " run tests; [id ") || !strings.Contains(got[2], "NORMAL ; [id ") {
		t.Errorf("';' lost: %q %q", got[1], got[2])
	}
	if !strings.Contains(got[3], `back\slash \\ "double" 'single' \; \n`) {
		t.Errorf("backslashes or quotes changed: %q", got[3])
	}
	if !strings.Contains(got[4], "echo $HOME ~ `id` $(id) #{pane_id} %1") {
		t.Errorf("something was expanded: %q", got[4])
	}
	if want := "esc[201~ bel cc nul del cr end"; !strings.Contains(got[5], want) {
		t.Errorf("control characters: %q, want it to contain %q", got[5], want)
	}
	for _, r := range got[5] {
		if r < 0x20 || r == 0x7f {
			t.Errorf("control character %U reached the agent: %q", r, got[5])
		}
	}
	if want := "first line ⏎ second line ⏎ third line"; !strings.Contains(got[6], want) || strings.Contains(got[6], "\n") {
		t.Errorf("newlines: %q, want one line containing %q", got[6], want)
	}
	if !strings.Contains(got[7], "日本語のメッセージ 🚀 👍🏽 é") {
		t.Errorf("non-ASCII: %q", got[7])
	}
	more := "… (full text: tmux-orc read --id " + es[8].ID + ")"
	if !strings.HasPrefix(got[8], "📨 NORMAL 0123456789abcdefghij0123") || !strings.HasSuffix(got[8], more+" [id "+es[8].ID+"]") ||
		len(got[8]) > bridge.DefaultMaxInline || !utf8.ValidString(got[8]) {
		t.Errorf("long body: %d bytes, %q", len(got[8]), got[8])
	}
	// The paste-burst rule turns an Enter that follows typed text too closely into a
	// newline; the EnterDelay keeps every prompt a single line.
	for i, g := range got {
		if strings.Contains(g, "\n") {
			t.Errorf("prompt %d holds a newline (Enter taken as part of a paste burst): %q", i, g)
		}
	}
}
