package cli

import (
	"bytes"
	"fmt"
	"net"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// renderClusterYAML writes node n's cluster.yaml by hand, so that it reads like the
// documented example (flow-style users, comments) rather than like a marshalled struct.
func renderClusterYAML(n clusterNode, nodes []clusterNode, users []clusterUser) []byte {
	q := yamlScalar
	file := func(name string) string { return q(filepath.Join(n.PKIDir, name)) }
	listenHost := "0.0.0.0"
	if net.ParseIP(n.Addr).IsLoopback() {
		listenHost = "127.0.0.1"
	}
	var routes []string
	for _, m := range nodes {
		routes = append(routes, q("nats://"+net.JoinHostPort(m.Addr, strconv.Itoa(m.RoutePort))))
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "# tmux-orc cluster node %s, written by `tmux-orc cluster init`.\n", n.Host)
	fmt.Fprintf(&b, "# The users list is the same on every node; the files under tls and client are this node's.\n")
	fmt.Fprintf(&b, "server_name: %s\n", q(n.Host))
	fmt.Fprintf(&b, "host_name: %s\n", q(n.Host))
	fmt.Fprintf(&b, "listen: %s\n", q(net.JoinHostPort(listenHost, strconv.Itoa(n.ClientPort))))
	fmt.Fprintf(&b, "allow_insecure: false\n")
	fmt.Fprintf(&b, "sync: always\n")
	fmt.Fprintf(&b, "metrics_listen: %s\n", q(net.JoinHostPort("127.0.0.1", strconv.Itoa(n.MetricsPort))))
	fmt.Fprintf(&b, "tls:\n")
	fmt.Fprintf(&b, "  cert: %s\n", file("server.pem"))
	fmt.Fprintf(&b, "  key: %s\n", file("server-key.pem"))
	fmt.Fprintf(&b, "  ca: %s\n", file("ca.pem"))
	fmt.Fprintf(&b, "  verify_clients: true\n")
	fmt.Fprintf(&b, "users:\n")
	for _, u := range users {
		fmt.Fprintf(&b, "  - {name: %s, nkey: %s, role: %s", q(u.Name), q(u.NKey), q(u.Role))
		if u.Host != "" {
			fmt.Fprintf(&b, ", host: %s", q(u.Host))
		}
		fmt.Fprintf(&b, "}\n")
	}
	fmt.Fprintf(&b, "cluster:\n")
	fmt.Fprintf(&b, "  name: tmux-orc\n")
	fmt.Fprintf(&b, "  listen: %s\n", q(net.JoinHostPort(listenHost, strconv.Itoa(n.RoutePort))))
	fmt.Fprintf(&b, "  routes: [%s]\n", strings.Join(routes, ", "))
	fmt.Fprintf(&b, "  replicas: %d\n", min(3, len(nodes)))
	fmt.Fprintf(&b, "# websocket:                 # off unless listen is set\n")
	fmt.Fprintf(&b, "#   listen: 127.0.0.1:14280\n")
	fmt.Fprintf(&b, "client:\n")
	fmt.Fprintf(&b, "  creds: %s\n", file("agents.nk"))
	fmt.Fprintf(&b, "  cert: %s\n", file("client.pem"))
	fmt.Fprintf(&b, "  key: %s\n", file("client-key.pem"))
	return b.Bytes()
}

// plainYAML is what yamlScalar leaves unquoted: no flow indicators, quotes, "#" or spaces.
var plainYAML = regexp.MustCompile(`^[A-Za-z0-9_/.][A-Za-z0-9_/.:@+=-]*$`)

// yamlScalar returns s as a YAML scalar that reads back as the string s, quoted only when
// needed (a path with spaces, an IPv6 route, a host named "true" or "123").
func yamlScalar(s string) string {
	var v any
	if plainYAML.MatchString(s) && yaml.Unmarshal([]byte(s), &v) == nil && v == s {
		return s
	}
	return strconv.Quote(s)
}
