package composetest_test

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/internal/home"
	"github.com/tmux-orc/tmux-orc/subjects"
)

// bin is the statically linked tmux-orc (CGO_ENABLED=0): in the image and on the host.
var bin string

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "composetest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "tmux-orc")
	build := exec.Command("go", "build", "-trimpath", "-o", bin, "github.com/tmux-orc/tmux-orc/cmd/tmux-orc")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building tmux-orc: %v\n%s", err, out)
		os.Exit(1)
	}
	stop, err := setupDocker(dir)
	dockerErr = err
	code := m.Run()
	stop()
	os.RemoveAll(dir)
	os.Exit(code)
}

// bridgeHost is the host whose tmux server the host bridge serves (TMUX_ORC_BRIDGE_HOSTS).
const bridgeHost = "ws"

// nodes are the compose services, in order.
var nodes = []string{"n1", "n2", "n3"}

// project is one run of docker-compose.yml under its own project name, image, subnet and
// host ports.
type project struct {
	name, file, image string
	net               string // the first three octets of the subnet
	ports             [3]int
	volumesBefore     []string
	creds             string // the bridge host's files, copied out of the pki volume
	admin             string // the admin's seed, copied out of the pki volume
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func freePorts(t *testing.T) (ports [3]int) {
	t.Helper()
	var ls []net.Listener
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports[i] = l.Addr().(*net.TCPAddr).Port
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}

// env is the environment of every compose command: the settings docker-compose.yml reads.
func (p *project) env() []string {
	return append(os.Environ(), "COMPOSE_PROJECT_NAME="+p.name, "TMUX_ORC_IMAGE="+p.image, "TMUX_ORC_NET="+p.net,
		"TMUX_ORC_BRIDGE_HOSTS="+bridgeHost, "TMUX_ORC_SAN=", "TMUX_ORC_BIND=127.0.0.1",
		fmt.Sprintf("TMUX_ORC_PORT1=%d", p.ports[0]), fmt.Sprintf("TMUX_ORC_PORT2=%d", p.ports[1]), fmt.Sprintf("TMUX_ORC_PORT3=%d", p.ports[2]))
}

// cmdline is the compose command line for this project, for shell commands.
func (p *project) cmdline() string {
	return fmt.Sprintf("%s -p %s -f %s", strings.Join(compose, " "), p.name, p.file)
}

// compose runs one compose command, bounded to 3 minutes.
func (p *project) compose(args ...string) (string, error) {
	full := append(append(append([]string{}, compose[1:]...), "-p", p.name, "-f", p.file), args...)
	return run(3*time.Minute, p.env(), compose[0], full...)
}

func (p *project) mustCompose(t *testing.T, args ...string) string {
	t.Helper()
	out, err := p.compose(args...)
	if err != nil {
		t.Fatalf("compose %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// container is the id of node's container.
func (p *project) container(t *testing.T, node string) string {
	t.Helper()
	id := strings.TrimSpace(p.mustCompose(t, "ps", "-q", node))
	if id == "" {
		t.Fatalf("no container for %s", node)
	}
	return id
}

func docker(t *testing.T, args ...string) string {
	t.Helper()
	out, err := run(2*time.Minute, nil, "docker", args...)
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(out)
}

// healthy reports whether node's health check passes now (the image's own check, run in
// the container).
func (p *project) healthy(node string) bool {
	_, err := p.compose("exec", "-T", node, "tmux-orc", "daemon", "health")
	return err == nil
}

// waitHealthy waits up to 3 minutes until every given node is healthy.
func (p *project) waitHealthy(t *testing.T, names ...string) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for _, n := range names {
		for !p.healthy(n) {
			if time.Now().After(deadline) {
				t.Fatalf("%s not healthy within 3 minutes:\n%s", n, p.logs(n))
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
}

func (p *project) logs(names ...string) string {
	out, _ := p.compose(append([]string{"logs", "--no-color", "--tail", "40"}, names...)...)
	return out
}

// url is node i's client URL as the host reaches it: its port published on 127.0.0.1.
func (p *project) url(i int) string { return fmt.Sprintf("nats://127.0.0.1:%d", p.ports[i]) }

func (p *project) urls(idx ...int) []string {
	if len(idx) == 0 {
		idx = []int{0, 1, 2}
	}
	var out []string
	for _, i := range idx {
		out = append(out, p.url(i))
	}
	return out
}

func (p *project) credFile(name string) string { return filepath.Join(p.creds, name) }

func (p *project) tlsFlags() []string {
	return []string{"--tls-ca", p.credFile("ca.pem"), "--tls-cert", p.credFile("client.pem"), "--tls-key", p.credFile("client-key.pem")}
}

// cli runs the host's tmux-orc with its own empty data directory (so no local daemon is used).
func (p *project) cli(t *testing.T, args ...string) (string, error) {
	t.Helper()
	h := t.TempDir()
	env := append(os.Environ(), "TMUX_ORC_HOME="+h, "XDG_CONFIG_HOME="+filepath.Join(h, "xdg"), "TMUX_ORC_URL=", "TMUX_ORC_CREDS=")
	return run(2*time.Minute, env, bin, args...)
}

// client is a bus client on the host with the admin's credentials (the load tests'
// consumer records claims, which agents may not), on the given nodes (all when none are given).
func (p *project) client(t *testing.T, name string, idx ...int) *bus.Client {
	t.Helper()
	cl, err := bus.Connect(t.Context(), bus.Options{Home: home.Dir(t.TempDir()), URLs: p.urls(idx...), Name: name,
		Creds: p.admin, TLS: home.ClientTLS{CA: p.credFile("ca.pem"), Cert: p.credFile("client.pem"), Key: p.credFile("client-key.pem")}})
	if err != nil {
		t.Fatalf("connecting to %v: %v", p.urls(idx...), err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// status is `pubsub status --json` through node i, as the host runs it.
func (p *project) status(t *testing.T, i int) subjects.ServerStatus {
	t.Helper()
	st, err := p.tryStatus(t, i)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func (p *project) tryStatus(t *testing.T, i int) (subjects.ServerStatus, error) {
	t.Helper()
	args := append([]string{"pubsub", "status", "--json", "--url", p.url(i), "--creds", p.credFile("agents.nk")}, p.tlsFlags()...)
	out, err := p.cli(t, args...)
	var st subjects.ServerStatus
	if err != nil {
		return st, fmt.Errorf("pubsub status through %s: %v\n%s", nodes[i], err, out)
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		return st, fmt.Errorf("pubsub status --json: %v\n%s", err, out)
	}
	return st, nil
}

func nodeIndex(t *testing.T, name string) int {
	t.Helper()
	for i, n := range nodes {
		if n == name {
			return i
		}
	}
	t.Fatalf("%q is not a node", name)
	return -1
}

// up builds the image and brings a new project up from nothing: the pki service writes the
// cluster, the three nodes start; it waits until all are healthy and copies the bridge
// host's files out. Everything (containers, network, volumes, image) is removed at the end.
func up(t *testing.T) *project {
	t.Helper()
	file, err := filepath.Abs("../../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	p := &project{name: "orctest" + randHex(4), file: file, image: "tmux-orc-test:" + randHex(4), ports: freePorts(t)}
	build := exec.Command("bash", "../../deploy/docker/build.sh", p.image)
	build.Env = append(os.Environ(), "TMUX_ORC_BIN="+bin)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("deploy/docker/build.sh: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("logs:\n%s", p.logs())
		}
		if out, err := p.compose("down", "-v", "--remove-orphans", "-t", "5"); err != nil {
			t.Errorf("compose down -v: %v\n%s", err, out)
		}
		_, _ = run(time.Minute, nil, "docker", "rmi", "-f", p.image)
	})
	p.volumesBefore = strings.Fields(docker(t, "volume", "ls", "-q"))
	t0 := time.Now()
	// A subnet of our own: another one on this machine may hold the first we pick.
	for attempt := 0; ; attempt++ {
		p.net = fmt.Sprintf("10.213.%d", 16+mrand.IntN(230))
		out, err := p.compose("up", "-d")
		if err == nil {
			break
		}
		if attempt < 5 && strings.Contains(strings.ToLower(out), "overlap") {
			_, _ = p.compose("down", "-v")
			continue
		}
		t.Fatalf("compose up -d: %v\n%s", err, out)
	}
	t1 := time.Now()
	p.waitHealthy(t, nodes...)
	t.Logf("compose up -d took %v, the nodes were healthy %v later", t1.Sub(t0).Round(100*time.Millisecond), time.Since(t1).Round(100*time.Millisecond))
	p.creds = filepath.Join(t.TempDir(), bridgeHost)
	docker(t, "cp", p.container(t, "n1")+":/pki/"+bridgeHost, p.creds)
	p.admin = filepath.Join(t.TempDir(), "admin.nk")
	docker(t, "cp", p.container(t, "n1")+":/pki/n1/admin.nk", p.admin)
	return p
}

// waitSettled waits up to 90 s until the cluster is settled after a disruption: through
// every node, three current members, the same meta leader, and every stream led with both
// replicas current, twice in a row a second apart.
func (p *project) waitSettled(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	var last string
	for good := 0; good < 2; {
		time.Sleep(time.Second)
		if time.Now().After(deadline) {
			t.Fatalf("the cluster did not settle within 90s: %s", last)
		}
		var leaders []string
		last = ""
		for i := range nodes {
			st, err := p.tryStatus(t, i)
			if err != nil {
				last = err.Error()
				break
			}
			if problem := settled(st); problem != "" {
				last = fmt.Sprintf("through %s: %s", nodes[i], problem)
				break
			}
			leaders = append(leaders, st.Cluster.MetaLeader)
		}
		if last == "" && (leaders[0] != leaders[1] || leaders[1] != leaders[2]) {
			last = fmt.Sprintf("meta leaders %v", leaders)
		}
		if last != "" {
			good = 0
			continue
		}
		good++
	}
}

// settled says what is not settled in one node's view of the cluster ("" when all is).
func settled(st subjects.ServerStatus) string {
	c := st.Cluster
	if c == nil || c.MetaLeader == "" || len(c.Members) != 3 {
		return fmt.Sprintf("cluster %+v", c)
	}
	for _, m := range c.Members {
		if !m.Current || m.Offline {
			return fmt.Sprintf("member %+v", m)
		}
	}
	for _, s := range c.Streams {
		if s.Leader == "" || len(s.Replicas) != 2 {
			return fmt.Sprintf("stream %s: leader %q, replicas %+v", s.Name, s.Leader, s.Replicas)
		}
		for _, r := range s.Replicas {
			if !r.Current || r.Offline || r.Lag != 0 {
				return fmt.Sprintf("stream %s: replica %+v", s.Name, r)
			}
		}
	}
	return ""
}
