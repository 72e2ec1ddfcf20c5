// Package clustertest runs clusters of real tmux-orc daemon processes on loopback for
// tests: each node its own data directory, client, route and metrics ports, optionally
// with its routes through TCP proxies that a test can cut to partition the cluster.
package clustertest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nkeys"

	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/internal/home"
	"github.com/tmux-orc/tmux-orc/internal/tmuxtest"
	"github.com/tmux-orc/tmux-orc/subjects"
)

// Bin is the tmux-orc binary the nodes run; Main builds it.
var Bin string

// Main builds the binary, runs the tests and removes it.
func Main(m *testing.M) {
	path, cleanup, err := tmuxtest.Build("github.com/tmux-orc/tmux-orc/cmd/tmux-orc", "tmux-orc")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	Bin = path
	code := m.Run()
	cleanup()
	os.Exit(code)
}

// Node is one daemon process of the cluster.
type Node struct {
	Name        string
	Home        home.Dir
	Config      string
	ClientPort  int
	RoutePort   int
	MetricsPort int
}

// URL is the node's client URL.
func (n *Node) URL() string { return fmt.Sprintf("nats://127.0.0.1:%d", n.ClientPort) }

// Options shape a test cluster.
type Options struct {
	// Nodes is the number of nodes (default 3).
	Nodes int
	// Proxied sends every route through a Proxy per ordered pair of nodes, so that
	// Partition can cut them.
	Proxied bool
	// Standalone writes no cluster block: a plain single daemon, as on one host (Nodes
	// must be 1). A one-node "cluster" (a route to itself) never becomes ready.
	Standalone bool
	// Extra is appended to every node's configuration file (YAML). %[1]s is the node's
	// index (0-based) for per-node values.
	Extra func(i int) string
}

// Cluster is a set of nodes.
type Cluster struct {
	t       testing.TB
	Nodes   []*Node
	proxies map[[2]int]*Proxy
	// AdminCreds and AgentCreds are NKey seed files of users with those roles on every node.
	AdminCreds, AgentCreds string
}

// userSeed writes a new NKey user seed to path and returns its public key.
func userSeed(t testing.TB, path string) string {
	t.Helper()
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	seed, _ := kp.Seed()
	if err := os.WriteFile(path, seed, 0o600); err != nil {
		t.Fatal(err)
	}
	pub, _ := kp.PublicKey()
	return pub
}

// FreePorts returns n distinct free loopback ports.
func FreePorts(t testing.TB, n int) []int {
	t.Helper()
	var ls []net.Listener
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}

// New writes the configuration of a cluster and stops every node when the test ends.
// It starts nothing.
func New(t testing.TB, o Options) *Cluster {
	t.Helper()
	if o.Nodes == 0 {
		o.Nodes = 3
	}
	if o.Standalone && (o.Nodes != 1 || o.Proxied) {
		t.Fatal("clustertest: Standalone is one node without routes")
	}
	ports := FreePorts(t, 3*o.Nodes)
	c := &Cluster{t: t, proxies: map[[2]int]*Proxy{}}
	keys := t.TempDir()
	c.AdminCreds, c.AgentCreds = filepath.Join(keys, "admin.nk"), filepath.Join(keys, "agent.nk")
	users := fmt.Sprintf("users:\n  - {name: admin, role: admin, nkey: %s}\n  - {name: agents, role: agent, nkey: %s}\n",
		userSeed(t, c.AdminCreds), userSeed(t, c.AgentCreds))
	for i := range o.Nodes {
		dir := t.TempDir()
		c.Nodes = append(c.Nodes, &Node{Name: fmt.Sprintf("n%d", i+1), Home: home.Dir(filepath.Join(dir, "home")),
			Config: filepath.Join(dir, "cluster.yaml"), ClientPort: ports[3*i], RoutePort: ports[3*i+1], MetricsPort: ports[3*i+2]})
	}
	for i, n := range c.Nodes {
		var routes []string
		for j, m := range c.Nodes {
			switch {
			case o.Proxied && i != j:
				p := NewProxy(t, fmt.Sprintf("127.0.0.1:%d", m.RoutePort))
				c.proxies[[2]int{i, j}] = p
				routes = append(routes, "nats://"+p.Addr())
			default:
				// Itself (a node ignores a route to itself), or every node without proxies.
				routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", m.RoutePort))
			}
		}
		var b strings.Builder
		fmt.Fprintf(&b, "server_name: %s\nhost_name: %s\nlisten: 127.0.0.1:%d\nmetrics_listen: 127.0.0.1:%d\nnats_context: \"\"\n",
			n.Name, n.Name, n.ClientPort, n.MetricsPort)
		if !o.Standalone {
			fmt.Fprintf(&b, "cluster:\n  name: orc-test\n  listen: 127.0.0.1:%d\n  replicas: %d\n  routes:\n", n.RoutePort, min(3, len(c.Nodes)))
			for _, r := range routes {
				fmt.Fprintf(&b, "    - %s\n", r)
			}
		}
		if !o.Standalone {
			// Without TLS, routes authenticate with a secret all nodes share.
			fmt.Fprintf(&b, "  secret_file: %s\n", filepath.Join(keys, "route.secret"))
		}
		if o.Proxied {
			// Nodes that learn of each other must not connect around the proxies.
			b.WriteString("  advertise: 127.0.0.1:1\n")
		}
		b.WriteString(users)
		if o.Extra != nil {
			b.WriteString(o.Extra(i))
		}
		if err := os.WriteFile(n.Config, []byte(b.String()), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for i := range c.Nodes {
			c.Kill(i)
		}
	})
	return c
}

func (c *Cluster) env(n *Node) []string {
	return append(os.Environ(), "TMUX_ORC_HOME="+string(n.Home), "XDG_CONFIG_HOME="+filepath.Join(string(n.Home), "xdg"),
		"TMUX_ORC_TMUX_SOCKET=orc-clustertest-none", "TMUX_ORC_URL=", "TMUX_ORC_PORT=", "TMUX_ORC_LISTEN=", "TMUX_ORC_METRICS_LISTEN=")
}

// Run runs the binary as node i's user and returns its combined output and error.
func (c *Cluster) Run(i int, args ...string) (string, error) {
	cmd := exec.Command(Bin, args...)
	cmd.Env = c.env(c.Nodes[i])
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// Start starts the given nodes (all when none are given) at once, with `daemon start`,
// and returns when every one is ready.
func (c *Cluster) Start(idx ...int) {
	c.t.Helper()
	if len(idx) == 0 {
		for i := range c.Nodes {
			idx = append(idx, i)
		}
	}
	errs := make([]error, len(c.Nodes))
	var wg sync.WaitGroup
	for _, i := range idx {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := c.Run(i, "daemon", "start", "--no-bridge", "--no-monitor", "--config", c.Nodes[i].Config)
			if err != nil {
				errs[i] = fmt.Errorf("starting %s: %v\n%s", c.Nodes[i].Name, err, out)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			c.t.Fatal(err)
		}
	}
}

// PID is the pid of node i's daemon, 0 when it does not run.
func (c *Cluster) PID(i int) int {
	if running, pid := c.Nodes[i].Home.Running(); running {
		return pid
	}
	return 0
}

// Kill sends SIGKILL to node i (if it runs) and waits until it is gone.
func (c *Cluster) Kill(i int) { c.signal(i, syscall.SIGKILL) }

// Stop stops node i the way `daemon stop` and systemd do (SIGTERM: a lame-duck shutdown)
// and waits until it is gone.
func (c *Cluster) Stop(i int) { c.signal(i, syscall.SIGTERM) }

func (c *Cluster) signal(i int, sig syscall.Signal) {
	pid := c.PID(i)
	if pid == 0 {
		return
	}
	_ = syscall.Kill(pid, sig)
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if syscall.Kill(pid, 0) != nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.t.Errorf("node %s (pid %d) did not exit after %v", c.Nodes[i].Name, pid, sig)
}

// URLs are the client URLs of the given nodes (all when none are given).
func (c *Cluster) URLs(idx ...int) []string {
	if len(idx) == 0 {
		for i := range c.Nodes {
			idx = append(idx, i)
		}
	}
	var out []string
	for _, i := range idx {
		out = append(out, c.Nodes[i].URL())
	}
	return out
}

// Connect opens a bus client on the given nodes (all when none are given), as the
// admin user unless o says otherwise.
func (c *Cluster) Connect(o bus.Options, idx ...int) *bus.Client {
	c.t.Helper()
	if o.Home == "" {
		o.Home = home.Dir(c.t.TempDir())
	}
	if o.Creds == "" {
		o.Creds = c.AdminCreds
	}
	if len(o.URLs) == 0 {
		o.URLs = c.URLs(idx...)
	}
	cl, err := bus.Connect(context.Background(), o)
	if err != nil {
		c.t.Fatalf("connecting to %v: %v", o.URLs, err)
	}
	c.t.Cleanup(cl.Close)
	return cl
}

// Partition cuts every route between node i and the others (both directions), or heals
// them when cut is false.
func (c *Cluster) Partition(i int, cut bool) {
	for k, p := range c.proxies {
		if k[0] == i || k[1] == i {
			p.SetCut(cut)
		}
	}
}

// consecutiveFree returns a port p such that p, p+1 and p+2 are free on loopback.
func consecutiveFree(t testing.TB) int {
	t.Helper()
	for range 200 {
		base := FreePorts(t, 1)[0]
		if base > 65000 {
			continue
		}
		ok := true
		var ls []net.Listener
		for i := range 3 {
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", base+i))
			if err != nil {
				ok = false
				break
			}
			ls = append(ls, l)
		}
		for _, l := range ls {
			l.Close()
		}
		if ok {
			return base
		}
	}
	t.Fatal("no three consecutive free ports")
	return 0
}

// Secure describes a cluster made by `tmux-orc cluster init --loopback`: TLS with client
// certificates, and NKey users with roles.
type Secure struct {
	*Cluster
	// Dir is cluster init's output directory.
	Dir string
}

// NewSecure runs `tmux-orc cluster init --loopback` for n1, n2 and n3 and stops every node
// when the test ends. It starts nothing.
func NewSecure(t testing.TB) *Secure {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "pki")
	client, route, metrics := consecutiveFree(t), consecutiveFree(t), consecutiveFree(t)
	out, err := exec.Command(Bin, "cluster", "init", "--hosts", "n1,n2,n3", "--loopback", "--out", dir,
		"--client-port", fmt.Sprint(client), "--route-port", fmt.Sprint(route), "--metrics-port", fmt.Sprint(metrics)).CombinedOutput()
	if err != nil {
		t.Fatalf("cluster init: %v\n%s", err, out)
	}
	c := &Cluster{t: t, proxies: map[[2]int]*Proxy{},
		AdminCreds: filepath.Join(dir, "n1", "admin.nk"), AgentCreds: filepath.Join(dir, "n1", "agents.nk")}
	for i, name := range []string{"n1", "n2", "n3"} {
		c.Nodes = append(c.Nodes, &Node{Name: name, Home: home.Dir(filepath.Join(dir, name, "home")),
			Config: filepath.Join(dir, name, "cluster.yaml"), ClientPort: client + i, RoutePort: route + i, MetricsPort: metrics + i})
	}
	t.Cleanup(func() {
		for i := range c.Nodes {
			c.Kill(i)
		}
	})
	return &Secure{Cluster: c, Dir: dir}
}

// File is the path of a file cluster init wrote for node (e.g. "client.pem").
func (s *Secure) File(node, name string) string { return filepath.Join(s.Dir, node, name) }

// Status asks node i's daemon for its status (as the admin, with n1's client files when the
// cluster is secure) and returns its view of the cluster.
func (s *Secure) Status(t testing.TB, i int) *subjects.ClusterStatus {
	t.Helper()
	cl := s.Connect(bus.Options{Home: home.Dir(t.TempDir()), Creds: s.AdminCreds,
		TLS: home.ClientTLS{CA: s.File("n1", "ca.pem"), Cert: s.File("n1", "client.pem"), Key: s.File("n1", "client-key.pem")}}, i)
	defer cl.Close()
	st, err := cl.Status(context.Background())
	if err != nil || st.Cluster == nil {
		t.Fatalf("status of %s: %v", s.Nodes[i].Name, err)
	}
	return st.Cluster
}
