package cli

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nats-io/nkeys"
	"gopkg.in/yaml.v3"
)

func runClusterInit(t *testing.T, o *ClusterInitOptions) (stdout string) {
	t.Helper()
	var out, errOut bytes.Buffer
	o.f = newFactory(IO{Out: &out, Err: &errOut})
	if o.ClientPort == 0 {
		o.ClientPort, o.RoutePort, o.MetricsPort = 4222, 6222, 14223
	}
	if err := clusterInitRun(o); err != nil {
		t.Fatalf("cluster init: %v\n%s", err, errOut.String())
	}
	return out.String()
}

func readYAML(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v\n%s", path, err, b)
	}
	return m
}

func TestClusterInitYAML(t *testing.T) {
	out := filepath.Join(t.TempDir(), "cluster")
	runClusterInit(t, &ClusterInitOptions{Hosts: []string{"h1", "h2", "h3"}, Addrs: []string{"h1=10.0.0.1", "h2=h2.example.com"}, Out: out})

	seeds := map[string]string{}
	for _, h := range []string{"h1", "h2", "h3"} {
		m := readYAML(t, filepath.Join(out, h, "cluster.yaml"))
		want := map[string]any{
			"server_name": h, "host_name": h, "listen": "0.0.0.0:4222", "allow_insecure": false,
			"sync": "always", "metrics_listen": "127.0.0.1:14223",
		}
		for k, v := range want {
			if m[k] != v {
				t.Errorf("%s: %s = %v, want %v", h, k, m[k], v)
			}
		}
		var keys []string
		for k := range m {
			keys = append(keys, k)
		}
		if len(keys) != 10 {
			t.Errorf("%s: top-level keys %v, want the 10 of the documented format", h, keys)
		}
		tlsm := m["tls"].(map[string]any)
		if tlsm["cert"] != "/etc/tmux-orc/pki/server.pem" || tlsm["key"] != "/etc/tmux-orc/pki/server-key.pem" ||
			tlsm["ca"] != "/etc/tmux-orc/pki/ca.pem" || tlsm["verify_clients"] != true {
			t.Errorf("%s: tls = %v", h, tlsm)
		}
		cl := m["cluster"].(map[string]any)
		routes := cl["routes"].([]any)
		if cl["name"] != "tmux-orc" || cl["listen"] != "0.0.0.0:6222" || cl["replicas"] != 3 || len(routes) != 3 ||
			routes[0] != "nats://10.0.0.1:6222" || routes[1] != "nats://h2.example.com:6222" || routes[2] != "nats://h3:6222" {
			t.Errorf("%s: cluster = %v", h, cl)
		}
		client := m["client"].(map[string]any)
		if client["creds"] != "/etc/tmux-orc/pki/agents.nk" || client["cert"] != "/etc/tmux-orc/pki/client.pem" || client["key"] != "/etc/tmux-orc/pki/client-key.pem" {
			t.Errorf("%s: client = %v", h, client)
		}
		users := m["users"].([]any)
		if len(users) != 6 {
			t.Fatalf("%s: %d users, want admin, pm, agents and three bridges", h, len(users))
		}
		for _, u := range users {
			u := u.(map[string]any)
			name, nkey := u["name"].(string), u["nkey"].(string)
			if !nkeys.IsValidPublicUserKey(nkey) {
				t.Errorf("%s: user %s: nkey %q is not a user public key", h, name, nkey)
			}
			// Every host lists the same users.
			if prev, ok := seeds[name]; ok && prev != nkey {
				t.Errorf("%s: user %s has key %s here and %s elsewhere", h, name, nkey, prev)
			}
			seeds[name] = nkey
			wantRole := map[string]string{"admin": "admin", "pm": "pm", "agents": "agent"}[name]
			if strings.HasPrefix(name, "bridge-") {
				wantRole = "bridge"
				if u["host"] != strings.TrimPrefix(name, "bridge-") {
					t.Errorf("%s: user %s: host %v", h, name, u["host"])
				}
			}
			if u["role"] != wantRole {
				t.Errorf("%s: user %s: role %v, want %s", h, name, u["role"], wantRole)
			}
		}
		// The seeds on the host belong to the public keys listed, and only its own bridge's is there.
		for _, name := range []string{"admin", "agents", "bridge-" + h} {
			checkSeed(t, filepath.Join(out, h, name+".nk"), seeds[name])
		}
		for _, other := range []string{"h1", "h2", "h3"} {
			if _, err := os.Stat(filepath.Join(out, h, "bridge-"+other+".nk")); other != h && err == nil {
				t.Errorf("%s holds the seed of bridge-%s", h, other)
			}
		}
	}

	// Certificates: h1's server certificate is for h1 and 10.0.0.1, h2's for h2.example.com.
	roots := x509.NewCertPool()
	caPEM, _ := os.ReadFile(filepath.Join(out, "ca.pem"))
	roots.AppendCertsFromPEM(caPEM)
	for host, names := range map[string][]string{"h1": {"h1", "10.0.0.1", "localhost", "127.0.0.1"}, "h2": {"h2", "h2.example.com"}} {
		pair, err := tls.LoadX509KeyPair(filepath.Join(out, host, "server.pem"), filepath.Join(out, host, "server-key.pem"))
		if err != nil {
			t.Fatal(err)
		}
		cert, _ := x509.ParseCertificate(pair.Certificate[0])
		for _, name := range names {
			if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: name}); err != nil {
				t.Errorf("%s server certificate for %s: %v", host, name, err)
			}
		}
	}
	if fi, err := os.Stat(filepath.Join(out, "h1", "server-key.pem")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("server-key.pem: %v %v", fi.Mode(), err)
	}
}

func checkSeed(t *testing.T, path, wantPub string) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s: mode %o, want 600", path, fi.Mode().Perm())
	}
	seed, _ := os.ReadFile(path)
	kp, err := nkeys.ParseDecoratedNKey(seed)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if pub, _ := kp.PublicKey(); pub != wantPub {
		t.Errorf("%s: seed of %s, want %s", path, pub, wantPub)
	}
}

func TestClusterInitLoopback(t *testing.T) {
	out := filepath.Join(t.TempDir(), "with space")
	stdout := runClusterInit(t, &ClusterInitOptions{Hosts: []string{"n1", "n2", "n3"}, Out: out, Loopback: true, ClientPort: 4222, RoutePort: 6222, MetricsPort: 14223})
	for i, h := range []string{"n1", "n2", "n3"} {
		m := readYAML(t, filepath.Join(out, h, "cluster.yaml"))
		ports := []string{"4222", "4223", "4224"}[i]
		if m["listen"] != "127.0.0.1:"+ports || m["metrics_listen"] != []string{"127.0.0.1:14223", "127.0.0.1:14224", "127.0.0.1:14225"}[i] {
			t.Errorf("%s: listen %v, metrics_listen %v", h, m["listen"], m["metrics_listen"])
		}
		cl := m["cluster"].(map[string]any)
		if cl["listen"] != []string{"127.0.0.1:6222", "127.0.0.1:6223", "127.0.0.1:6224"}[i] {
			t.Errorf("%s: cluster listen %v", h, cl["listen"])
		}
		if routes := cl["routes"].([]any); len(routes) != 3 || routes[2] != "nats://127.0.0.1:6224" {
			t.Errorf("%s: routes %v", h, routes)
		}
		// The paths point at the written files, quoted since they hold a space.
		if cert := m["tls"].(map[string]any)["cert"]; cert != filepath.Join(out, h, "server.pem") {
			t.Errorf("%s: tls cert %v", h, cert)
		}
		if !strings.Contains(stdout, "TMUX_ORC_HOME="+filepath.Join(out, h, "home")) {
			t.Errorf("next steps lack %s's home:\n%s", h, stdout)
		}
	}
}

func TestClusterInitPKIDir(t *testing.T) {
	out := filepath.Join(t.TempDir(), "c")
	runClusterInit(t, &ClusterInitOptions{Hosts: []string{"a", "b", "c"}, Out: out, PKIDir: "/srv/{host}/pki"})
	m := readYAML(t, filepath.Join(out, "b", "cluster.yaml"))
	if got := m["client"].(map[string]any)["creds"]; got != "/srv/b/pki/agents.nk" {
		t.Errorf("client creds %v", got)
	}
}

func TestClusterInitBadFlags(t *testing.T) {
	existing := t.TempDir()
	if err := os.WriteFile(filepath.Join(existing, "keep"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		opts ClusterInitOptions
		want string
	}{
		{"no hosts", ClusterInitOptions{}, "--hosts is required"},
		{"duplicate host", ClusterInitOptions{Hosts: []string{"h1", "h2", "h1"}}, `"h1" is listed twice`},
		{"bad host name", ClusterInitOptions{Hosts: []string{"h1", "h.2"}}, `invalid host name "h.2"`},
		{"empty host name", ClusterInitOptions{Hosts: []string{"h1", ""}}, `invalid host name ""`},
		{"addr without =", ClusterInitOptions{Hosts: []string{"h1"}, Addrs: []string{"10.0.0.1"}}, "want HOST=ADDRESS"},
		{"addr of an unknown host", ClusterInitOptions{Hosts: []string{"h1"}, Addrs: []string{"h9=10.0.0.1"}}, `"h9" is not one of --hosts`},
		{"bad addr", ClusterInitOptions{Hosts: []string{"h1"}, Addrs: []string{"h1=10.0.0.1:4222"}}, "neither an IP address nor a DNS name"},
		{"addr with loopback", ClusterInitOptions{Hosts: []string{"h1"}, Addrs: []string{"h1=10.0.0.1"}, Loopback: true}, "exclude each other"},
		{"port out of range", ClusterInitOptions{Hosts: []string{"h1"}, ClientPort: 70000}, "outside 1-65535"},
		{"same port twice", ClusterInitOptions{Hosts: []string{"h1"}, RoutePort: 4222}, "also --client-port's"},
		{"loopback ranges overlap", ClusterInitOptions{Hosts: []string{"h1", "h2"}, Loopback: true, RoutePort: 4223}, "port 4223 for h2 is also --route-port of h1's"},
		{"existing out", ClusterInitOptions{Hosts: []string{"h1"}, Out: existing}, "already exists"},
		{"bridge host also a node", ClusterInitOptions{Hosts: []string{"h1", "h2"}, BridgeHosts: []string{"h2"}}, `"h2" is listed twice (or is also in --hosts)`},
		{"bad bridge host", ClusterInitOptions{Hosts: []string{"h1"}, BridgeHosts: []string{"my laptop"}}, `invalid host name "my laptop"`},
		{"addr of a bridge host", ClusterInitOptions{Hosts: []string{"h1"}, BridgeHosts: []string{"ws"}, Addrs: []string{"ws=10.0.0.9"}}, `"ws" is not one of --hosts`},
		{"bad san", ClusterInitOptions{Hosts: []string{"h1"}, SANs: []string{"a_b!"}}, `--san "a_b!" is neither`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.opts
			o.f = newFactory(IO{Out: &bytes.Buffer{}, Err: &bytes.Buffer{}})
			for p, def := range map[*int]int{&o.ClientPort: 4222, &o.RoutePort: 6222, &o.MetricsPort: 14223} {
				if *p == 0 {
					*p = def
				}
			}
			if o.Out == "" {
				o.Out = filepath.Join(t.TempDir(), "never")
			}
			err := clusterInitRun(&o)
			var fe *flagError
			if !errors.As(err, &fe) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want a flag error containing %q", err, tc.want)
			}
			if tc.name != "existing out" {
				if _, err := os.Stat(o.Out); err == nil {
					t.Errorf("%s was written despite the error", o.Out)
				}
			}
		})
	}
}

func TestYAMLScalar(t *testing.T) {
	for in, want := range map[string]string{
		"h1": "h1", "/etc/tmux-orc/pki/ca.pem": "/etc/tmux-orc/pki/ca.pem", "0.0.0.0:4222": "0.0.0.0:4222",
		"true": `"true"`, "123": `"123"`, "a b": `"a b"`, "nats://[::1]:6222": `"nats://[::1]:6222"`, "": `""`,
	} {
		if got := yamlScalar(in); got != want {
			t.Errorf("yamlScalar(%q) = %s, want %s", in, got, want)
		}
	}
}

// TestClusterInitBridgeHostsAndSANs: a host that runs only a bridge gets a bridge user on every
// node, client files and its seeds (not the admin's); --san names are in every server
// certificate; --ca-dir keeps the CA key out of --out.
func TestClusterInitBridgeHostsAndSANs(t *testing.T) {
	dir := t.TempDir()
	out, caDir := filepath.Join(dir, "pki"), filepath.Join(dir, "ca")
	stdout := runClusterInit(t, &ClusterInitOptions{Hosts: []string{"n1", "n2", "n3"},
		Addrs: []string{"n1=172.30.15.11", "n2=172.30.15.12", "n3=172.30.15.13"}, BridgeHosts: []string{"laptop"},
		SANs: []string{"docker-host.lan", "192.0.2.7", ""}, Out: out, CADir: caDir, PKIDir: "/pki/{host}"})
	if !strings.Contains(stdout, "tmux-orc bridge --host laptop --url nats://172.30.15.11:4222,nats://172.30.15.12:4222,nats://172.30.15.13:4222 --creds bridge-laptop.nk") {
		t.Errorf("next steps lack the bridge host's command:\n%s", stdout)
	}
	for _, f := range []string{"ca.pem", "ca-key.pem"} {
		if _, err := os.Stat(filepath.Join(caDir, f)); err != nil {
			t.Error(err)
		}
		if _, err := os.Stat(filepath.Join(out, f)); err == nil {
			t.Errorf("%s written to --out despite --ca-dir", f)
		}
	}
	var bridgeKey, agentsKey string
	for _, u := range readYAML(t, filepath.Join(out, "n2", "cluster.yaml"))["users"].([]any) {
		u := u.(map[string]any)
		switch u["name"] {
		case "bridge-laptop":
			if u["role"] != "bridge" || u["host"] != "laptop" {
				t.Errorf("bridge-laptop: %v", u)
			}
			bridgeKey = u["nkey"].(string)
		case "agents":
			agentsKey = u["nkey"].(string)
		}
	}
	if bridgeKey == "" {
		t.Fatal("n2's cluster.yaml has no user bridge-laptop")
	}
	checkSeed(t, filepath.Join(out, "laptop", "bridge-laptop.nk"), bridgeKey)
	checkSeed(t, filepath.Join(out, "laptop", "agents.nk"), agentsKey)
	for _, absent := range []string{"admin.nk", "cluster.yaml", "server-key.pem", "bridge-n1.nk"} {
		if _, err := os.Stat(filepath.Join(out, "laptop", absent)); err == nil {
			t.Errorf("the bridge host's directory holds %s", absent)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "n1", "bridge-laptop.nk")); err == nil {
		t.Error("a node holds the bridge host's seed")
	}
	roots := x509.NewCertPool()
	caPEM, _ := os.ReadFile(filepath.Join(out, "laptop", "ca.pem"))
	roots.AppendCertsFromPEM(caPEM)
	// The laptop's client certificate is from the CA, for client authentication.
	pair, err := tls.LoadX509KeyPair(filepath.Join(out, "laptop", "client.pem"), filepath.Join(out, "laptop", "client-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	cc, _ := x509.ParseCertificate(pair.Certificate[0])
	if _, err := cc.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("laptop client certificate: %v", err)
	}
	for _, h := range []string{"n1", "n3"} {
		pair, err := tls.LoadX509KeyPair(filepath.Join(out, h, "server.pem"), filepath.Join(out, h, "server-key.pem"))
		if err != nil {
			t.Fatal(err)
		}
		cert, _ := x509.ParseCertificate(pair.Certificate[0])
		ip := map[string]string{"n1": "172.30.15.11", "n3": "172.30.15.13"}[h]
		for _, name := range []string{h, ip, "docker-host.lan", "192.0.2.7", "127.0.0.1", "localhost"} {
			if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: name}); err != nil {
				t.Errorf("%s server certificate for %s: %v", h, name, err)
			}
		}
		if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: "172.30.15.12"}); err == nil {
			t.Errorf("%s server certificate is valid for n2's address", h)
		}
	}
}

// TestClusterInitExistOK: --exist-ok keeps a complete cluster (nothing rewritten), refuses a
// directory with other files, and writes into an empty one.
func TestClusterInitExistOK(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "pki")
	if err := os.Mkdir(out, 0o700); err != nil {
		t.Fatal(err)
	}
	opts := func() *ClusterInitOptions {
		return &ClusterInitOptions{Hosts: []string{"n1", "n2", "n3"}, BridgeHosts: []string{"ws"}, Out: out, CADir: filepath.Join(dir, "ca"), ExistOK: true,
			ClientPort: 4222, RoutePort: 6222, MetricsPort: 14223}
	}
	// An empty --out (a fresh container volume) is written.
	runClusterInit(t, opts())
	before, err := os.ReadFile(filepath.Join(out, "n1", "agents.nk"))
	if err != nil {
		t.Fatal(err)
	}
	if stdout := runClusterInit(t, opts()); !strings.Contains(stdout, "kept the cluster in") {
		t.Errorf("second run: %s", stdout)
	}
	if after, _ := os.ReadFile(filepath.Join(out, "n1", "agents.nk")); !bytes.Equal(before, after) {
		t.Error("--exist-ok rewrote agents.nk")
	}
	// A cluster with another bridge host is not this one.
	o := opts()
	o.BridgeHosts = []string{"other"}
	o.f = newFactory(IO{Out: &bytes.Buffer{}, Err: &bytes.Buffer{}})
	if err := clusterInitRun(o); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("another cluster's files: %v, want an error naming what is missing", err)
	}
	// An empty --out with a CA key already in --ca-dir: the key is not replaced.
	o = opts()
	o.Out = filepath.Join(dir, "empty")
	o.f = newFactory(IO{Out: &bytes.Buffer{}, Err: &bytes.Buffer{}})
	if err := clusterInitRun(o); err == nil || !strings.Contains(err.Error(), "a CA key is never replaced without --force") {
		t.Errorf("an existing CA key: %v", err)
	}
	o = opts()
	o.Force = true
	o.f = newFactory(IO{Out: &bytes.Buffer{}, Err: &bytes.Buffer{}})
	if err := clusterInitRun(o); err == nil || !strings.Contains(err.Error(), "exclude each other") {
		t.Errorf("--force with --exist-ok: %v", err)
	}
}
