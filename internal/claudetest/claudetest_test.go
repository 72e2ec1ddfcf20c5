package claudetest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tmux-orc/tmux-orc/internal/fakeapi"
)

// TestRealClaudeCode drives the real TUI against the stand-in as a person would: a prompt
// typed with send-keys reaches the model and its answer is shown; a Bash tool call opens the
// real permission dialog (and nothing runs until it is answered); an API error ends the turn
// with StopFailure; the hooks hand over their JSON.
func TestRealClaudeCode(t *testing.T) {
	hooks := NewHookRecorder(t)
	c := Start(t, Options{Hooks: hooks.Hooks("SessionStart", "UserPromptSubmit", "Stop", "StopFailure", "PreToolUse", "Notification")})
	hooks.Wait("SessionStart", nil)

	// A text turn.
	c.API.Queue(fakeapi.Text("Hello from the scripted stand-in."))
	c.Submit("first prompt, typed by a test")
	if _, ok := c.API.WaitRequest(waitTimeout, fakeapi.HasPrompt("first prompt, typed by a test")); !ok {
		t.Fatalf("the prompt never reached the stand-in; requests: %+v", c.API.Requests())
	}
	c.WaitText("Hello from the scripted stand-in.")
	e := hooks.Wait("UserPromptSubmit", nil)
	if got := e.String("prompt"); got != "first prompt, typed by a test" {
		t.Errorf("UserPromptSubmit prompt = %q", got)
	}
	if got := hooks.Wait("Stop", nil).String("last_assistant_message"); got != "Hello from the scripted stand-in." {
		t.Errorf("Stop last_assistant_message = %q", got)
	}
	c.WaitPrompt()

	// A tool call: the real permission dialog, and the command does not run while it is open.
	marker := filepath.Join(c.Dir, "tool-ran")
	c.API.Queue(fakeapi.Bash("touch "+marker, "Touch the marker"))
	c.Submit("run the tool please")
	screen := c.WaitText("Do you want to proceed?")
	if !strings.Contains(screen, "1. Yes") || !strings.Contains(screen, "touch "+marker) {
		t.Errorf("permission dialog does not show the choices and the command:\n%s", screen)
	}
	if _, ok := InputBox(screen); ok {
		t.Errorf("InputBox found an input box on the permission dialog:\n%s", screen)
	}
	hooks.Wait("PreToolUse", func(e HookEvent) bool { return e.String("tool_name") == "Bash" })
	time.Sleep(500 * time.Millisecond) // the tool must not run on its own
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the tool ran with the permission dialog still open")
	}
	c.Keys("Escape") // refuse, as a person would
	c.WaitPrompt()
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the tool ran although the dialog was refused")
	}

	// An API error: StopFailure instead of Stop, the error on screen.
	c.API.Queue(fakeapi.Error(500))
	c.Submit("this prompt meets an API error")
	if got := hooks.Wait("StopFailure", nil).String("error"); got != "server_error" {
		t.Errorf("StopFailure error = %q, want server_error", got)
	}
	c.WaitText("API Error: 500")
	c.WaitPrompt() // the placeholder "Resend your message" counts as empty

	prompts := c.API.Prompts()
	want := []string{"first prompt, typed by a test", "run the tool please", "this prompt meets an API error"}
	for _, w := range want {
		found := false
		for _, p := range prompts {
			found = found || p == w
		}
		if !found {
			t.Errorf("prompt %q not among those the stand-in received: %q", w, prompts)
		}
	}
}

// TestRealClaudeCodeDrafts checks InputBox on the real screen: a draft with the cursor at its
// start, and one over several lines, are seen as drafts, never as an empty box.
func TestRealClaudeCodeDrafts(t *testing.T) {
	c := Start(t, Options{})
	c.Type("half typed by a human")
	c.Keys("Home")
	screen := c.WaitText("half typed by a human")
	box, ok := InputBox(screen)
	if !ok || box.Text != "half typed by a human" {
		t.Fatalf("InputBox = %+v, %v on:\n%s", box, ok, screen)
	}
	if x, y := c.Cursor(); x != 2 || y != box.Row {
		t.Errorf("cursor at %d,%d, want 2,%d (start of the draft)", x, y, box.Row)
	}
	c.Keys("End", "C-j")
	c.Type("second line")
	screen = c.WaitText("second line")
	box, ok = InputBox(screen)
	if !ok || box.Text != "half typed by a human\nsecond line" || len(box.Lines) != 2 {
		t.Fatalf("InputBox = %+v, %v on:\n%s", box, ok, screen)
	}
	if len(c.API.Turns()) != 0 {
		t.Errorf("a draft reached the model: %+v", c.API.Turns())
	}
}

// TestRealClaudeCodeStartupDialogs: the options that keep a start-up dialog open do so.
func TestRealClaudeCodeStartupDialogs(t *testing.T) {
	t.Run("mcp", func(t *testing.T) {
		c := Start(t, Options{MCPServers: StdioMCPServer("standin-tools"), NoWait: true})
		screen := c.WaitText("New MCP server found in this project")
		if _, ok := InputBox(screen); ok {
			t.Errorf("InputBox found an input box on the MCP dialog:\n%s", screen)
		}
	})
	t.Run("trust", func(t *testing.T) {
		c := Start(t, Options{Untrusted: true, NoWait: true})
		screen := c.WaitText("Yes, I trust this folder")
		if _, ok := InputBox(screen); ok {
			t.Errorf("InputBox found an input box on the trust dialog:\n%s", screen)
		}
	})
}

// TestInstallScriptPinsVersion keeps install.sh and Version on the same release.
func TestInstallScriptPinsVersion(t *testing.T) {
	b, err := os.ReadFile("install.sh")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "\nversion="+Version+"\n") {
		t.Errorf("install.sh does not pin version=%s", Version)
	}
}

// TestBinaryOverrideMustRun: a TMUX_ORC_CLAUDE_BIN that does not run is an error, never a
// silent fallback to another binary.
func TestBinaryOverrideMustRun(t *testing.T) {
	t.Setenv(EnvBinary, filepath.Join(t.TempDir(), "no-such-claude"))
	if _, err := findOrInstall(); err == nil || !strings.Contains(err.Error(), EnvBinary) {
		t.Errorf("findOrInstall with a missing override: %v, want an error naming %s", err, EnvBinary)
	}
}

// TestRealClaudeCodeBusyQueues: a reply held back keeps Claude Code busy; a prompt submitted
// meanwhile is queued on screen and reaches the model only after the held turn ends.
func TestRealClaudeCodeBusyQueues(t *testing.T) {
	hooks := NewHookRecorder(t)
	c := Start(t, Options{Hooks: hooks.Hooks("UserPromptSubmit", "Stop")})
	release := make(chan struct{})
	c.API.Queue(fakeapi.Text("the slow answer").Until(release), fakeapi.Text("the queued answer"))
	c.Submit("a slow question")
	if _, ok := c.API.WaitRequest(waitTimeout, fakeapi.HasPrompt("a slow question")); !ok {
		t.Fatal("the first prompt never reached the model")
	}
	c.WaitText("esc to interrupt")
	c.Submit("asked while busy")
	c.WaitText("Queued")
	if p := c.API.Prompts(); len(p) != 1 {
		t.Fatalf("prompts at the model while busy: %q", p)
	}
	close(release)
	c.WaitText("the queued answer")
	if _, ok := c.API.WaitRequest(waitTimeout, fakeapi.HasPrompt("asked while busy")); !ok {
		t.Fatalf("the queued prompt never reached the model: %q", c.API.Prompts())
	}
	hooks.Wait("UserPromptSubmit", func(e HookEvent) bool { return e.String("prompt") == "asked while busy" })
	c.WaitPrompt()
}

// TestRealClaudeCodeStopHookBlock: a Stop hook that answers {"decision":"block","reason":R}
// makes Claude Code go on with R as the model's next input (the hand-over path for messages
// to a busy agent); the next Stop has stop_hook_active true, which a hook uses against loops.
func TestRealClaudeCodeStopHookBlock(t *testing.T) {
	hooks := NewHookRecorder(t)
	dir := t.TempDir()
	block := filepath.Join(dir, "block-once")
	// Record the event, then block the first Stop only (stop_hook_active is false there).
	script := "#!/bin/sh\nin=$(cat)\nprintf '%s' \"$in\" | " + hooks.Command + "\n" +
		"case \"$in\" in *'\"stop_hook_active\":false'*) printf '%s' '{\"decision\":\"block\",\"reason\":\"HANDOVER: a message from the orchestrator\"}';; esac\n"
	if err := os.WriteFile(block, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	c := Start(t, Options{Hooks: map[string]string{"Stop": block, "UserPromptSubmit": hooks.Command}})
	c.API.Queue(fakeapi.Text("first answer"), fakeapi.Text("answer to the hand-over"))
	c.Submit("start a turn")
	req, ok := c.API.WaitRequest(waitTimeout, func(r fakeapi.Request) bool {
		return r.Turn && strings.Contains(strings.Join(r.Texts, "\n"), "HANDOVER: a message from the orchestrator")
	})
	if !ok {
		t.Fatalf("the hook's reason never reached the model; turns: %+v", c.API.Turns())
	}
	if want := "Stop hook feedback:\nHANDOVER: a message from the orchestrator"; req.Prompt != want {
		t.Errorf("the model saw the hand-over as %q, want %q", req.Prompt, want)
	}
	c.WaitText("answer to the hand-over")
	second := hooks.Wait("Stop", func(e HookEvent) bool { return e.Fields["stop_hook_active"] == true })
	if got := second.String("last_assistant_message"); got != "answer to the hand-over" {
		t.Errorf("second Stop last_assistant_message %q", got)
	}
	for _, e := range hooks.Events() {
		if e.Name == "UserPromptSubmit" && strings.Contains(e.String("prompt"), "HANDOVER") {
			t.Errorf("the hand-over fired UserPromptSubmit: %v", e.Fields)
		}
	}
	c.WaitPrompt()
}
