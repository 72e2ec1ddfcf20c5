package clustertest_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/internal/clustertest"
)

// TestRollingRestartUnderLoad restarts the three nodes one at a time with
// deploy/rolling-restart.sh (a stop is a lame-duck shutdown; the script waits for each
// node's /healthz and then every node's before the next) while a client publishes at a
// steady rate and another consumes: no publish fails, every message is stored once and
// delivered once.
func TestRollingRestartUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("three daemons restarted in turn")
	}
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("the health check uses curl")
	}
	c := clustertest.New(t, clustertest.Options{})
	c.Start()
	// The script addresses nodes by name: give each a directory named after it.
	nodes := t.TempDir()
	for _, n := range c.Nodes {
		if err := os.Symlink(filepath.Dir(n.Config), filepath.Join(nodes, n.Name)); err != nil {
			t.Fatal(err)
		}
		url := fmt.Sprintf("http://127.0.0.1:%d/healthz", n.MetricsPort)
		if err := os.WriteFile(filepath.Join(nodes, n.Name+".healthz"), []byte(url), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	env := func(host string) string {
		return fmt.Sprintf("env TMUX_ORC_HOME=%s/%s/home XDG_CONFIG_HOME=%s/%s/home/xdg TMUX_ORC_TMUX_SOCKET=orc-clustertest-none TMUX_ORC_URL=",
			nodes, host, nodes, host)
	}
	restart := fmt.Sprintf("%s %s daemon stop && %s %s daemon start --no-bridge --no-monitor --config %s/{host}/cluster.yaml",
		env("{host}"), clustertest.Bin, env("{host}"), clustertest.Bin, nodes)
	health := fmt.Sprintf("curl -fsS $(cat %s/{host}.healthz)", nodes)

	pub := c.Connect(bus.Options{Name: "publisher"})
	sub := c.Connect(bus.Options{Name: "consumer"})
	counts, stop := consumeOnce(t, sub, "team")
	defer stop()
	started := make(chan struct{})
	done := make(chan *clustertest.LoadResult)
	// 200 messages a second for as long as the roll takes (20 s; the roll takes about 12 s here).
	go func() { done <- publishLoad(context.Background(), pub, "team", 4000, 200, started) }()
	<-started

	script := exec.Command("bash", "../../deploy/rolling-restart.sh", "n1", "n2", "n3")
	script.Env = append(os.Environ(), "RESTART_CMD="+restart, "HEALTH_CMD="+health, "TIMEOUT=90", "INTERVAL=0.5")
	t0 := time.Now()
	out, err := script.CombinedOutput()
	if err != nil {
		t.Fatalf("rolling restart: %v\n%s", err, out)
	}
	t.Logf("rolled three nodes in %v:\n%s", time.Since(t0).Round(time.Second), strings.TrimSpace(string(out)))
	res := <-done
	if len(res.Errs) > 0 {
		t.Fatalf("%d publishes failed, first: %v", len(res.Errs), res.Errs[0])
	}
	t.Logf("%d published during the roll, longest publish %v", len(res.Stored), res.Longest)
	checkOnce(t, pub, res.Stored, counts)
}
