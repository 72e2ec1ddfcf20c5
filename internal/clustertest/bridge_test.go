package clustertest_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/internal/agentsim"
	"github.com/tmux-orc/tmux-orc/internal/clustertest"
	"github.com/tmux-orc/tmux-orc/internal/home"
	"github.com/tmux-orc/tmux-orc/internal/tmuxtest"
	"github.com/tmux-orc/tmux-orc/subjects"
)

// TestBridgeWithItsRoleFailsOver: on the cluster cluster init writes, a standalone bridge
// for host n1 runs with n1's bridge credentials and every node's URL, serving a private
// tmux server with an agent in session "team". An agent on another node sends to "team:0"
// without naming a host (the registry resolves it to n1) and `agent send` reports it
// delivered. Then the node leading the stream is killed with SIGKILL and a second message
// is delivered too: the bridge resumes from its durable consumer on another node.
func TestBridgeWithItsRoleFailsOver(t *testing.T) {
	if testing.Short() {
		t.Skip("three daemons, a bridge and a tmux server")
	}
	s := clustertest.NewSecure(t)
	s.Start()
	srv := tmuxtest.NewServer(t, "orc-cluster")
	log := filepath.Join(t.TempDir(), "agent.log")
	srv.Tmux("new-session", "-d", "-s", "team", "-x", "200", "-y", "50", clustertest.Bin+" agentsim --log "+log)
	tmuxtest.WaitFor(t, "the agent to start", func() bool { _, err := os.Stat(log); return err == nil })

	tlsFlags := func(node string) []string {
		return []string{"--tls-ca", s.File(node, "ca.pem"), "--tls-cert", s.File(node, "client.pem"), "--tls-key", s.File(node, "client-key.pem")}
	}
	bridgeArgs := append([]string{"bridge", "--url", strings.Join(s.URLs(), ","), "--creds", s.File("n1", "bridge-n1.nk"),
		"--host", "n1", "--tmux-socket", srv.Socket.Name, "--enter-delay", "50ms"}, tlsFlags("n1")...)
	bridge := exec.Command(clustertest.Bin, bridgeArgs...)
	bridge.Env = append(os.Environ(), "TMUX_ORC_HOME="+t.TempDir(), "TMUX_ORC_METRICS_LISTEN=off")
	var bridgeOut strings.Builder
	bridge.Stdout, bridge.Stderr = &bridgeOut, &bridgeOut
	if err := bridge.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = bridge.Process.Signal(syscall.SIGTERM)
		_ = bridge.Wait()
		if t.Failed() {
			t.Logf("bridge output:\n%s", bridgeOut.String())
		}
	})

	// The sender is an agent on node n3, with n3's files and every URL.
	send := func(text string) {
		t.Helper()
		args := append([]string{"agent", "send", "--verbose", "team:0", text, "--url", strings.Join(s.URLs(2, 0, 1), ","),
			"--creds", s.File("n3", "agents.nk"), "--timeout", "60s"}, tlsFlags("n3")...)
		cmd := exec.Command(clustertest.Bin, args...)
		cmd.Env = append(os.Environ(), "TMUX_ORC_HOME="+t.TempDir())
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("agent send %q: %v\n%s", text, err, out)
		}
		t.Logf("agent send: %s", strings.TrimSpace(string(out)))
	}
	// The bridge registers the session before a message can be resolved to its host.
	admin := s.Connect(bus.Options{Home: home.Dir(t.TempDir()), Creds: s.AdminCreds,
		TLS: home.ClientTLS{CA: s.File("n1", "ca.pem"), Cert: s.File("n1", "client.pem"), Key: s.File("n1", "client-key.pem")}})
	tmuxtest.WaitFor(t, "the bridge to register session team", func() bool {
		hosts, err := admin.SessionHosts(t.Context(), "team")
		return err == nil && len(hosts) == 1 && hosts[0].Host == "n1"
	})
	send("first message")
	victim := leaderOf(t, s.Cluster, admin, subjects.Normal.Stream())
	s.Kill(victim)
	t0 := time.Now()
	send("second message")
	t.Logf("killed %s; the next message was delivered %v later", s.Nodes[victim].Name, time.Since(t0).Round(time.Millisecond))
	// The bridge also runs the monitor of its tmux server, which answers for host n1 through
	// the cluster (an agent on another node asks it, naming the host).
	alive := (victim + 1) % 3
	args := append([]string{"monitor", "status", "--url", s.Nodes[alive].URL(), "--creds", s.File("n3", "agents.nk")}, tlsFlags("n3")...)
	cmd := exec.Command(clustertest.Bin, args...)
	cmd.Env = append(os.Environ(), "TMUX_ORC_HOME="+t.TempDir(), "TMUX_ORC_HOST=n1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "team") {
		t.Fatalf("monitor status of n1 through %s: %v\n%s", s.Nodes[alive].Name, err, out)
	}
	l, err := agentsim.ReadLog(log)
	if err != nil {
		t.Fatal(err)
	}
	texts := strings.Join(l.Texts(), "\n")
	for _, want := range []string{"first message", "second message"} {
		if strings.Count(texts, want) != 1 {
			t.Fatalf("%q typed %d times; the agent accepted:\n%s", want, strings.Count(texts, want), texts)
		}
	}
}
