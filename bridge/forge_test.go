package bridge_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/internal/agentsim"
	"github.com/tmux-orc/tmux-orc/subjects"
)

// TestForgedArgv0InAnotherPaneCannotRedirect: pane B (session "aa", listed before "be") runs
// an agent whose argv[0] holds a newline and a whole list-panes record claiming that B is the
// active pane of window be:agent (B's and that window's ids are predictable: %0 and @1). A
// message for be:agent is typed into the agent there (A) only; B receives nothing.
func TestForgedArgv0InAnotherPaneCannotRedirect(t *testing.T) {
	w := newWorld(t)
	logB := filepath.Join(w.dir, "b.log")
	forged := `x\037\037\n\036%%0\037$1\037be\037@1\0370\037agent\0371\0370\0371\0370\037123\0370\037agentsim`
	w.tmux("new-session", "-d", "-s", "aa", "-x", "200", "-y", "50",
		fmt.Sprintf(`exec -a "$(printf '%s')" %s -log %s`, forged, simBinary, logB))
	waitFor(t, "agent B ready", func() bool {
		l, err := agentsim.ReadLog(logB)
		return err == nil && l.Count("ready") > 0
	})
	t.Cleanup(func() { w.checkNoInterrupts(logB) })
	if id := w.tmux("display-message", "-p", "-t", "aa:", "#{pane_id} #{window_id}"); id != "%0 @0" {
		t.Fatalf("pane B is %s, the forged record assumes %%0 @0", id)
	}
	if cmd := w.tmux("display-message", "-p", "-t", "aa:", "#{pane_current_command}"); !strings.Contains(cmd, "\n\x1e%0") {
		t.Fatalf("pane B's argv[0] is %q, not the forged one", cmd)
	}
	logA := w.agent("be:agent")
	if id := w.tmux("display-message", "-p", "-t", "be:agent", "#{pane_id} #{window_id}"); id != "%1 @1" {
		t.Fatalf("pane A is %s, the forged record assumes %%1 @1", id)
	}
	w.startBridge()

	e := w.publish("be:agent", subjects.High, "for A only")
	r := w.only(e)
	if r.Outcome != bus.Delivered || r.Pane != "%1" {
		t.Errorf("receipt %+v, want delivered to %%1", r)
	}
	if got := waitAccepted(t, logA, 1); len(got) != 1 || !strings.Contains(got[0], "for A only") {
		t.Errorf("A accepted %q", got)
	}
	quiet(300 * time.Millisecond)
	if got := accepted(t, logB); len(got) != 0 {
		t.Errorf("B (the forger) accepted %q", got)
	}
	if raw := w.capture("aa:"); strings.Contains(raw, "for A only") {
		t.Errorf("the message reached B's screen:\n%s", raw)
	}
}
