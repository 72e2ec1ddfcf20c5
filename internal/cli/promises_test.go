package cli_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tmux-orc/tmux-orc/internal/home"
)

// TestConcurrentStartsAllSucceed starts the daemon from four commands at once on one data
// directory: every one exits 0 and names the one daemon's URL (the README's promise).
func TestConcurrentStartsAllSucceed(t *testing.T) {
	dir := home.Dir(t.TempDir())
	env := append(os.Environ(), "TMUX_ORC_HOME="+string(dir), "TMUX_ORC_PORT=0", "XDG_CONFIG_HOME="+t.TempDir(),
		"TMUX_ORC_METRICS_LISTEN=off", "TMUX_ORC_URL=")
	t.Cleanup(func() { stopDaemon(dir) })
	const n = 4
	outs := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(binary(), "daemon", "start", "--no-bridge", "--no-monitor")
			cmd.Env = env
			out, err := cmd.CombinedOutput()
			outs[i], errs[i] = string(out), err
		}()
	}
	wg.Wait()
	url := regexp.MustCompile(`\(pid (\d+)\), listening on (nats://127\.0\.0\.1:\d+)`)
	var pids, urls []string
	for i := range n {
		if errs[i] != nil {
			t.Errorf("start %d: %v\n%s", i, errs[i], outs[i])
			continue
		}
		m := url.FindStringSubmatch(outs[i])
		if m == nil {
			t.Errorf("start %d names no pid and URL: %q", i, outs[i])
			continue
		}
		pids, urls = append(pids, m[1]), append(urls, m[2])
	}
	for i := range pids {
		if pids[i] != pids[0] || urls[i] != urls[0] {
			t.Errorf("starts report different daemons: %v %v", pids, urls)
			break
		}
	}
}

// TestStatusOfAStoppedDaemon stops the daemon with SIGSTOP: `daemon status` says it does
// not respond, with exit code 5, and running again after SIGCONT.
func TestStatusOfAStoppedDaemon(t *testing.T) {
	dir := home.Dir(t.TempDir())
	env := []string{"TMUX_ORC_HOME=" + string(dir), "TMUX_ORC_PORT=0", "XDG_CONFIG_HOME=" + t.TempDir(), "TMUX_ORC_METRICS_LISTEN=off", "TMUX_ORC_URL="}
	runBin(t, env, "daemon", "start", "--no-bridge", "--no-monitor")
	t.Cleanup(func() { stopDaemon(dir) })
	pid, err := dir.PID()
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	defer syscall.Kill(pid, syscall.SIGCONT) //nolint:errcheck
	// kill returns before the process has stopped: on a loaded machine it could still answer.
	waitStopped(t, pid)
	cmd := exec.Command(binary(), "daemon", "status")
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 5 || !strings.Contains(string(out), "not responding") {
		t.Fatalf("status of a stopped daemon: %v\n%s", err, out)
	}
	if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	if out := runBin(t, env, "daemon", "status"); !strings.Contains(out, "daemon running") {
		t.Fatalf("status after SIGCONT: %s", out)
	}
}

// waitStopped waits until every thread of process pid is in the stopped state (T in
// /proc/<pid>/task/*/stat).
func waitStopped(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/stat", pid))
		stopped := len(tasks) > 0
		for _, f := range tasks {
			b, err := os.ReadFile(f)
			if err != nil {
				continue
			}
			// The state follows the command name in parentheses.
			if i := strings.LastIndexByte(string(b), ')'); i < 0 || i+2 >= len(b) || b[i+2] != 'T' {
				stopped = false
			}
		}
		if stopped {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("process %d did not stop within 10s", pid)
}
