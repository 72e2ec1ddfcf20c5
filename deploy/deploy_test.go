package deploy_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// fakeHealth is the health check of a pretend node, driven by files in $S:
// HOST.down holds how many more checks fail (each check counts down), HOST.never makes
// every check fail. Every call is logged to $S/log.
const fakeHealth = `#!/bin/sh
h=$1
echo "health $h" >> "$S/log"
if [ -f "$S/$h.never" ]; then echo "503 jetstream not current" ; exit 1; fi
if [ -f "$S/$h.down" ]; then
	n=$(cat "$S/$h.down")
	if [ "$n" -gt 0 ]; then echo $((n-1)) > "$S/$h.down"; echo "503 starting"; exit 1; fi
fi
echo ok
`

// fakeRestart logs the restart, makes the node fail its next two health checks, then
// applies HOST.effect if present (a shell snippet, e.g. making another node lag behind).
const fakeRestart = `echo "restart {host}" >> "$S/log"; echo 2 > "$S/{host}.down"; if [ -f "$S/{host}.effect" ]; then . "$S/{host}.effect"; fi`

type run struct {
	code           int
	stdout, stderr string
	log            []string
}

func runScript(t *testing.T, state string, env []string, args ...string) run {
	t.Helper()
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	cmd := exec.Command("./rolling-restart.sh", args...)
	cmd.Env = append(os.Environ(), "S="+state, "RESTART_CMD="+fakeRestart, "HEALTH_CMD="+filepath.Join(state, "health")+" {host}",
		"INTERVAL=0.01", "TIMEOUT=10")
	cmd.Env = append(cmd.Env, env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	r := run{stdout: out.String(), stderr: errOut.String()}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(state, "log"))
	r.log = strings.Fields(strings.ReplaceAll(string(b), " ", "_"))
	return r
}

func newState(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "health"), []byte(fakeHealth), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func checkLog(t *testing.T, r run, want ...string) {
	t.Helper()
	if strings.Join(r.log, " ") != strings.Join(want, " ") {
		t.Errorf("calls:\n  %s\nwant:\n  %s\nstdout:\n%s\nstderr:\n%s", strings.Join(r.log, " "), strings.Join(want, " "), r.stdout, r.stderr)
	}
}

func TestRollingRestartOrderAndWait(t *testing.T) {
	// Restarting h1 makes h2 lag for one check: the script must wait for the cluster, not
	// only for h1, before it restarts h2.
	state := newState(t, map[string]string{"h1.effect": `echo 1 > "$S/h2.down"`})
	r := runScript(t, state, nil, "h1", "h2", "h3")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	checkLog(t, r,
		"health_h1", "health_h2", "health_h3", // the cluster is healthy before anything restarts
		"restart_h1",
		"health_h1", "health_h1", "health_h1", // down for two checks, then up
		"health_h1", "health_h2", // the cluster: h2 lags once
		"health_h1", "health_h2", "health_h3",
		"restart_h2",
		"health_h2", "health_h2", "health_h2",
		"health_h1", "health_h2", "health_h3",
		"restart_h3",
		"health_h3", "health_h3", "health_h3",
		"health_h1", "health_h2", "health_h3",
	)
	if !strings.Contains(r.stdout, "done, restarted 3 node(s)") {
		t.Errorf("stdout:\n%s", r.stdout)
	}
}

func TestRollingRestartAbortsOnUnhealthyNode(t *testing.T) {
	state := newState(t, map[string]string{"h2.effect": `touch "$S/h2.never"`})
	r := runScript(t, state, []string{"TIMEOUT=1", "INTERVAL=0.2"}, "h1", "h2", "h3")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\n%s%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, "ABORT: h2 not healthy within 1s (last: h2: 503 jetstream not current)") {
		t.Errorf("stderr:\n%s", r.stderr)
	}
	for _, call := range r.log {
		if call == "restart_h3" {
			t.Errorf("h3 was restarted after h2 failed: %v", r.log)
		}
	}
	if n := strings.Count(strings.Join(r.log, " "), "health_h2"); n < 3 {
		t.Errorf("h2 was checked %d times; the script did not wait", n)
	}
}

func TestRollingRestartNeedsAHealthyClusterFirst(t *testing.T) {
	state := newState(t, map[string]string{"h3.never": ""})
	r := runScript(t, state, []string{"TIMEOUT=0"}, "h1", "h2", "h3")
	if r.code != 1 || !strings.Contains(r.stderr, "ABORT: the cluster not healthy") {
		t.Fatalf("exit %d, want 1\n%s%s", r.code, r.stdout, r.stderr)
	}
	checkLog(t, r, "health_h1", "health_h2", "health_h3")
}

func TestRollingRestartFailedRestart(t *testing.T) {
	state := newState(t, nil)
	r := runScript(t, state, []string{"RESTART_CMD=echo restart {host} >> $S/log; exit 3"}, "h1", "h2")
	if r.code != 1 || !strings.Contains(r.stderr, "ABORT: restarting h1 failed") {
		t.Fatalf("exit %d, want 1\n%s%s", r.code, r.stdout, r.stderr)
	}
	checkLog(t, r, "health_h1", "health_h2", "restart_h1")
}

func TestRollingRestartUsage(t *testing.T) {
	state := newState(t, nil)
	for _, tc := range []struct {
		args   []string
		env    []string
		code   int
		stdout string
		stderr string
	}{
		{nil, nil, 2, "", "usage: rolling-restart.sh HOST..."},
		{[]string{"-h"}, nil, 0, "usage: rolling-restart.sh HOST...", ""},
		{[]string{"--help"}, nil, 0, "RESTART_CMD", ""},
		{[]string{"h1", "h2;reboot"}, nil, 2, "", `invalid host name "h2;reboot"`},
		{[]string{"h1"}, []string{"TIMEOUT=soon"}, 2, "", "TIMEOUT must be a whole number"},
	} {
		r := runScript(t, state, tc.env, tc.args...)
		if r.code != tc.code || !strings.Contains(r.stdout, tc.stdout) || !strings.Contains(r.stderr, tc.stderr) {
			t.Errorf("%q: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", tc.args, r.code, tc.code, r.stdout, r.stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(state, "log")); err == nil {
		t.Error("a usage error ran a command")
	}
}

func TestShellcheck(t *testing.T) {
	if _, err := exec.LookPath("shellcheck"); err != nil {
		t.Skip("no shellcheck")
	}
	if out, err := exec.Command("shellcheck", "rolling-restart.sh").CombinedOutput(); err != nil {
		t.Fatalf("shellcheck: %v\n%s", err, out)
	}
}

// TestDockerBuildUsage: deploy/docker/build.sh prints its usage for --help and refuses more
// than one image name (internal/composetest runs it for real).
func TestDockerBuildUsage(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	out, err := exec.Command("bash", "docker/build.sh", "--help").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "usage: deploy/docker/build.sh [IMAGE]") {
		t.Errorf("--help: %v\n%s", err, out)
	}
	cmd := exec.Command("bash", "docker/build.sh", "one:tag", "two:tag")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(stderr.String(), "usage:") || stdout.Len() != 0 {
		t.Errorf("two image names: %v, stdout %q, stderr %q; want exit 2 and the usage on stderr", err, stdout.String(), stderr.String())
	}
}
