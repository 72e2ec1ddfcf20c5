package claudetest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tmux-orc/tmux-orc/internal/fakeapi"
	"github.com/tmux-orc/tmux-orc/internal/tmuxtest"
)

// APIKey is the API key the launched Claude Code is given and told is approved.
const APIKey = "sk-ant-standin-key"

// Options say how to start Claude Code. The zero value starts it in a new private tmux server,
// against a new API stand-in, in a trusted temporary directory, with no hooks.
type Options struct {
	// Server is the private tmux server to start it in; nil creates one.
	Server *tmuxtest.Server
	// API is the stand-in it talks to; nil starts one, closed when the test ends.
	API *fakeapi.Server
	// Dir is its working directory; empty means a new temporary directory.
	Dir string
	// Session names the tmux session to create (default "claude").
	Session string
	// Width and Height are the pane size (default 120x40).
	Width, Height int
	// Hooks maps hook events (UserPromptSubmit, Stop, ...) to an absolute command, written to
	// $HOME/.claude/settings.json (see HookRecorder).
	Hooks map[string]string
	// Settings are more keys of settings.json.
	Settings map[string]any
	// Untrusted leaves Dir untrusted, so the trust dialog opens at start.
	Untrusted bool
	// MCPServers, when set, is written to Dir/.mcp.json as "mcpServers", so the "New MCP server
	// found in this project" dialog opens at start. See StdioMCPServer.
	MCPServers map[string]any
	// Env holds more KEY=VALUE variables; they override the defaults (e.g.
	// CLAUDE_CODE_MAX_RETRIES, 0 by default so API errors end the turn at once).
	Env []string
	// Args are more arguments after --permission-mode default.
	Args []string
	// NoWait returns right after starting, without waiting for the empty prompt.
	NoWait bool
}

// StdioMCPServer returns an MCPServers value naming one stdio MCP server that runs /bin/true.
func StdioMCPServer(name string) map[string]any {
	return map[string]any{name: map[string]any{"command": "/bin/true", "args": []string{}}}
}

// Claude is a running Claude Code in a tmux pane.
type Claude struct {
	t testing.TB
	// Server is the tmux server and Pane the pane id (%N) it runs in.
	Server *tmuxtest.Server
	Pane   string
	// Session is the tmux session's name.
	Session string
	// API is the stand-in it talks to.
	API *fakeapi.Server
	// Home is its HOME and Dir its working directory.
	Home, Dir string
}

// Start starts the real Claude Code (Binary) in a new tmux session as opts say, with
// --permission-mode default, and waits for its empty prompt unless opts.NoWait. Everything is
// stopped when the test ends; if the test failed, the last screen is logged.
func Start(t testing.TB, opts Options) *Claude {
	t.Helper()
	bin := Binary(t)
	c := &Claude{t: t, Server: opts.Server, API: opts.API, Dir: opts.Dir, Session: opts.Session}
	if c.Server == nil {
		c.Server = tmuxtest.NewServer(t, "claudetest")
	}
	if c.API == nil {
		api, err := fakeapi.Start()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(api.Close)
		c.API = api
	}
	if c.Dir == "" {
		c.Dir = t.TempDir()
	}
	if dir, err := filepath.EvalSymlinks(c.Dir); err == nil {
		c.Dir = dir
	}
	if c.Session == "" {
		c.Session = "claude"
	}
	w, h := opts.Width, opts.Height
	if w == 0 {
		w = 120
	}
	if h == 0 {
		h = 40
	}
	c.Home = t.TempDir()
	c.writeHome(opts)
	if opts.MCPServers != nil {
		writeJSON(t, filepath.Join(c.Dir, ".mcp.json"), map[string]any{"mcpServers": opts.MCPServers})
	}

	env := []string{
		"HOME=" + c.Home,
		"ANTHROPIC_API_KEY=" + APIKey,
		"ANTHROPIC_BASE_URL=" + c.API.URL,
		"DISABLE_AUTOUPDATER=1",
		"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1",
		"CLAUDE_CODE_MAX_RETRIES=0",
	}
	env = append(env, opts.Env...)
	args := []string{"new-session", "-d", "-P", "-F", "#{pane_id}", "-s", c.Session,
		"-x", strconv.Itoa(w), "-y", strconv.Itoa(h), "-c", c.Dir}
	for _, kv := range env {
		args = append(args, "-e", kv)
	}
	// Agents run in people's terminals, not in CI: with CI set (as .ci/run sets it) Claude
	// Code draws its screen without the dim and reverse-video attributes that tell a
	// placeholder from a draft. env -u execs claude, so the pane's command stays "claude".
	args = append(args, "--", "env", "-u", "CI", bin, "--permission-mode", "default")
	args = append(args, opts.Args...)
	// Keep the pane when claude exits, so a test can read its last screen.
	args = append(args, ";", "set-option", "-w", "-t", c.Session, "remain-on-exit", "on")
	c.Pane = firstLine(c.Server.Tmux(args...))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("last screen of claude in %s:\n%s", c.Pane, c.Capture())
		}
		c.stop()
	})
	if !opts.NoWait {
		c.WaitPrompt()
	}
	return c
}

// writeHome writes $HOME/.claude.json (first-start dialogs done, key approved, Dir trusted) and
// $HOME/.claude/settings.json (hooks and settings).
func (c *Claude) writeHome(opts Options) {
	key := APIKey
	if len(key) > 20 {
		key = key[len(key)-20:]
	}
	project := map[string]any{"hasTrustDialogAccepted": !opts.Untrusted}
	state := map[string]any{
		"hasCompletedOnboarding": true,
		"theme":                  "dark",
		"lastReleaseNotesSeen":   Version,
		"customApiKeyResponses":  map[string]any{"approved": []string{key}, "rejected": []string{}},
		"projects":               map[string]any{c.Dir: project},
	}
	writeJSON(c.t, filepath.Join(c.Home, ".claude.json"), state)
	settings := map[string]any{}
	for k, v := range opts.Settings {
		settings[k] = v
	}
	if len(opts.Hooks) > 0 {
		hooks := map[string]any{}
		for event, command := range opts.Hooks {
			hooks[event] = []any{map[string]any{"matcher": "", "hooks": []any{map[string]any{"type": "command", "command": command}}}}
		}
		settings["hooks"] = hooks
	}
	writeJSON(c.t, filepath.Join(c.Home, ".claude", "settings.json"), settings)
}

func writeJSON(t testing.TB, path string, v any) {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return strings.TrimSpace(line)
}

// stop ends claude (SIGTERM, then SIGKILL after 10 s) and waits for it to exit, so that it no
// longer writes into the temporary HOME the test is about to remove. The session stays, its
// pane dead (remain-on-exit), so that the server lives on until its owner stops it and its
// socket is removed with it.
func (c *Claude) stop() {
	out, err := c.tmux("display-message", "-p", "-t", c.Pane, "#{pane_dead} #{pane_pid}")
	dead, pidText, _ := strings.Cut(strings.TrimSpace(out), " ")
	pid, perr := strconv.Atoi(pidText)
	if err != nil || perr != nil || pid <= 0 || dead == "1" {
		return
	}
	_ = syscall.Kill(pid, syscall.SIGTERM)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if syscall.Kill(pid, 0) != nil {
			return
		}
	}
	c.t.Logf("claude (pid %d) still running 10 s after SIGTERM; killing it", pid)
	_ = syscall.Kill(pid, syscall.SIGKILL)
}
