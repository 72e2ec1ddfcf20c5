package cli_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tmux-orc/tmux-orc/internal/claudetest"
	"github.com/tmux-orc/tmux-orc/internal/fakeapi"
	"github.com/tmux-orc/tmux-orc/internal/home"
	"github.com/tmux-orc/tmux-orc/internal/monitor"
	"github.com/tmux-orc/tmux-orc/internal/tmuxtest"
)

// orcEnv runs the tmux-orc binary with env and returns its stdout, failing the test on error.
func orcRun(t *testing.T, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(binary(), args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("tmux-orc %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr)
	}
	return string(out)
}

// agentStatus returns what `tmux-orc status --json` says about target.
func agentStatus(t *testing.T, env []string, target string) (monitor.AgentStatus, bool) {
	t.Helper()
	var rep struct {
		Monitor *monitor.Status `json:"monitor"`
	}
	if err := json.Unmarshal([]byte(orcRun(t, env, "status", "--json")), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Monitor != nil {
		for _, a := range rep.Monitor.Agents {
			if a.Target == target {
				return a, true
			}
		}
	}
	return monitor.AgentStatus{}, false
}

// bodies returns the bodies of the messages of session's management group tagged tag,
// resolutions left out.
func bodies(t *testing.T, env []string, session, tag string) []string {
	t.Helper()
	var rep struct {
		Stored []struct {
			Message struct {
				Content struct {
					Body string `json:"body"`
				} `json:"content"`
			} `json:"message"`
		} `json:"stored_messages"`
	}
	if err := json.Unmarshal([]byte(orcRun(t, env, "read", "--group", "management", "--session", session, "--tag", tag, "--json")), &rep); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range rep.Stored {
		if b := m.Message.Content.Body; !strings.HasPrefix(b, "Resolved: ") {
			out = append(out, b)
		}
	}
	return out
}

func waitLong(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, d)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestMonitorWithRealClaudeCode runs the real Claude Code TUI (against the local API stand-in)
// in a team with a PM, its hooks installed by `hook claude-code --install` into a
// settings.json that already has settings and a hook of its own, under a real daemon:
//   - install keeps the file's content, and both the user's hook and ours fire;
//   - a completed turn reaches the PM as a turn-finished notice with the last message;
//   - a real permission dialog shows as waiting within seconds, and stuck after --stuck-after;
//   - an API error (StopFailure) leaves the agent idle and the PM hears of it;
//   - the idle_prompt notification about a minute after a turn gives no stuck alert and the
//     state idle.
func TestMonitorWithRealClaudeCode(t *testing.T) {
	srv := tmuxtest.NewServer(t, "orc-claude")
	dir := home.Dir(t.TempDir())
	env := []string{"TMUX_ORC_HOME=" + string(dir), "TMUX_ORC_PORT=0", "XDG_CONFIG_HOME=" + t.TempDir(),
		"TMUX_ORC_TMUX_SOCKET=" + srv.Socket.Name, "TMUX_ORC_HOST=h1"}
	rec := claudetest.NewHookRecorder(t)
	c := claudetest.Start(t, claudetest.Options{Server: srv, Session: "team", Hooks: rec.Hooks("Stop", "Notification"),
		Settings: map[string]any{"cleanupPeriodDays": 45}, Env: env})
	t.Cleanup(func() { stopDaemon(dir) })
	t.Cleanup(func() {
		if t.Failed() {
			cmd := exec.Command(binary(), "status", "--json")
			cmd.Env = append(os.Environ(), env...)
			st, _ := cmd.CombinedOutput()
			cmd = exec.Command(binary(), "daemon", "logs", "-n", "60")
			cmd.Env = append(os.Environ(), env...)
			logs, _ := cmd.CombinedOutput()
			t.Logf("status:\n%s\ndaemon log:\n%s\nhooks recorded: %v", st, logs, rec.Events())
		}
	})
	pmLog := filepath.Join(t.TempDir(), "pm.log")
	srv.Tmux("new-window", "-d", "-t", "team:", "-n", "pm", binary()+" agentsim -log "+pmLog)
	srv.Tmux("set-option", "-w", "-t", "team:pm", "@orc-role", "pm")

	// Install our hooks into Claude Code's existing settings.json, and restart it to load them.
	settings := filepath.Join(c.Home, ".claude", "settings.json")
	out := orcRun(t, append(env, "HOME="+c.Home), "hook", "claude-code", "--install")
	if !strings.Contains(out, "installed the hooks in "+settings) || !strings.Contains(out, "backup: ") {
		t.Fatalf("install: %s", out)
	}
	b, err := os.ReadFile(settings)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"cleanupPeriodDays": 45`, rec.Command, binary() + " hook claude-code", `"StopFailure"`} {
		if !strings.Contains(string(b), want) {
			t.Fatalf("settings.json after install lacks %s:\n%s", want, b)
		}
	}
	orcRun(t, env, "daemon", "start", "--stuck-after", "5s", "--idle-after", "10m")
	srv.Tmux("respawn-pane", "-k", "-t", c.Pane)
	c.WaitPrompt()
	target := "team:0.0"
	waitLong(t, "the monitor watches claude", 20*time.Second, func() bool { _, ok := agentStatus(t, env, target); return ok })

	// A completed turn: the PM hears it at once, with the last message.
	c.API.Queue(fakeapi.Text("Done: all 12 tests pass."))
	c.Submit("run the tests")
	waitLong(t, "turn-finished notice", 20*time.Second, func() bool { return len(bodies(t, env, "team", "turn-finished")) == 1 })
	if got := bodies(t, env, "team", "turn-finished")[0]; got != `Turn finished: agent team:0.0 is idle - last message: "Done: all 12 tests pass."` {
		t.Fatalf("notice %q", got)
	}
	rec.Wait("Stop", nil) // the user's own hook still runs beside ours
	waitLong(t, "the notice typed into the PM's pane", 20*time.Second, func() bool {
		b, _ := os.ReadFile(pmLog)
		return strings.Contains(string(b), "Turn finished: agent team:0.0 is idle")
	})
	if st, _ := agentStatus(t, env, target); st.State != monitor.Idle || st.Role != "agent" {
		t.Fatalf("after the turn: %+v", st)
	}

	// A real permission dialog: waiting within seconds, stuck after --stuck-after.
	c.API.Queue(fakeapi.Bash("touch "+filepath.Join(c.Dir, "x"), "Touch a file"))
	asked := time.Now()
	c.Submit("touch the file")
	c.WaitText("Do you want to proceed?")
	waitLong(t, "waiting", 3*time.Second, func() bool {
		st, _ := agentStatus(t, env, target)
		return st.State == monitor.Waiting || st.State == monitor.Stuck
	})
	t.Logf("permission dialog seen as waiting %s after the prompt", time.Since(asked).Round(100*time.Millisecond))
	waitLong(t, "stuck alert", 30*time.Second, func() bool { return len(bodies(t, env, "team", "stuck")) == 1 })
	if got := bodies(t, env, "team", "stuck")[0]; !strings.HasPrefix(got, "Agent team:0.0 stuck: ") {
		t.Fatalf("stuck alert %q", got)
	}
	c.Keys("Escape")
	c.WaitPrompt()

	// An API error: StopFailure; idle, and the PM hears of it.
	c.API.Queue(fakeapi.Error(500))
	c.Submit("this meets an API error")
	waitLong(t, "turn-failed notice", 20*time.Second, func() bool { return len(bodies(t, env, "team", "turn-failed")) == 1 })
	if got := bodies(t, env, "team", "turn-failed")[0]; !strings.HasPrefix(got, "Turn failed: agent team:0.0 stopped on an error (server_error) and is idle") {
		t.Fatalf("failure notice %q", got)
	}
	waitLong(t, "idle after the failure", 10*time.Second, func() bool { st, _ := agentStatus(t, env, target); return st.State == monitor.Idle })

	// A last turn, then Claude Code's idle_prompt notification (about 60 s later): idle, and
	// no stuck alert beyond the one of the dialog.
	c.API.Queue(fakeapi.Text("Finished."))
	c.Submit("one more")
	waitLong(t, "second turn-finished notice", 20*time.Second, func() bool { return len(bodies(t, env, "team", "turn-finished")) == 2 })
	waitLong(t, "the idle_prompt notification", 120*time.Second, func() bool {
		for _, e := range rec.Events() {
			if e.Name == "Notification" && e.String("notification_type") == "idle_prompt" {
				return true
			}
		}
		return false
	})
	time.Sleep(8 * time.Second) // longer than --stuck-after
	if got := bodies(t, env, "team", "stuck"); len(got) != 1 {
		t.Fatalf("stuck alerts after idle_prompt: %q", got)
	}
	st, _ := agentStatus(t, env, target)
	if st.State != monitor.Idle || st.Hook == nil || st.Hook.State != monitor.HookIdle {
		t.Fatalf("after idle_prompt: %+v (hook %+v)", st, st.Hook)
	}
}
