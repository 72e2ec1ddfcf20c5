package cli_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/internal/home"
	"github.com/tmux-orc/tmux-orc/subjects"
)

// runBin runs the binary and returns its stdout (notes and warnings on stderr, such as
// publish's about a target no bridge serves, are only shown when it fails).
func runBin(t *testing.T, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(binary(), args...)
	cmd.Env = append(os.Environ(), env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tmux-orc %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.String())
	}
	return string(out)
}

// TestKill9LosesNothingAcknowledged publishes from several goroutines, kills the daemon with
// SIGKILL in the middle, restarts it, and checks that every publish that returned success
// is stored, once.
func TestKill9LosesNothingAcknowledged(t *testing.T) { stopUnderLoad(t, syscall.SIGKILL) }

// TestStopUnderLoadLosesNothingAcknowledged does the same with the graceful stop (SIGTERM,
// what `daemon stop` sends).
func TestStopUnderLoadLosesNothingAcknowledged(t *testing.T) { stopUnderLoad(t, syscall.SIGTERM) }

func stopUnderLoad(t *testing.T, sig syscall.Signal) {
	dir := home.Dir(t.TempDir())
	env := []string{"TMUX_ORC_HOME=" + string(dir), "TMUX_ORC_PORT=0", "XDG_CONFIG_HOME=" + t.TempDir()}
	runBin(t, env, "daemon", "start")
	t.Cleanup(func() { stopDaemon(dir) })
	c, err := bus.Connect(context.Background(), bus.Options{Home: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	var mu sync.Mutex
	var stored []string
	failed := 0
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				now := time.Now()
				target, _ := subjects.ParseTarget(fmt.Sprintf("agent-%d:1", w))
				e := &subjects.Envelope{ID: subjects.NewID(now), Timestamp: now,
					Source: subjects.Source{Type: "test", Identifier: "kill9"}, Target: target,
					Message: subjects.Message{Type: "notification", Category: "test", Priority: subjects.Priorities[i%4],
						Content: subjects.Content{Subject: "m", Body: fmt.Sprintf("worker %d message %d", w, i)}}}
				ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
				_, err := c.Publish(ctx, e)
				cancel()
				mu.Lock()
				if err == nil {
					stored = append(stored, e.ID)
				} else {
					failed++
				}
				mu.Unlock()
			}
		}(w)
	}
	waitUntil(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(stored) >= 400 })
	running, pid := dir.Running()
	if !running {
		t.Fatal("daemon not running")
	}
	if err := syscall.Kill(pid, sig); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, func() bool { r, _ := dir.Running(); return !r })
	time.Sleep(200 * time.Millisecond) // let publishers see the daemon gone
	close(stop)
	wg.Wait()
	c.Close()

	// After kill -9 the stale pid file and the lock the dead daemon held do not block a
	// new start; after a graceful stop there is no pid file.
	if _, err := os.Stat(dir.PIDFile()); (err == nil) != (sig == syscall.SIGKILL) {
		t.Fatalf("pid file after %v: %v", sig, err)
	}
	out := runBin(t, env, "daemon", "start")
	if !strings.Contains(out, "started") {
		t.Fatalf("restart after %v: %s", sig, out)
	}
	c2, err := bus.Connect(context.Background(), bus.Options{Home: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	recs, err := c2.Query(context.Background(), bus.Query{})
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]int{}
	for _, r := range recs {
		have[r.ID]++
	}
	for _, id := range stored {
		if have[id] != 1 {
			t.Fatalf("message %s was acknowledged as stored but is present %d times after %v", id, have[id], sig)
		}
	}
	t.Logf("%d publishes acknowledged before %v, all present after restart (%d failed while the daemon was down; %d stored in all)",
		len(stored), sig, failed, len(recs))
}

// TestGracefulRestartKeepsHistory stops and starts the daemon and reads everything back.
func TestGracefulRestartKeepsHistory(t *testing.T) {
	dir := home.Dir(t.TempDir())
	env := []string{"TMUX_ORC_HOME=" + string(dir), "TMUX_ORC_PORT=0", "XDG_CONFIG_HOME=" + t.TempDir()}
	runBin(t, env, "daemon", "start")
	t.Cleanup(func() { stopDaemon(dir) })
	var ids []string
	for i := 0; i < 20; i++ {
		ids = append(ids, strings.TrimSpace(runBin(t, env, "publish", "--session", "pm:1", "--priority", subjects.Priorities[i%4].String(), fmt.Sprintf("message %d", i))))
	}
	runBin(t, env, "ack", ids[0], "done")
	runBin(t, env, "daemon", "stop")
	if _, err := os.Stat(filepath.Join(string(dir), "daemon.pid")); !os.IsNotExist(err) {
		t.Fatalf("pid file left after a clean stop: %v", err)
	}
	runBin(t, env, "daemon", "start")
	out := runBin(t, env, "read", "--session", "pm:1")
	for i := 0; i < 20; i++ {
		if !strings.Contains(out, fmt.Sprintf("message %d ", i)) {
			t.Fatalf("message %d missing after restart:\n%s", i, out)
		}
	}
	if !strings.Contains(out, "acked by") {
		t.Fatalf("ack lost across restart:\n%s", out)
	}
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 20s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
