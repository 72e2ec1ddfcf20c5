package bridge_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tmux-orc/tmux-orc/bridge"
	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/internal/agentsim"
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
	if rs, _ := w.c.Receipts(t.Context(), mgmtAll.Message.Priority, mgmtAll.ID); len(final(rs)) != 2 {
		t.Errorf("group:management has %d receipts: %+v", len(rs), rs)
	}
}

// bashPane starts an interactive bash in window be:sh with its history in hist.
func (w *world) bashPane(hist string) {
	w.t.Helper()
	bash, err := exec.LookPath("bash")
	if err != nil {
		w.t.Skip("no bash")
	}
	w.tmux("new-window", "-d", "-t", "be:", "-n", "sh", "env", "-i", "HOME="+w.dir, "PATH=/usr/bin:/bin",
		"TERM=screen", "LANG=C.UTF-8", "HISTFILE="+hist, "PROMPT_COMMAND=history -a", "PS1=test$ ",
		bash, "--norc", "--noprofile", "-i")
	waitFor(w.t, "the bash prompt", func() bool { return strings.HasPrefix(w.capture("be:sh"), "test$") })
}

// TestShellNeverTyped: a pane running a shell is not an agent. A message for it, even one
// that would run a command there, is never typed: undeliverable ("the pane runs a shell"),
// with an alert, and the command never ran.
func TestShellNeverTyped(t *testing.T) {
	w := newWorld(t)
	w.agent("be:agent")
	hist := filepath.Join(w.dir, "bash_history")
	w.bashPane(hist)
	w.startBridge()
	pwned := filepath.Join(w.dir, "pwned")
	e := w.publish("be:sh", subjects.Critical, "status; touch "+pwned+" #")
	r := w.only(e)
	if r.Outcome != bus.Undeliverable || !r.Typed.IsZero() || r.EnterPresses != 0 || r.PaneTarget != "be:1.0" ||
		!strings.Contains(r.Reason, "the pane runs a shell (bash)") {
		t.Fatalf("receipt %+v", r)
	}
	a := w.waitAlert("be", e.ID)
	if !a.HasTag("undeliverable") || !strings.Contains(a.Message.Content.Body, "runs a shell") {
		t.Fatalf("alert %+v", a.Envelope)
	}
	// A group message reaches the agent, and not the shell.
	g := w.publish("group:all@be", subjects.Normal, "everyone; touch "+pwned+" #")
	rs := w.receipts(g, 2)
	for _, r := range rs {
		if (r.PaneTarget == "be:1.0") != (r.Outcome == bus.Undeliverable) {
			t.Fatalf("receipts %+v", rs)
		}
	}
	if _, err := os.Stat(pwned); err == nil {
		t.Fatal("a command typed into the shell ran")
	}
	if b, _ := os.ReadFile(hist); strings.TrimSpace(string(b)) != "" {
		t.Fatalf("the shell got a line: %q", b)
	}
	if scr := w.capture("be:sh"); strings.TrimSpace(scr) != "test$" {
		t.Fatalf("screen:\n%s", scr)
	}
}

// TestBashReadline types into bash's own readline, which the pane opted into (@orc-agent
// shell): the line is submitted as a command, harmlessly (the rendered text starts with an
// emoji, which is no command), and lands in bash's history exactly once.
func TestBashReadline(t *testing.T) {
	w := newWorld(t)
	w.agent("be:agent")
	hist := filepath.Join(w.dir, "bash_history")
	w.bashPane(hist)
	w.tmux("set-option", "-p", "-t", "be:sh", "@orc-agent", "shell")
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
	// bash writes its history before it runs the line: the prompt comes back a moment later.
	var scr string
	waitFor(t, "bash's prompt after the line ran", func() bool {
		scr = w.capture("be:sh")
		return strings.HasSuffix(scr, "test$")
	})
	if !strings.Contains(scr, "test$ "+want) || !strings.Contains(scr, "command not found") {
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

// TestAgentCrashedBackToShell: an agent started from a person's shell takes its messages;
// once it exits and the pane is back at the shell, the next message is not typed (it would
// run there): undeliverable, "the pane runs a shell".
func TestAgentCrashedBackToShell(t *testing.T) {
	w := newWorld(t)
	w.agent("be:agent")
	hist := filepath.Join(w.dir, "bash_history")
	w.bashPane(hist)
	log := filepath.Join(w.dir, "sh-agent.log")
	w.tmux("send-keys", "-t", "be:sh", "-l", simBinary+" -log "+log)
	w.tmux("send-keys", "-t", "be:sh", "Enter")
	waitFor(t, "the agent started from the shell", func() bool {
		l, err := agentsim.ReadLog(log)
		return err == nil && l.Count("ready") > 0
	})
	w.startBridge()
	e1 := w.publish("be:sh", subjects.High, "to the agent")
	if r := w.only(e1); r.Outcome != bus.Delivered {
		t.Fatalf("receipt %+v", r)
	}
	waitAccepted(t, log, 1)
	pid := 0
	for _, ev := range agentLog(t, log).Events {
		if ev.Kind == agentsim.EventReady {
			pid = ev.PID
		}
	}
	if err := syscall.Kill(pid, syscall.SIGUSR2); err != nil || pid == 0 { // the agent crashes
		t.Fatalf("crashing the agent (pid %d): %v", pid, err)
	}
	waitFor(t, "the shell back", func() bool { return w.format("be:sh", "#{pane_current_command}") == "bash" })
	pwned := filepath.Join(w.dir, "pwned")
	e2 := w.publish("be:sh", subjects.Critical, "x; touch "+pwned+" #")
	if r := w.only(e2); r.Outcome != bus.Undeliverable || !strings.Contains(r.Reason, "runs a shell") || !r.Typed.IsZero() {
		t.Fatalf("receipt %+v", r)
	}
	if _, err := os.Stat(pwned); err == nil {
		t.Fatal("the command ran in the shell")
	}
	if got := accepted(t, log); len(got) != 1 || got[0] != bridge.Render(e1, bridge.DefaultMaxInline) {
		t.Fatalf("accepted %q", got)
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
		e.Source.Pane, e.Source.Host = pane(target), w.cfg.Host
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
