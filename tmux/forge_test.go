package tmux

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"
)

// forgedArgv0 is a shell command that execs sleep with an argv[0] crafted to break or forge
// list-panes output: a newline, a record and field separators, a whole forged record claiming
// pane %0 runs forgedcmd in session "evil", control-mode %end/%begin lines, ESC and DEL.
const forgedArgv0 = `exec -a "$(printf 'x\n\036%%0\037$9\037evil\037@9\0370\037w\0371\0370\0371\0370\03799\0370\037forgedcmd\037role\037grp\n%%end 1 2 1\n%%begin 1 2 1\n%%1\033[31m\177y')" sleep 1000`

// TestListPanesForgedArgv0AndNames runs, on a real private server, a pane whose argv[0] holds
// a forged record and separators, a session and a window named with control characters, next
// to an ordinary pane. Both runners list exactly the real panes, each with its real ids; the
// forged pane is listed as itself with its control characters replaced.
func TestListPanesForgedArgv0AndNames(t *testing.T) {
	s := newTestServer(t, "main", "sleep 1000")
	forged := s.tmux("new-window", "-d", "-P", "-F", "#{pane_id}", "-t", "=main:", forgedArgv0)
	s.tmux("new-session", "-d", "-s", "ses\x01\x1f\x1ename\nx", "sleep 1000")
	s.tmux("new-window", "-d", "-t", "=main:", "-n", "win\ndow\x1e\x1f%1", "sleep 1000")
	// The forged record as a window name too (rename-window escapes it; new-window -n above
	// does not).
	s.tmux("rename-window", "-t", forged, "x\n\x1e%0\x1f$9\x1fevil\x1f@9\x1f0\x1fw\x1f1\x1f0\x1f1\x1f0\x1f99\x1f0\x1fforgedcmd\x1fr\x1fg")

	// The safe truth, from fields tmux prints as ids and numbers only.
	truth := map[string]string{}
	for _, l := range strings.Split(s.tmux("list-panes", "-a", "-F", "#{pane_id} #{session_id} #{window_id} #{pane_pid}"), "\n") {
		id, rest, _ := strings.Cut(l, " ")
		truth[id] = rest
	}
	if len(truth) != 4 {
		t.Fatalf("want 4 panes, tmux lists %v", truth)
	}
	// Wait until the shell has exec'ed sleep with the forged argv[0].
	checkFor(t, 10*time.Second, 10*time.Millisecond, func() error {
		if cmd := s.tmux("display-message", "-p", "-t", forged, "#{pane_current_command}"); !strings.HasPrefix(cmd, "x\n") {
			return fmt.Errorf("forged pane runs %q", cmd)
		}
		return nil
	})

	ctx := testCtx(t)
	for name, r := range s.runners() {
		panes, err := ListPanes(ctx, r)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got := map[string]string{}
		var ids []string
		for _, p := range panes {
			got[p.ID] = fmt.Sprintf("%s %s %d", p.SessionID, p.WindowID, p.PID)
			ids = append(ids, p.ID)
			for _, v := range []string{p.Session, p.Window, p.Command, p.Role, p.Group} {
				if strings.ContainsAny(v, "\n\x1e\x1f\x1b\x7f") {
					t.Errorf("%s: pane %s has a control character in %q", name, p.ID, v)
				}
			}
			if p.ID == forged && !strings.HasPrefix(p.Command, "x?") {
				t.Errorf("%s: forged pane command %q", name, p.Command)
			}
			if p.ID != forged && (p.Command == "forgedcmd" || p.Session == "evil") {
				t.Errorf("%s: pane %s took the forged command", name, p.ID)
			}
		}
		sort.Strings(ids)
		if fmt.Sprint(got) != fmt.Sprint(truth) || len(panes) != len(truth) {
			t.Errorf("%s: listed %v (%v), want %v", name, got, ids, truth)
		}
	}
}

// TestListPanesSurvivesControlClient: after listing the forged pane over a control
// connection, the connection still answers (no forged %end/%begin desynchronized it).
func TestListPanesSurvivesControlClient(t *testing.T) {
	s := newTestServer(t, "main", forgedArgv0)
	c := s.dial(Options{})
	ctx := testCtx(t)
	checkFor(t, 10*time.Second, 10*time.Millisecond, func() error {
		panes, err := ListPanes(ctx, c)
		if err != nil {
			return err
		}
		if len(panes) != 1 || !strings.HasPrefix(panes[0].Command, "x?") {
			return fmt.Errorf("panes %+v", panes)
		}
		return nil
	})
	for i := 0; i < 3; i++ {
		out, err := c.Run(ctx, Cmd{"display-message", "-p", "still #{session_name}"})
		if err != nil || len(out) != 1 || out[0] != "still main" {
			t.Fatalf("control client after the listing: %q, %v", out, err)
		}
	}
}

// TestSubscriptionOfForgedArgv0: a subscription on the command through TextField pushes the
// forged argv[0] as one line with its control characters replaced, and the control client
// keeps working.
func TestSubscriptionOfForgedArgv0(t *testing.T) {
	s := newTestServer(t, "main", forgedArgv0)
	c := s.dial(Options{})
	col := collect(c)
	ctx := testCtx(t)
	pane := s.tmux("display-message", "-p", "-t", "main:0", "#{pane_id}")
	if err := c.Subscribe(ctx, "state", "%*", "#{pane_dead}/"+TextField("pane_current_command")); err != nil {
		t.Fatal(err)
	}
	col.waitFor(t, "subscription-changed", func(n Notification) bool {
		return n.Kind == "subscription-changed" && n.PaneID == pane && strings.HasPrefix(string(n.Data), "0/x?")
	})
	out, err := c.Run(ctx, Cmd{"display-message", "-p", "still #{session_name}"})
	if err != nil || len(out) != 1 || out[0] != "still main" {
		t.Fatalf("control client after the notification: %q, %v", out, err)
	}
}
