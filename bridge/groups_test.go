package bridge_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tmux-orc/tmux-orc/bridge"
	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/subjects"
)

// TestGroups routes group messages by @orc-role and @orc-group: management reaches the pm
// panes (in one session or in all of them), reviewers reaches the pane that declares it,
// and a plain agent pane gets neither.
func TestGroups(t *testing.T) {
	w := newWorld(t)
	pm := w.agent("be:pm")
	agent := w.agent("be:agent")
	rev := w.agent("be:rev")
	none := w.agent("be:none")
	fepm := w.agent("fe:lead")
	w.tmux("set-option", "-w", "-t", "be:pm", "@orc-role", "pm")
	w.tmux("set-option", "-p", "-t", "be:rev", "@orc-group", "reviewers")
	w.tmux("set-option", "-p", "-t", "be:none", "@orc-role", "none")
	w.tmux("set-option", "-p", "-t", "be:none", "@orc-group", "reviewers")
	w.tmux("set-option", "-p", "-t", "fe:lead", "@orc-role", "orchestrator")
	w.startBridge()

	mgmtBE := w.publish("group:management@be", subjects.Normal, "be managers only")
	mgmtAll := w.publish("group:management", subjects.Normal, "all managers")
	reviewers := w.publish("group:reviewers@be", subjects.Normal, "please review")

	r := w.only(mgmtBE)
	if r.Outcome != bus.Delivered || r.PaneTarget != "be:0.0" {
		t.Errorf("management@be: %+v", r)
	}
	var where []string
	for _, r := range w.receipts(mgmtAll, 2) {
		if r.Outcome != bus.Delivered {
			t.Errorf("management: %+v", r)
		}
		where = append(where, r.PaneTarget)
	}
	slices.Sort(where)
	if !slices.Equal(where, []string{"be:0.0", "fe:0.0"}) {
		t.Errorf("management (every session) reached %q", where)
	}
	if r := w.only(reviewers); r.Outcome != bus.Delivered || r.PaneTarget != "be:2.0" {
		t.Errorf("reviewers@be: %+v", r)
	}
	waitAccepted(t, pm, 2)
	waitAccepted(t, fepm, 1)
	waitAccepted(t, rev, 1)
	quiet(500 * time.Millisecond) // strays or duplicates would show up by now

	render := func(e *subjects.Envelope) string { return bridge.Render(e, bridge.DefaultMaxInline) }
	for _, c := range []struct {
		name, log string
		want      []string
	}{
		// Groups everywhere come through their own consumer: their order relative to the
		// session's messages is not kept.
		{"be:pm (role pm on the window)", pm, []string{render(mgmtAll), render(mgmtBE)}},
		{"fe:lead (role orchestrator)", fepm, []string{render(mgmtAll)}},
		{"be:rev (@orc-group reviewers)", rev, []string{render(reviewers)}},
		{"be:agent (no role)", agent, nil},
		{"be:none (role none, even in reviewers)", none, nil},
	} {
		got := accepted(t, c.log)
		slices.Sort(got)
		slices.Sort(c.want)
		if !slices.Equal(got, c.want) {
			t.Errorf("%s accepted %q, want %q", c.name, got, c.want)
		}
	}
	for _, e := range []*subjects.Envelope{mgmtBE, reviewers} {
		if rs, _ := w.c.Receipts(t.Context(), e.Message.Priority, e.ID); len(rs) != 1 {
			t.Errorf("%s has %d receipts: %+v", e.Target, len(rs), rs)
		}
	}
	if rs, _ := w.c.Receipts(t.Context(), mgmtAll.Message.Priority, mgmtAll.ID); len(rs) != 2 {
		t.Errorf("group:management has %d receipts: %+v", len(rs), rs)
	}
}

// TestBashReadline types into bash's own readline: the line is submitted as a command,
// harmlessly (the rendered text starts with an emoji, which is no command), and lands in
// bash's history exactly once.
func TestBashReadline(t *testing.T) {
	w := newWorld(t)
	w.agent("be:agent")
	hist := filepath.Join(w.dir, "bash_history")
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	w.tmux("new-window", "-d", "-t", "be:", "-n", "sh", "env", "-i", "HOME="+w.dir, "PATH=/usr/bin:/bin",
		"TERM=screen", "LANG=C.UTF-8", "HISTFILE="+hist, "PROMPT_COMMAND=history -a", "PS1=test$ ",
		bash, "--norc", "--noprofile", "-i")
	waitFor(t, "the bash prompt", func() bool { return strings.HasPrefix(w.capture("be:sh"), "test$") })
	w.startBridge()

	// No ';', '|', '&', '`' or '$(': the whole line is one command named "⚠️", not found.
	e := w.publish("be:sh", subjects.High, "echo hello from the bridge")
	want := bridge.Render(e, bridge.DefaultMaxInline)
	if r := w.only(e); r.Outcome != bus.Delivered || r.EnterPresses != 1 || r.PaneTarget != "be:1.0" {
		t.Fatalf("receipt %+v", r)
	}
	var lines []string
	waitFor(t, "the line in bash's history", func() bool {
		b, _ := os.ReadFile(hist)
		lines = strings.Split(strings.TrimSpace(string(b)), "\n")
		return len(lines) > 0 && lines[0] != ""
	})
	if len(lines) != 1 || lines[0] != want {
		t.Fatalf("bash history %q, want [%q]", lines, want)
	}
	scr := w.capture("be:sh")
	if !strings.Contains(scr, "test$ "+want) || !strings.Contains(scr, "command not found") ||
		!strings.HasSuffix(scr, "test$") {
		t.Fatalf("screen:\n%s", scr)
	}
}

// TestBridgeRestart stops the bridge while messages wait for a window that does not exist
// yet, starts a new bridge and creates the window: each message is delivered exactly once.
func TestBridgeRestart(t *testing.T) {
	w := newWorld(t)
	w.agent("be:agent")
	w.startBridge()
	var es []*subjects.Envelope
	for _, p := range []subjects.Priority{subjects.High, subjects.Normal, subjects.Normal} {
		es = append(es, w.publish("be:later", p, "waiting for "+p.String()))
	}
	quiet(time.Second) // consumed by the first bridge and parked: nothing to poll for
	w.stopBridge()
	w.startBridge()
	log := w.agent("be:later")
	for _, e := range es {
		if r := w.only(e); r.Outcome != bus.Delivered || r.PaneTarget != "be:1.0" {
			t.Fatalf("%s: receipt %+v", e.ID, r)
		}
	}
	waitAccepted(t, log, len(es))
	quiet(500 * time.Millisecond)
	got := accepted(t, log)
	var want []string
	for _, e := range es {
		want = append(want, bridge.Render(e, bridge.DefaultMaxInline))
	}
	// Exactly once each. The order is the server's redelivery order of the given-back
	// messages, which is not always their publication order.
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("accepted %q, want each of %q once", got, want)
	}
}

// TestGroupMessageSkipsItsSender: a PM's message to management reaches the other PM but is
// not typed back into the PM's own pane; when the sender is the group's only pane the
// message is done (acknowledged, no outcome, no alert), not left to expire.
func TestGroupMessageSkipsItsSender(t *testing.T) {
	w := newWorld(t)
	pm1 := w.agent("be:pm1")
	pm2 := w.agent("be:pm2")
	w.tmux("set-option", "-w", "-t", "be:pm1", "@orc-role", "pm")
	w.tmux("set-option", "-w", "-t", "be:pm2", "@orc-role", "pm")
	w.agent("solo:lead")
	w.tmux("set-option", "-w", "-t", "solo:lead", "@orc-role", "pm")
	w.startBridge()
	pane := func(target string) string {
		return strings.TrimSpace(w.tmux("display-message", "-p", "-t", target, "#{pane_id}"))
	}
	from := func(e *subjects.Envelope, target string) *subjects.Envelope {
		e.Source.Pane, e.Source.Host = pane(target), subjects.LocalHost()
		if _, err := w.c.Publish(t.Context(), e); err != nil {
			t.Fatal(err)
		}
		return e
	}
	ack := from(w.envelope("group:management@be", subjects.Normal, "PM ACK: x - handled"), "be:pm1")
	if r := w.only(ack); r.PaneTarget != "be:1.0" || r.Outcome != bus.Delivered {
		t.Fatalf("receipt %+v, want delivered to be:1.0 only", r)
	}
	// A sender whose host name differs from the bridge's is still known by its pane and the
	// window its identifier names.
	other := w.envelope("group:management@be", subjects.Normal, "PM ACK: y - handled")
	other.Source.Pane, other.Source.Host, other.Source.Identifier = pane("be:pm2"), "laptop", "be:1"
	if _, err := w.c.Publish(t.Context(), other); err != nil {
		t.Fatal(err)
	}
	if r := w.only(other); r.PaneTarget != "be:0.0" || r.Outcome != bus.Delivered {
		t.Fatalf("receipt %+v, want delivered to be:0.0 only", r)
	}
	solo := from(w.envelope("group:management@solo", subjects.Normal, "note to self"), "solo:lead")
	// A later message to the same pane arrives, so the first one was handled before it.
	after := w.publish("solo:lead", subjects.Normal, "after")
	if r := w.only(after); r.Outcome != bus.Delivered {
		t.Fatalf("after: %+v", r)
	}
	quiet(500 * time.Millisecond)
	if rs, _ := w.c.Receipts(t.Context(), solo.Message.Priority, solo.ID); len(rs) != 0 {
		t.Errorf("the sender-only group message has outcomes %+v", rs)
	}
	if as := w.alerts("solo", solo.ID); len(as) != 0 {
		t.Errorf("alerts about the sender-only group message: %+v", as)
	}
	if got := accepted(t, pm1); len(got) != 1 || !strings.Contains(got[0], "PM ACK: y") {
		t.Errorf("be:pm1 accepted %q, want only the other PM's ack", got)
	}
	waitAccepted(t, pm2, 1)
	waitAccepted(t, pm1, 1)
}
