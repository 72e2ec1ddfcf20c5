// Package claudetest runs the real Claude Code TUI in private tmux servers for tests: it installs
// the pinned version from npm into a cache, prepares a HOME that skips the first-start dialogs,
// points it at the local API stand-in (internal/fakeapi), records its hooks, and reads its
// screen. Tests of the bridge, the monitor and the CLI import it.
//
// Where npm is unreachable the tests that need the binary skip with a clear message; with CI set
// in the environment they fail instead.
//
// A test of delivery into a real permission dialog looks like this:
//
//	hooks := claudetest.NewHookRecorder(t)
//	c := claudetest.Start(t, claudetest.Options{Hooks: hooks.Hooks("UserPromptSubmit", "Stop")})
//	c.API.Queue(fakeapi.Bash("touch "+marker, "make the marker"))
//	c.Submit("run the tool")                // a person's prompt; the model asks for Bash
//	c.WaitText("Do you want to proceed?")   // the real dialog is open
//	// ... deliver a message to c.Pane (on c.Server.Socket) and check that marker was not
//	// created, that c.API.Prompts() lacks it, and what the hooks saw ...
//	c.Keys("Escape")                        // a person refuses
//	c.WaitPrompt()                          // the empty ❯ box is back
//
// testdata/captures holds real screens and testdata/hooks real hook payloads, with NOTES.md on
// what they show.
package claudetest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Version is the exact Claude Code version the tests run (install.sh pins the same).
const Version = "2.1.328"

// EnvBinary names the environment variable that, when set, gives the claude binary to use
// instead of the cached install.
const EnvBinary = "TMUX_ORC_CLAUDE_BIN"

// installTimeout bounds the npm install (about 7 s when the registry answers).
const installTimeout = 3 * time.Minute

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// Binary returns the path of the real claude binary: $TMUX_ORC_CLAUDE_BIN, else the cached
// install of Version, installing it with npm (install.sh) when missing. When it cannot, the
// test is skipped, or fails if the environment variable CI is set.
func Binary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() { binPath, binErr = findOrInstall() })
	if binErr != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("real Claude Code %s is required in CI: %v", Version, binErr)
		}
		t.Skipf("skipping: real Claude Code %s unavailable (is the npm registry reachable?): %v", Version, binErr)
	}
	return binPath
}

func findOrInstall() (string, error) {
	if p := os.Getenv(EnvBinary); p != "" {
		// Any version may be tried this way; it only has to run.
		if out, err := exec.Command(p, "--version").Output(); err != nil {
			return "", fmt.Errorf("%s=%s: --version: %w (%s)", EnvBinary, p, err, out)
		}
		return p, nil
	}
	_, src, _, ok := runtime.Caller(0)
	if !ok {
		return "", fmt.Errorf("locating install.sh: no caller information")
	}
	script := filepath.Join(filepath.Dir(src), "install.sh")
	unlock, err := lockInstall()
	if err != nil {
		return "", err
	}
	defer unlock()
	ctx, cancel := context.WithTimeout(context.Background(), installTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", script)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("running %s: %v: %s", script, err, strings.TrimSpace(stderr.String()))
	}
	p := strings.TrimSpace(string(out))
	if err := checkVersion(p); err != nil {
		return "", fmt.Errorf("%s installed %s: %w", script, p, err)
	}
	return p, nil
}

// lockInstall serializes installs between test binaries running in parallel.
func lockInstall() (func(), error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	dir = filepath.Join(dir, "tmux-orc")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating the cache directory: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, "claude-code.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening the install lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("locking the install: %w", err)
	}
	return func() { f.Close() }, nil
}

func checkVersion(bin string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "--version").Output()
	if err != nil {
		return fmt.Errorf("%s --version: %w", bin, err)
	}
	if !strings.HasPrefix(string(out), Version+" ") {
		return fmt.Errorf("%s is version %q, want %s", bin, strings.TrimSpace(string(out)), Version)
	}
	return nil
}
