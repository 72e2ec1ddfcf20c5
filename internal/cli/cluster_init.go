package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/nats-io/nkeys"
	"github.com/spf13/cobra"

	"github.com/tmux-orc/tmux-orc/internal/home"
	"github.com/tmux-orc/tmux-orc/internal/pki"
)

// ClusterInitOptions are the inputs of tmux-orc cluster init.
type ClusterInitOptions struct {
	f *factory

	Hosts       []string
	Addrs       []string
	BridgeHosts []string
	SANs        []string
	Out         string
	CADir       string
	PKIDir      string
	ClientPort  int
	RoutePort   int
	MetricsPort int
	Loopback    bool
	Force       bool
	ExistOK     bool
}

// DefaultPKIDir is where cluster.yaml expects a node's certificates and seeds.
const DefaultPKIDir = "/etc/tmux-orc/pki"

func newCmdClusterInit(f *factory) *cobra.Command {
	opts := &ClusterInitOptions{f: f}
	cmd := &cobra.Command{
		Use:   "init --hosts H1,H2,H3 [flags]",
		Short: "Write a CA, per-host certificates, NKey users and cluster.yaml for each host",
		Long: `Write everything a cluster needs into --out DIR:

  DIR/ca.pem, DIR/ca-key.pem          the development CA (keep ca-key.pem off the nodes)
  DIR/<host>/cluster.yaml             the node's configuration
  DIR/<host>/ca.pem                   the CA certificate
  DIR/<host>/server.pem, server-key.pem  serves clients, routes and websocket; also the route
                                      client certificate (SANs: the host, its --addr, localhost,
                                      127.0.0.1)
  DIR/<host>/client.pem, client-key.pem  for local commands
  DIR/<host>/admin.nk, pm.nk, agents.nk  NKey user seeds, the same on every host
  DIR/<host>/bridge-<host>.nk         the seed of this host's bridge
  DIR/<bridge host>/                  for each --bridge-hosts host, one that runs no node but a
                                      bridge (and commands) for its tmux server: ca.pem,
                                      client.pem, client-key.pem, agents.nk, bridge-<host>.nk

cluster.yaml refers to the files in --pki-dir (default /etc/tmux-orc/pki; "{host}" in it is
replaced by the host name). Host names are made of letters, digits, "_" and "-". A cluster
needs three nodes to survive the loss of one.

--san adds names or addresses to every node's server certificate: those clients use to reach
the nodes besides the host names and --addr (a published port's host name, a load balancer).
--ca-dir writes ca.pem and ca-key.pem elsewhere than DIR (to keep the CA key out of a
directory the nodes read). An existing empty DIR is used; one with files is an error unless
--force (replace them) or --exist-ok (keep a complete cluster written before and succeed, as a
container's init step does on every start).

--loopback writes a cluster that runs on this machine: every address is 127.0.0.1 and host i
(from 0) listens on --client-port+i, --route-port+i and --metrics-port+i.`,
		Example: `  tmux-orc cluster init --hosts h1,h2,h3 --addr h1=10.0.0.1,h2=10.0.0.2,h3=10.0.0.3
  tmux-orc cluster init --hosts n1,n2,n3 --bridge-hosts laptop --san docker-host.lan
  tmux-orc cluster init --hosts h1,h2,h3 --loopback --out /tmp/orc-cluster`,
		Args: argsBetween(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return clusterInitRun(opts)
		},
	}
	fl := cmd.Flags()
	fl.StringSliceVar(&opts.Hosts, "hosts", nil, "host names, comma-separated (required)")
	fl.StringSliceVar(&opts.Addrs, "addr", nil, "HOST=ADDRESS (IP or DNS name) for routes and certificates, comma-separated (default: the host name)")
	fl.StringSliceVar(&opts.BridgeHosts, "bridge-hosts", nil, "hosts that run only a bridge and commands, comma-separated: a bridge user and client files each")
	fl.StringSliceVar(&opts.SANs, "san", nil, "extra DNS names or IP addresses for every node's server certificate, comma-separated")
	fl.StringVar(&opts.Out, "out", "tmux-orc-cluster", "directory to write")
	fl.StringVar(&opts.CADir, "ca-dir", "", "directory for ca.pem and ca-key.pem (default --out)")
	fl.BoolVar(&opts.ExistOK, "exist-ok", false, "succeed without writing anything when --out already holds this cluster's files")
	fl.StringVar(&opts.PKIDir, "pki-dir", "", `where cluster.yaml expects the node's files; "{host}" is replaced (default /etc/tmux-orc/pki; with --loopback DIR/{host})`)
	fl.IntVar(&opts.ClientPort, "client-port", 4222, "client port (with --loopback: of the first host)")
	fl.IntVar(&opts.RoutePort, "route-port", 6222, "route port (with --loopback: of the first host)")
	fl.IntVar(&opts.MetricsPort, "metrics-port", 14223, "metrics and health port on 127.0.0.1 (with --loopback: of the first host)")
	fl.BoolVar(&opts.Loopback, "loopback", false, "a cluster on this machine: 127.0.0.1, consecutive ports")
	fl.BoolVar(&opts.Force, "force", false, "write into an existing --out directory, replacing its files")
	return cmd
}

var (
	hostNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,63}$`)
	dnsNameRE  = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$`)
)

// clusterNode is one host of the cluster being written.
type clusterNode struct {
	Host        string
	Addr        string // IP address or DNS name other nodes reach it by
	ClientPort  int
	RoutePort   int
	MetricsPort int
	PKIDir      string
}

// clusterPlan checks the options and works out every node's names, addresses and ports.
func (o *ClusterInitOptions) clusterPlan() ([]clusterNode, error) {
	if len(o.Hosts) == 0 {
		return nil, flagErrorf("--hosts is required: the host names, comma-separated (h1,h2,h3)")
	}
	var nodes []clusterNode
	index := map[string]int{}
	for i, h := range o.Hosts {
		if !hostNameRE.MatchString(h) {
			return nil, flagErrorf("--hosts: invalid host name %q: use letters, digits, \"_\" and \"-\" (at most 63)", h)
		}
		if _, dup := index[h]; dup {
			return nil, flagErrorf("--hosts: %q is listed twice", h)
		}
		index[h] = i
		nodes = append(nodes, clusterNode{Host: h, Addr: h, ClientPort: o.ClientPort, RoutePort: o.RoutePort, MetricsPort: o.MetricsPort})
	}
	for _, h := range o.BridgeHosts {
		if !hostNameRE.MatchString(h) {
			return nil, flagErrorf("--bridge-hosts: invalid host name %q: use letters, digits, \"_\" and \"-\" (at most 63)", h)
		}
		if _, dup := index[h]; dup {
			return nil, flagErrorf("--bridge-hosts: %q is listed twice (or is also in --hosts)", h)
		}
		index[h] = -1
	}
	for _, san := range o.SANs {
		if san != "" && net.ParseIP(san) == nil && !dnsNameRE.MatchString(san) {
			return nil, flagErrorf("--san %q is neither an IP address nor a DNS name", san)
		}
	}
	if o.Force && o.ExistOK {
		return nil, flagErrorf("--force and --exist-ok exclude each other")
	}
	if o.Loopback && len(o.Addrs) > 0 {
		return nil, flagErrorf("--addr and --loopback exclude each other: with --loopback every address is 127.0.0.1")
	}
	for _, a := range o.Addrs {
		h, addr, ok := strings.Cut(a, "=")
		i, known := index[h]
		switch {
		case !ok || h == "" || addr == "":
			return nil, flagErrorf("--addr %q: want HOST=ADDRESS, such as h1=10.0.0.1", a)
		case !known || i < 0:
			return nil, flagErrorf("--addr %q: %q is not one of --hosts", a, h)
		case net.ParseIP(addr) == nil && !dnsNameRE.MatchString(addr):
			return nil, flagErrorf("--addr %q: %q is neither an IP address nor a DNS name", a, addr)
		}
		nodes[i].Addr = addr
	}
	if o.Loopback {
		for i := range nodes {
			nodes[i].Addr = "127.0.0.1"
			nodes[i].ClientPort += i
			nodes[i].RoutePort += i
			nodes[i].MetricsPort += i
		}
	}
	ports := map[int]string{}
	for _, n := range nodes {
		for _, p := range []struct {
			flag string
			port int
		}{{"--client-port", n.ClientPort}, {"--route-port", n.RoutePort}, {"--metrics-port", n.MetricsPort}} {
			if p.port < 1 || p.port > 65535 {
				return nil, flagErrorf("%s: port %d for %s is outside 1-65535", p.flag, p.port, n.Host)
			}
			if other, taken := ports[p.port]; taken && (o.Loopback || other != p.flag) {
				return nil, flagErrorf("%s: port %d for %s is also %s's", p.flag, p.port, n.Host, other)
			}
			if o.Loopback {
				ports[p.port] = p.flag + " of " + n.Host
			} else {
				ports[p.port] = p.flag
			}
		}
	}
	pkiDir := o.PKIDir
	if pkiDir == "" {
		pkiDir = DefaultPKIDir
		if o.Loopback {
			abs, err := filepath.Abs(o.Out)
			if err != nil {
				return nil, err
			}
			pkiDir = filepath.Join(abs, "{host}")
		}
	}
	for i := range nodes {
		nodes[i].PKIDir = strings.ReplaceAll(pkiDir, "{host}", nodes[i].Host)
	}
	return nodes, nil
}

// clusterUser is an entry of the users list in cluster.yaml.
type clusterUser struct {
	Name, NKey, Role, Host string
	seed                   []byte
}

func newClusterUser(name, role, host string) (clusterUser, error) {
	kp, err := nkeys.CreateUser()
	if err != nil {
		return clusterUser{}, fmt.Errorf("generating NKey user %s: %w", name, err)
	}
	seed, err := kp.Seed()
	if err != nil {
		return clusterUser{}, fmt.Errorf("generating NKey user %s: %w", name, err)
	}
	pub, err := kp.PublicKey()
	if err != nil {
		return clusterUser{}, fmt.Errorf("generating NKey user %s: %w", name, err)
	}
	return clusterUser{Name: name, NKey: pub, Role: role, Host: host, seed: append(seed, '\n')}, nil
}

func clusterInitRun(o *ClusterInitOptions) error {
	nodes, err := o.clusterPlan()
	if err != nil {
		return err
	}
	caDir := o.CADir
	if caDir == "" {
		caDir = o.Out
	}
	if done, err := o.checkOut(caDir, nodes); err != nil || done {
		return err
	}
	users := make([]clusterUser, 0, 3+len(nodes)+len(o.BridgeHosts))
	for _, u := range [][2]string{{"admin", "admin"}, {"pm", "pm"}, {"agents", "agent"}} {
		cu, err := newClusterUser(u[0], u[1], "")
		if err != nil {
			return err
		}
		users = append(users, cu)
	}
	for _, h := range append(hostNames(nodes), o.BridgeHosts...) {
		cu, err := newClusterUser("bridge-"+h, "bridge", h)
		if err != nil {
			return err
		}
		users = append(users, cu)
	}
	ca, err := pki.NewCA()
	if err != nil {
		return err
	}
	for _, d := range []string{o.Out, caDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return fmt.Errorf("creating %s: %w", d, err)
		}
	}
	if err := ca.Write(filepath.Join(caDir, "ca.pem"), filepath.Join(caDir, "ca-key.pem")); err != nil {
		return err
	}
	fmt.Fprintf(o.f.Out, "wrote %s: ca.pem, ca-key.pem (the CA key: keep it here, never on a node)\n", caDir)
	for _, n := range nodes {
		files, err := writeClusterNode(o.Out, ca, n, nodes, users, o.SANs)
		if err != nil {
			return err
		}
		fmt.Fprintf(o.f.Out, "wrote %s: %s\n", filepath.Join(o.Out, n.Host), strings.Join(files, ", "))
	}
	for _, h := range o.BridgeHosts {
		files, err := writeBridgeHost(o.Out, ca, h, users)
		if err != nil {
			return err
		}
		fmt.Fprintf(o.f.Out, "wrote %s: %s\n", filepath.Join(o.Out, h), strings.Join(files, ", "))
	}
	if len(nodes) < 3 {
		fmt.Fprintf(o.f.Err, "tmux-orc: warning: %d node(s) cannot survive the loss of one; a cluster needs at least 3\n", len(nodes))
	}
	printClusterNextSteps(o, nodes)
	return nil
}

func hostNames(nodes []clusterNode) []string {
	var hs []string
	for _, n := range nodes {
		hs = append(hs, n.Host)
	}
	return hs
}

// checkOut decides whether --out may be written: it may when it does not exist or is empty,
// or with --force. With --exist-ok, a complete cluster written before (the CA, every node's
// cluster.yaml and every bridge host's seed) is kept and done is true.
func (o *ClusterInitOptions) checkOut(caDir string, nodes []clusterNode) (done bool, err error) {
	caKey := filepath.Join(caDir, "ca-key.pem")
	entries, err := os.ReadDir(o.Out)
	switch {
	case errors.Is(err, fs.ErrNotExist) || (err == nil && len(entries) == 0):
		if _, err := os.Stat(caKey); err == nil && caDir != o.Out && !o.Force {
			return false, flagErrorf("%s already exists: a CA key is never replaced without --force", caKey)
		}
		return false, nil
	case err != nil:
		return false, fmt.Errorf("checking --out: %w", err)
	case o.Force:
		return false, nil
	case !o.ExistOK:
		return false, flagErrorf("%s already exists: choose another --out, or pass --force to replace the files in it", o.Out)
	}
	want := []string{filepath.Join(caDir, "ca.pem")}
	for _, n := range nodes {
		want = append(want, filepath.Join(o.Out, n.Host, "cluster.yaml"))
	}
	for _, h := range o.BridgeHosts {
		want = append(want, filepath.Join(o.Out, h, "bridge-"+h+".nk"))
	}
	var missing []string
	for _, f := range want {
		if _, err := os.Stat(f); err != nil {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		return false, fmt.Errorf("%s holds files but not this cluster (missing %s): remove it, or pass --force to write a new cluster into it", o.Out, strings.Join(missing, ", "))
	}
	fmt.Fprintf(o.f.Out, "kept the cluster in %s (written before; --exist-ok): nothing written\n", o.Out)
	return true, nil
}

// writeClusterNode writes one host's directory and returns the names of the files written.
func writeClusterNode(out string, ca *pki.CA, n clusterNode, nodes []clusterNode, users []clusterUser, sans []string) ([]string, error) {
	dir := filepath.Join(out, n.Host)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating %s: %w", dir, err)
	}
	var dns []string
	var ips []net.IP
	dns = append(dns, n.Host)
	for _, name := range append([]string{n.Addr}, sans...) {
		if ip := net.ParseIP(name); ip != nil {
			ips = append(ips, ip)
		} else if name != "" {
			dns = append(dns, name)
		}
	}
	server, err := ca.IssueServer(dns, ips)
	if err != nil {
		return nil, err
	}
	client, err := ca.IssueClient("client-" + n.Host)
	if err != nil {
		return nil, err
	}
	path := func(name string) string { return filepath.Join(dir, name) }
	if err := home.WriteFileAtomic(path("ca.pem"), ca.CertPEM(), 0o644); err != nil {
		return nil, err
	}
	if err := server.Write(path("server.pem"), path("server-key.pem")); err != nil {
		return nil, err
	}
	if err := client.Write(path("client.pem"), path("client-key.pem")); err != nil {
		return nil, err
	}
	files := []string{"cluster.yaml", "ca.pem", "server.pem", "server-key.pem", "client.pem", "client-key.pem"}
	for _, u := range users {
		if u.Role == "bridge" && u.Host != n.Host {
			continue
		}
		if err := home.WriteFileAtomic(path(u.Name+".nk"), u.seed, 0o600); err != nil {
			return nil, err
		}
		files = append(files, u.Name+".nk")
	}
	if err := home.WriteFileAtomic(path("cluster.yaml"), renderClusterYAML(n, nodes, users), 0o644); err != nil {
		return nil, err
	}
	return files, nil
}

// writeBridgeHost writes the directory of host h, which runs a bridge and commands but no node:
// the CA certificate, a client certificate, the agents' seed and its bridge's.
func writeBridgeHost(out string, ca *pki.CA, h string, users []clusterUser) ([]string, error) {
	dir := filepath.Join(out, h)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating %s: %w", dir, err)
	}
	path := func(name string) string { return filepath.Join(dir, name) }
	client, err := ca.IssueClient("client-" + h)
	if err != nil {
		return nil, err
	}
	if err := home.WriteFileAtomic(path("ca.pem"), ca.CertPEM(), 0o644); err != nil {
		return nil, err
	}
	if err := client.Write(path("client.pem"), path("client-key.pem")); err != nil {
		return nil, err
	}
	files := []string{"ca.pem", "client.pem", "client-key.pem"}
	for _, u := range users {
		if u.Name != "agents" && !(u.Role == "bridge" && u.Host == h) {
			continue
		}
		if err := home.WriteFileAtomic(path(u.Name+".nk"), u.seed, 0o600); err != nil {
			return nil, err
		}
		files = append(files, u.Name+".nk")
	}
	return files, nil
}

func printClusterNextSteps(o *ClusterInitOptions, nodes []clusterNode) {
	w := o.f.Out
	first := nodes[0]
	if o.Loopback {
		fmt.Fprintf(w, "\nNext steps: start the nodes on this machine, each with its own data directory (TMUX_ORC_HOME):\n")
		for _, n := range nodes {
			// The ports as flags: an exported TMUX_ORC_PORT or TMUX_ORC_METRICS_LISTEN would
			// otherwise override the file's and put every node on the same port.
			fmt.Fprintf(w, "  TMUX_ORC_HOME=%s tmux-orc daemon start --no-bridge --config %s --port %d --metrics-listen 127.0.0.1:%d\n",
				filepath.Join(n.PKIDir, "home"), filepath.Join(n.PKIDir, "cluster.yaml"), n.ClientPort, n.MetricsPort)
		}
		fmt.Fprintf(w, "then check:\n  TMUX_ORC_HOME=%s tmux-orc pubsub status\n", filepath.Join(first.PKIDir, "home"))
		printBridgeHostSteps(o, nodes)
		return
	}
	fmt.Fprintf(w, "\nNext steps (deploy/cluster/README.md has the details):\n")
	fmt.Fprintf(w, "  1. On each host, install %s/<host>/ as %s/ and move its cluster.yaml to /etc/tmux-orc/cluster.yaml;\n", o.Out, first.PKIDir)
	fmt.Fprintf(w, "     server-key.pem must be readable by the daemon's user, the client files by the users who run tmux-orc:\n")
	for _, n := range nodes {
		fmt.Fprintf(w, "       %s/%s/ -> %s:%s/\n", o.Out, n.Host, n.Host, n.PKIDir)
	}
	fmt.Fprintf(w, "  2. Open TCP %d (clients) and %d (routes) between the hosts.\n", first.ClientPort, first.RoutePort)
	fmt.Fprintf(w, "  3. Start the daemon on every host: sudo systemctl enable --now tmux-orc (deploy/systemd/tmux-orc.service)\n")
	fmt.Fprintf(w, "     or: tmux-orc daemon start --no-bridge --config /etc/tmux-orc/cluster.yaml\n")
	fmt.Fprintf(w, "  4. Check: tmux-orc pubsub status --url nats://%s --creds %s --tls-ca %s --tls-cert %s --tls-key %s\n",
		net.JoinHostPort(first.Addr, strconv.Itoa(first.ClientPort)), filepath.Join(first.PKIDir, "admin.nk"),
		filepath.Join(first.PKIDir, "ca.pem"), filepath.Join(first.PKIDir, "client.pem"), filepath.Join(first.PKIDir, "client-key.pem"))
	printBridgeHostSteps(o, nodes)
}

// printBridgeHostSteps says how a --bridge-hosts host runs its bridge.
func printBridgeHostSteps(o *ClusterInitOptions, nodes []clusterNode) {
	if len(o.BridgeHosts) == 0 {
		return
	}
	var urls []string
	for _, n := range nodes {
		urls = append(urls, "nats://"+net.JoinHostPort(n.Addr, strconv.Itoa(n.ClientPort)))
	}
	fmt.Fprintf(o.f.Out, "Bridge hosts: copy %s/<host>/ to each (say to ~/.tmux-orc-pki/), then there, as the user who runs tmux:\n", o.Out)
	for _, h := range o.BridgeHosts {
		fmt.Fprintf(o.f.Out, "       tmux-orc bridge --host %s --url %s --creds bridge-%s.nk --tls-ca ca.pem --tls-cert client.pem --tls-key client-key.pem\n",
			h, strings.Join(urls, ","), h)
	}
}
