package bridge_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tmux-orc/tmux-orc/bridge"
	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/internal/agentstate"
	"github.com/tmux-orc/tmux-orc/internal/claudetest"
	"github.com/tmux-orc/tmux-orc/internal/fakeapi"
	"github.com/tmux-orc/tmux-orc/internal/tmuxtest"
	"github.com/tmux-orc/tmux-orc/subjects"
)

// These tests run the real Claude Code TUI (internal/claudetest: npm
// @anthropic-ai/claude-code at claudetest.Version) against the local API stand-in, in the
// world's tmux server, with a real bridge delivering into it. They skip where npm is
// unreachable, and fail instead when CI is set.

var (
	orcOnce sync.Once
	orcBin  string
	orcErr  error
)

// orcBinary builds the tmux-orc command once (for the hook commands Claude Code runs).
func orcBinary(t *testing.T) string {
	t.Helper()
	orcOnce.Do(func() {
		var cleanup func()
		orcBin, cleanup, orcErr = tmuxtest.Build("github.com/tmux-orc/tmux-orc/cmd/tmux-orc", "tmux-orc")
		_ = cleanup // removed with the OS temp dir; the binary is shared by the tests of this run
	})
	if orcErr != nil {
		t.Fatal(orcErr)
	}
	return orcBin
}

// claude starts the real Claude Code in session of w's tmux server; with hooks, its
// UserPromptSubmit, PreToolUse, Notification and Stop hooks run `tmux-orc hook claude-code`
// against w's daemon.
func (w *world) claude(t *testing.T, session string, hooks bool, api *fakeapi.Server, nowait bool) *claudetest.Claude {
	t.Helper()
	claudetest.Binary(t) // skips (or fails in CI) before anything else is built
	opts := claudetest.Options{Server: w.srv, Session: session, API: api, NoWait: nowait}
	if hooks {
		script := filepath.Join(t.TempDir(), "orc-hook")
		body := "#!/bin/sh\nexec env " + "TMUX_ORC_HOME=" + w.home + " " + subjects.EnvHost + "=" + w.cfg.Host + " " +
			orcBinary(t) + " hook claude-code\n"
		if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
		opts.Hooks = map[string]string{}
		for _, ev := range []string{"UserPromptSubmit", "PreToolUse", "Notification", "Stop"} {
			opts.Hooks[ev] = script
		}
	}
	return claudetest.Start(t, opts)
}

func startAPI(t *testing.T) *fakeapi.Server {
	api, err := fakeapi.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(api.Close)
	return api
}

// prompted waits until the stand-in got a turn whose prompt holds id.
func prompted(t *testing.T, api *fakeapi.Server, id string) {
	t.Helper()
	if _, ok := api.WaitRequest(30*time.Second, fakeapi.HasPrompt(id)); !ok {
		t.Fatalf("the model never got a prompt with %s; prompts: %q", id, api.Prompts())
	}
}

// TestClaudePermissionDialog: a message published while a real permission dialog is open
// never answers it (the tool never runs); it waits, and is delivered once the person answers
// the dialog. Another one, while the dialog stays open past the wait, ends undeliverable with
// an alert.
func TestClaudePermissionDialog(t *testing.T) {
	w := newWorld(t, func(c *bridge.Config) { c.ReadyWait = 4 * time.Second })
	api := startAPI(t)
	pwned := filepath.Join(w.dir, "pwned")
	api.Queue(fakeapi.Bash("touch "+pwned, "Create a file"))
	c := w.claude(t, "cc", false, api, false)
	w.startBridge()
	c.Submit("please run the tool")
	c.WaitText("Do you want to proceed?")

	e := w.publish("cc", subjects.Critical, "while the dialog is open, 1 y")
	r := w.only(e)
	if r.Outcome != bus.Undeliverable || !r.Typed.IsZero() || !strings.Contains(r.Reason, "a dialog is open") {
		t.Fatalf("receipt %+v", r)
	}
	w.waitAlert("cc", e.ID)

	e2 := w.publish("cc", subjects.High, "after the person answered")
	waitFor(t, "e2 queued", func() bool { return len(w.queuedReceipts(e2)) == 1 })
	if _, err := os.Stat(pwned); err == nil {
		t.Fatal("the tool ran: a keystroke approved it")
	}
	if !strings.Contains(c.Capture(), "Do you want to proceed?") {
		t.Fatalf("the dialog went away without the person:\n%s", c.Capture())
	}
	c.Keys("Escape") // the person rejects the tool
	if r := w.only(e2); r.Outcome != bus.Delivered || r.EnterPresses != 1 {
		t.Fatalf("receipt %+v", r)
	}
	prompted(t, api, e2.ID)
	if _, err := os.Stat(pwned); err == nil {
		t.Fatal("the tool ran")
	}
	for _, p := range api.Prompts() {
		if strings.Contains(p, e.ID) {
			t.Fatalf("the undeliverable message reached the model: %q", p)
		}
	}
}

// TestClaudeDraftAnywhere: a person's draft, with the cursor at its start or over two lines,
// is never submitted with a message nor lost; when the person submits it, the waiting
// message follows.
func TestClaudeDraftAnywhere(t *testing.T) {
	w := newWorld(t, func(c *bridge.Config) { c.ReadyWait = 3 * time.Second })
	api := startAPI(t)
	c := w.claude(t, "cc", false, api, false)
	w.startBridge()
	c.Type("half typed by a human, do not lose me")
	c.Keys("Home")
	c.WaitText("half typed by a human")

	e := w.publish("cc", subjects.High, "not into the draft")
	if r := w.only(e); r.Outcome != bus.Undeliverable || !r.Typed.IsZero() || !strings.Contains(r.Reason, "draft") {
		t.Fatalf("receipt %+v", r)
	}
	box, ok := claudetest.InputBox(c.Capture())
	if !ok || !strings.Contains(strings.Join(box.Lines, "\n"), "half typed by a human, do not lose me") ||
		strings.Contains(c.Capture(), e.ID) {
		t.Fatalf("the draft changed:\n%s", c.Capture())
	}

	// A second line, the cursor back on the first.
	c.Keys("End", "C-j")
	c.Type("second line")
	c.Keys("Up", "Home")
	e2 := w.publish("cc", subjects.Normal, "after the person's own prompt")
	waitFor(t, "e2 queued", func() bool { return len(w.queuedReceipts(e2)) == 1 })
	if strings.Contains(c.Capture(), e2.ID) {
		t.Fatalf("typed into the draft:\n%s", c.Capture())
	}
	c.Keys("Enter") // the person submits the draft
	if r := w.only(e2); r.Outcome != bus.Delivered {
		t.Fatalf("receipt %+v", r)
	}
	prompted(t, api, e2.ID)
	ps := api.Prompts()
	if len(ps) != 2 || !strings.Contains(ps[0], "do not lose me") || !strings.Contains(ps[0], "second line") ||
		strings.Contains(ps[0], e2.ID) || strings.Contains(ps[1], "do not lose me") {
		t.Fatalf("prompts %q", ps)
	}
}

// TestClaudeJustStarted: messages published right after Claude Code is started wait for its
// prompt and are delivered, each on its own.
func TestClaudeJustStarted(t *testing.T) {
	w := newWorld(t, func(c *bridge.Config) { c.ReadyWait = time.Minute })
	api := startAPI(t)
	w.agent("keep:0") // the server and the bridge are up before claude starts
	w.startBridge()
	c := w.claude(t, "cc", false, api, true)
	e1 := w.publish("cc", subjects.High, "first, right after the start")
	e2 := w.publish("cc", subjects.Normal, "second")
	for _, e := range []*subjects.Envelope{e1, e2} {
		if r := w.only(e); r.Outcome != bus.Delivered {
			t.Fatalf("receipt %+v\n%s", r, c.Capture())
		}
		prompted(t, api, e.ID)
	}
	for _, p := range api.Prompts() {
		if strings.Contains(p, e1.ID) && strings.Contains(p, e2.ID) {
			t.Fatalf("two messages in one prompt: %q", p)
		}
	}
}

// TestClaudeHooks: with its hooks installed, a submitted message is recorded received (the
// UserPromptSubmit hook names its id), and a message for the agent while it is busy in a
// turn is not typed into the TUI but handed over by its Stop hook as its next input.
func TestClaudeHooks(t *testing.T) {
	w := newWorld(t)
	api := startAPI(t)
	c := w.claude(t, "cc", true, api, false)
	w.startBridge()

	e := w.publish("cc", subjects.High, "hello through the hook")
	prompted(t, api, e.ID)
	var got map[bus.Outcome]bus.Receipt
	waitFor(t, "the delivered and received receipts", func() bool {
		rs, _ := w.c.Receipts(context.Background(), e.Message.Priority, e.ID)
		got = map[bus.Outcome]bus.Receipt{}
		for _, r := range rs {
			got[r.Outcome] = r
		}
		return len(final(rs)) >= 2
	})
	if d, r := got[bus.Delivered], got[bus.Received]; len(got) != 2 || d.Path != bus.PathTyped || d.Pane != c.Pane ||
		r.Pane != c.Pane || r.Host != w.cfg.Host || r.Via != "hook" {
		t.Fatalf("receipts %+v", got)
	}
	c.WaitPrompt()

	// A slow turn: the agent is busy; the message waits for the end of the turn.
	release := make(chan struct{})
	api.Queue(fakeapi.Text("slow answer").Until(release))
	hooks, err := w.c.Conn().SubscribeSync(agentstate.HookSubject + "." + w.cfg.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer hooks.Unsubscribe()
	c.Submit("a slow question")
	c.WaitText("esc to interrupt")
	for { // the UserPromptSubmit hook reports the agent busy (to the bridge too)
		m, err := hooks.NextMsg(20 * time.Second)
		if err != nil {
			t.Fatalf("no hook event: %v", err)
		}
		if h, ok := agentstate.ParseHook(m.Data); ok && h.Event == "UserPromptSubmit" {
			break
		}
	}
	e2 := w.publish("cc", subjects.High, "while you work")
	waitFor(t, "e2 queued", func() bool { return len(w.queuedReceipts(e2)) == 1 })
	// Held because the agent is busy (on a loaded machine the first look may catch a redraw
	// and give another reason; the message is held either way).
	t.Logf("queued: %s", w.queuedReceipts(e2)[0].Reason)
	if strings.Contains(c.Capture(), e2.ID) {
		t.Fatalf("typed into the busy agent:\n%s", c.Capture())
	}
	close(release)
	r := w.only(e2)
	if r.Outcome != bus.Delivered || r.Path != bus.PathHook || !r.Typed.IsZero() {
		t.Fatalf("receipt %+v", r)
	}
	// Claude Code goes on with the hand-over as its next input.
	waitFor(t, "the hand-over at the model", func() bool {
		for _, req := range api.Turns() {
			if strings.Contains(string(req.Body), e2.ID) {
				return true
			}
		}
		return false
	})
	if strings.Contains(c.Capture(), "❯ "+bridge.Render(e2, bridge.DefaultMaxInline)) {
		t.Fatalf("the message was typed too:\n%s", c.Capture())
	}
}
