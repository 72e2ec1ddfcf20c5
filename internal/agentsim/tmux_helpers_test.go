package agentsim

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// simBinary is the agentsim test binary built by TestMain.
var simBinary string

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "agentsim-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "make temp dir:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "agentsim")
	cmd := exec.Command("go", "build", "-o", bin, "./testdata/agentsimmain")
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build agentsimmain: %v\n%s", err, out)
		return 1
	}
	simBinary = bin
	return m.Run()
}

// simPane is an agentsim running in the only pane of a private tmux server.
type simPane struct {
	t       *testing.T
	socket  string
	pane    string
	logPath string
	rawPath string
	pid     int
	// socketPath is removed after kill-server: tmux 3.3a leaves it behind.
	socketPath string
}

// killServer kills only this test's tmux server and removes its socket.
func (p *simPane) killServer() {
	_, _ = p.tmux("kill-server")
	if strings.Contains(filepath.Base(p.socketPath), "orc-sim-") {
		_ = os.Remove(p.socketPath)
	}
}

// startSim is launchSim followed by waitReady.
func startSim(t *testing.T, args ...string) *simPane {
	t.Helper()
	p := launchSim(t, args...)
	p.waitReady()
	return p
}

// launchSim starts a tmux server on a unique socket running agentsim with
// args and registers cleanup that kills only that server.
func launchSim(t *testing.T, args ...string) *simPane {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux not installed")
	}
	var rnd [6]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p := &simPane{
		t:       t,
		socket:  "orc-sim-" + hex.EncodeToString(rnd[:]),
		logPath: filepath.Join(dir, "log.jsonl"),
		rawPath: filepath.Join(dir, "raw.jsonl"),
	}
	t.Cleanup(p.killServer)
	argv := append([]string{simBinary, "-log", p.logPath, "-raw", p.rawPath}, args...)
	cmd := append([]string{"-f", "/dev/null", "new-session", "-d", "-x", "200", "-y", "50", "-P", "-F", "#{pane_id}"}, argv...)
	cmd = append(cmd, ";", "set-option", "-g", "remain-on-exit", "on")
	out, err := p.tmux(cmd...)
	if err != nil {
		t.Fatalf("start tmux: %v", err)
	}
	p.pane = strings.TrimSpace(out)
	if path, err := p.tmux("display-message", "-p", "#{socket_path}"); err == nil {
		p.socketPath = strings.TrimSpace(path)
	}
	return p
}

// waitReady waits until the agent has logged that it is ready and has drawn
// its screen.
func (p *simPane) waitReady() {
	p.t.Helper()
	waitFor(p.t, 5*time.Second, func() (bool, string) {
		l, _ := ReadLog(p.logPath)
		if l.Count(EventReady) == 0 {
			return false, "no ready event in log"
		}
		p.pid = l.Events[0].PID
		// The status line is drawn after bracketed paste is enabled, so
		// once tmux shows it tmux has seen the mode switch too.
		screen := strings.Join(p.capture(), "\n")
		return strings.HasPrefix(screen, "agentsim ["), "screen not drawn: " + screen
	})
}

// tmux runs one tmux command against the private server.
func (p *simPane) tmux(args ...string) (string, error) {
	cmd := exec.Command("tmux", append([]string{"-L", p.socket}, args...)...)
	cmd.Env = tmuxEnv()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("tmux %q: %w: %s", args, err, out)
	}
	return string(out), nil
}

// mustTmux runs a tmux command and fails the test on error.
func (p *simPane) mustTmux(args ...string) string {
	p.t.Helper()
	out, err := p.tmux(args...)
	if err != nil {
		p.t.Fatal(err)
	}
	return out
}

// tmuxEnv is the environment without the variables of an enclosing tmux.
func tmuxEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TMUX=") && !strings.HasPrefix(kv, "TMUX_PANE=") {
			env = append(env, kv)
		}
	}
	return env
}

// capture returns the visible lines of the pane.
func (p *simPane) capture() []string {
	out, err := p.tmux("capture-pane", "-p", "-t", p.pane)
	if err != nil {
		return nil
	}
	return strings.Split(strings.TrimSuffix(out, "\n"), "\n")
}

// log parses the agent's log, failing the test on error.
func (p *simPane) log() Log {
	p.t.Helper()
	l, err := ReadLog(p.logPath)
	if err != nil {
		p.t.Fatal(err)
	}
	return l
}

// waitScreen waits until the pane shows a line equal to each of want, in
// order and on consecutive lines. Trailing spaces are ignored, as
// capture-pane drops them.
func (p *simPane) waitScreen(want ...string) {
	p.t.Helper()
	waitFor(p.t, 5*time.Second, func() (bool, string) {
		lines := p.capture()
		for i := 0; i+len(want) <= len(lines); i++ {
			match := true
			for j, w := range want {
				if strings.TrimRight(lines[i+j], " ") != strings.TrimRight(w, " ") {
					match = false
					break
				}
			}
			if match {
				return true, ""
			}
		}
		return false, fmt.Sprintf("screen lacks %q:\n%s", want, strings.Join(lines, "\n"))
	})
}

// waitPrompts waits until the log holds exactly want as accepted prompts.
func (p *simPane) waitPrompts(want ...string) {
	p.t.Helper()
	waitFor(p.t, 5*time.Second, func() (bool, string) {
		got := p.log().Texts()
		return fmt.Sprint(got) == fmt.Sprint(want) && len(got) == len(want),
			fmt.Sprintf("accepted %q, want %q", got, want)
	})
}

// waitDead waits until the pane is dead and returns the exit code that the
// agent logged. tmux 3.3a sometimes never reaps a dead pane's process (seen
// with plain sh as well): pane_dead is 1 but pane_dead_status stays empty.
// So the code comes from the log and is only cross-checked against tmux's
// status when tmux has one.
func (p *simPane) waitDead() int {
	p.t.Helper()
	var out string
	waitFor(p.t, 5*time.Second, func() (bool, string) {
		var err error
		out, err = p.tmux("display-message", "-p", "-t", p.pane, "#{pane_dead} #{pane_dead_status}")
		if err != nil {
			return false, err.Error()
		}
		return strings.HasPrefix(out, "1"), "pane alive: " + out
	})
	l := p.log()
	if len(l.Events) == 0 || l.Events[len(l.Events)-1].Kind != EventExit {
		p.t.Fatalf("log does not end with an exit event: %+v", l.Events)
	}
	code := l.Events[len(l.Events)-1].Code
	var dead, status int
	if n, _ := fmt.Sscan(out, &dead, &status); n == 2 && status != code {
		p.t.Fatalf("tmux exit status %d, log says %d", status, code)
	}
	return code
}

// waitFor polls cond every 10 ms until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, why := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v: %s", timeout, why)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
