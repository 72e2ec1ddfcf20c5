package cli_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/internal/agentsim"
	"github.com/tmux-orc/tmux-orc/internal/home"
	"github.com/tmux-orc/tmux-orc/internal/tmuxtest"
	"github.com/tmux-orc/tmux-orc/subjects"
)

// tmuxWorld is a private tmux server with one agentsim pane ("be:0"), and the environment
// for tmux-orc commands that use it.
type tmuxWorld struct {
	dir    home.Dir
	env    []string
	socket string
	log    string
}

func newTmuxWorld(t *testing.T) *tmuxWorld {
	srv := tmuxtest.NewServer(t, "orc-e2e")
	w := &tmuxWorld{dir: home.Dir(t.TempDir()), socket: srv.Socket.Name}
	w.log = filepath.Join(t.TempDir(), "agent.log")
	w.env = []string{"TMUX_ORC_HOME=" + string(w.dir), "TMUX_ORC_PORT=0", "XDG_CONFIG_HOME=" + t.TempDir(), "TMUX_ORC_TMUX_SOCKET=" + w.socket}
	srv.Tmux("new-session", "-d", "-s", "be", "-x", "200", "-y", "50", binary()+" agentsim -log "+w.log)
	t.Cleanup(func() { stopDaemon(w.dir) })
	waitUntil(t, func() bool { l, err := agentsim.ReadLog(w.log); return err == nil && l.Count("ready") > 0 })
	return w
}

func (w *tmuxWorld) accepted(t *testing.T) []string {
	l, err := agentsim.ReadLog(w.log)
	if err != nil {
		t.Fatal(err)
	}
	return l.Texts()
}

// countID counts the accepted prompts that carry message id.
func countID(prompts []string, id string) int {
	n := 0
	for _, p := range prompts {
		if strings.Contains(p, "[id "+id) {
			n++
		}
	}
	return n
}

// TestBridgeKilledMidDeliveryTypesNothingTwice kills a standalone bridge process with
// SIGKILL while it delivers a backlog, restarts it, and checks that every message ends with
// an outcome and none was typed twice.
func TestBridgeKilledMidDeliveryTypesNothingTwice(t *testing.T) {
	w := newTmuxWorld(t)
	runBin(t, w.env, "daemon", "start", "--no-bridge")
	c, err := bus.Connect(context.Background(), bus.Options{Home: w.dir})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	startBridge := func() *exec.Cmd {
		cmd := exec.Command(binary(), "bridge", "--enter-delay", "150ms")
		cmd.Env = append(os.Environ(), w.env...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	var ids []string
	for i := 0; i < 12; i++ {
		ids = append(ids, strings.TrimSpace(runBin(t, w.env, "publish", "--session", "be:0", fmt.Sprintf("backlog message %d", i))))
	}
	b1 := startBridge()
	waitUntil(t, func() bool { return len(w.accepted(t)) >= 3 })
	time.Sleep(60 * time.Millisecond) // land inside a delivery (text typed, Enter pending)
	if err := b1.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = b1.Wait()
	b2 := startBridge()
	defer func() { _ = b2.Process.Signal(syscall.SIGTERM); _ = b2.Wait() }()
	outcomes := map[bus.Outcome]int{}
	for _, id := range ids {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		rs, err := c.WaitOutcome(ctx, subjects.Normal, id)
		cancel()
		if err != nil || len(rs) != 1 {
			t.Fatalf("outcome of %s: %v %+v", id, err, rs)
		}
		outcomes[rs[0].Outcome]++
		if n := countID(w.accepted(t), id); n > 1 || (rs[0].Outcome == bus.Delivered && n != 1) {
			t.Fatalf("message %s (%s) accepted %d times", id, rs[0].Outcome, n)
		}
	}
	if outcomes[bus.Delivered] < len(ids)-1 {
		t.Fatalf("outcomes %v: at most the one message in flight at the kill may be unconfirmed", outcomes)
	}
	t.Logf("outcomes after kill -9 and restart: %v; accepted %d prompts", outcomes, len(w.accepted(t)))
}

// TestFallbackTypesDirectlyAndSpoolsOnce stops the daemon, publishes (typed straight into the
// pane and spooled), starts the daemon with its bridge, and checks that the spooled message
// is in the history with its fallback outcome and was not typed a second time.
func TestFallbackTypesDirectlyAndSpoolsOnce(t *testing.T) {
	w := newTmuxWorld(t)
	runBin(t, w.env, "daemon", "start")
	runBin(t, w.env, "daemon", "stop")
	cmd := exec.Command(binary(), "publish", "--session", "be:0", "--priority", "critical", "PM crash detected session:1")
	cmd.Env = append(os.Environ(), w.env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("publish with the daemon down: %v\n%s", err, stderr.String())
	}
	id := strings.TrimSpace(string(out))
	if !strings.Contains(stderr.String(), "the daemon is unreachable; delivered "+id+" to be:0.0") || !strings.Contains(stderr.String(), "spooled") {
		t.Fatalf("fallback not reported: %s", stderr.String())
	}
	if n := countID(w.accepted(t), id); n != 1 {
		t.Fatalf("fallback typed the message %d times", n)
	}
	if files, _ := filepath.Glob(filepath.Join(w.dir.SpoolDir(), "*.json")); len(files) != 1 {
		t.Fatalf("spool holds %d entries, want 1", len(files))
	}
	runBin(t, w.env, "daemon", "start")
	waitUntil(t, func() bool {
		files, _ := filepath.Glob(filepath.Join(w.dir.SpoolDir(), "*.json"))
		return len(files) == 0
	})
	got := runBin(t, w.env, "read", "--id", id)
	if !strings.Contains(got, "PM crash detected session:1") || !strings.Contains(got, "typed directly: the daemon was unreachable") {
		t.Fatalf("read --id after import:\n%s", got)
	}
	// A second message proves the bridge is running; the first must still be typed once.
	second := strings.TrimSpace(runBin(t, w.env, "agent", "send", "be:0", "after the import"))
	if !strings.HasPrefix(second, "delivered ") {
		t.Fatalf("agent send: %s", second)
	}
	if n := countID(w.accepted(t), id); n != 1 {
		t.Fatalf("the spooled message was typed %d times in all", n)
	}
}
