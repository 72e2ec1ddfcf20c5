package cli_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/internal/home"
	"github.com/tmux-orc/tmux-orc/internal/tmuxtest"
)

// binDir holds the real tmux-orc binary, built once for all end-to-end tests.
var binDir string

func TestMain(m *testing.M) {
	// No daemon started by these tests may ever attach its bridge to the user's default
	// tmux server: point them at a socket no server listens on unless a test says otherwise.
	os.Setenv("TMUX_ORC_TMUX_SOCKET", fmt.Sprintf("orc-test-none-%d", os.Getpid()))
	// Nor serve metrics on the default port, where the user's own daemon serves them.
	os.Setenv("TMUX_ORC_METRICS_LISTEN", "127.0.0.1:0")
	path, cleanup, err := tmuxtest.Build("github.com/tmux-orc/tmux-orc/cmd/tmux-orc", "tmux-orc")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = filepath.Dir(path)
	code := m.Run()
	cleanup()
	os.Exit(code)
}

func binary() string { return filepath.Join(binDir, "tmux-orc") }

// TestScripts runs testdata/script/*.txtar against the real binary and a real daemon per
// script, each on its own data directory and a free port.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(env *testscript.Env) error {
			h := filepath.Join(env.WorkDir, "orc-home")
			env.Setenv("TMUX_ORC_HOME", h)
			env.Setenv("XDG_CONFIG_HOME", filepath.Join(env.WorkDir, "xdg"))
			env.Setenv("TMUX_ORC_PORT", "0")
			env.Setenv("TMUX_ORC_HOST", "h1")
			env.Setenv("TMUX_ORC_TMUX_SOCKET", os.Getenv("TMUX_ORC_TMUX_SOCKET"))
			env.Setenv("TMUX_ORC_METRICS_LISTEN", os.Getenv("TMUX_ORC_METRICS_LISTEN"))
			env.Setenv("PATH", binDir+string(os.PathListSeparator)+os.Getenv("PATH"))
			env.Defer(func() { stopDaemon(home.Dir(h)) })
			// Scripts that need tmux start a server on this socket path (never the default).
			sock := filepath.Join(env.WorkDir, "tmux.sock")
			env.Setenv("TMUX_SOCK", sock)
			// A real HTTP receiver on 127.0.0.1 for webhook notifications: every POST body
			// is appended, one line each, to $WORK/hook.log.
			hookLog := filepath.Join(env.WorkDir, "hook.log")
			hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				f, err := os.OpenFile(hookLog, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
				if err == nil {
					fmt.Fprintf(f, "%s %s\n", r.Method, bytes.ReplaceAll(b, []byte("\n"), []byte(" ")))
					f.Close()
				}
			}))
			env.Defer(hook.Close)
			env.Setenv("HOOK_URL", hook.URL)
			env.Defer(func() {
				if _, err := os.Stat(sock); err == nil {
					_ = exec.Command("tmux", "-S", sock, "kill-server").Run()
				}
			})
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exitcode": cmdExitcode,
			"kill9":    cmdKill9,
			"waitfor":  cmdWaitfor,
			"register": cmdRegister,
		},
		Condition: func(cond string) (bool, error) {
			if name, ok := strings.CutPrefix(cond, "bin:"); ok {
				_, err := exec.LookPath(name)
				return err == nil, nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
	})
}

// stopDaemon kills a daemon a script left running, by its own pid.
func stopDaemon(dir home.Dir) {
	if running, pid := dir.Running(); running && pid > 0 {
		_ = syscall.Kill(pid, syscall.SIGTERM)
		for i := 0; i < 200; i++ {
			if still, _ := dir.Running(); !still {
				return
			}
			time.Sleep(25 * time.Millisecond)
		}
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

// exitcode N PROG ARGS...: run PROG and require exit code N; its stdout and stderr become
// the script's stdout and stderr.
func cmdExitcode(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exitcode N prog args...")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exitcode: %v", err)
	}
	var stdout, stderr bytes.Buffer
	prog := args[1]
	if prog == "tmux-orc" {
		prog = binary()
	}
	cmd := exec.Command(prog, args[2:]...)
	cmd.Dir = ts.Getenv("WORK")
	cmd.Env = scriptEnv(ts)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	got := 0
	if ee, ok := err.(*exec.ExitError); ok {
		got = ee.ExitCode()
	} else if err != nil {
		ts.Fatalf("exitcode: %v", err)
	}
	ts.Stdout().Write(stdout.Bytes())
	ts.Stderr().Write(stderr.Bytes())
	if got != want {
		ts.Fatalf("%s exited %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args[1:], " "), got, want, stdout.String(), stderr.String())
	}
}

func scriptEnv(ts *testscript.TestScript) []string {
	var env []string
	for _, k := range []string{"PATH", "HOME", "TMUX_ORC_HOME", "XDG_CONFIG_HOME", "TMUX_ORC_PORT", "TMPDIR", "WORK", "TMUX_ORC_TMUX_SOCKET", "TMUX_ORC_METRICS_LISTEN", "TMUX_ORC_HOST"} {
		env = append(env, k+"="+ts.Getenv(k))
	}
	return env
}

// register HOST SESSION: put a session of HOST in the session registry, as that host's
// bridge would.
func cmdRegister(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: register host session")
	}
	ctx := context.Background()
	c, err := bus.Connect(ctx, bus.Options{Home: home.Dir(ts.Getenv("TMUX_ORC_HOME"))})
	ts.Check(err)
	defer c.Close()
	ts.Check(c.RegisterSession(ctx, bus.SessionEntry{Host: args[0], Session: args[1]}))
}

// kill9: SIGKILL the script's daemon and wait until the kernel has released its lock.
func cmdKill9(ts *testscript.TestScript, neg bool, args []string) {
	dir := home.Dir(ts.Getenv("TMUX_ORC_HOME"))
	running, pid := dir.Running()
	if !running || pid <= 0 {
		ts.Fatalf("kill9: no daemon running")
	}
	ts.Check(syscall.Kill(pid, syscall.SIGKILL))
	for i := 0; i < 400; i++ {
		if still, _ := dir.Running(); !still {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	ts.Fatalf("kill9: daemon %d still holds its lock", pid)
}

// waitfor FILE REGEXP: wait up to 10 s until FILE matches REGEXP.
func cmdWaitfor(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: waitfor file regexp")
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		b, _ := os.ReadFile(ts.MkAbs(args[0]))
		if ok, _ := regexpMatch(args[1], string(b)); ok {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	b, _ := os.ReadFile(ts.MkAbs(args[0]))
	ts.Fatalf("waitfor: %s does not match %q within 10s:\n%s", args[0], args[1], b)
}
