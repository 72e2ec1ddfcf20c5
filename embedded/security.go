package embedded

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"github.com/nats-io/nkeys"
)

// TLS names the certificate files of a node. The same certificate serves clients, routes
// (where it is also the client certificate a node presents to its peers) and WebSocket.
type TLS struct {
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
	CA   string `yaml:"ca"`
	// VerifyClients requires clients to present a certificate signed by CA.
	VerifyClients bool `yaml:"verify_clients"`
}

// Enabled reports whether TLS is configured.
func (t TLS) Enabled() bool { return t.Cert != "" || t.Key != "" || t.CA != "" }

// Roles of configured users.
const (
	// RoleAdmin may do anything, including managing streams.
	RoleAdmin = "admin"
	// RoleAgent is for agents: publish, read, acknowledge, status.
	RoleAgent = "agent"
	// RolePM is for project managers: what agents may, plus restarting agents and
	// starting and stopping monitors.
	RolePM = "pm"
	// RoleBridge is for a bridge host: it consumes only its own host's sessions and records
	// deliveries.
	RoleBridge = "bridge"
)

// User is a configured NKey user with a role.
type User struct {
	Name string `yaml:"name"`
	NKey string `yaml:"nkey"`
	Role string `yaml:"role"`
	// Host is the bridge host the user may consume for (role bridge only).
	Host string `yaml:"host"`
}

// Cluster configures routes to the other nodes.
type Cluster struct {
	Name   string   `yaml:"name"`
	Listen string   `yaml:"listen"`
	Routes []string `yaml:"routes"`
	// Replicas is the number of copies of every stream (default 3).
	Replicas int `yaml:"replicas"`
	// Advertise is the route address other nodes learn for this one when it is not the
	// listen address (behind NAT, or a proxy).
	Advertise string `yaml:"advertise"`
	// SecretFile holds the route secret every node of the cluster shares: routes
	// authenticate with it (as well as by certificate when TLS is on). It is required
	// without TLS and created (mode 0600) when missing.
	SecretFile string `yaml:"secret_file"`
}

// merge puts the fields o sets over c's, one by one (a flag can change one of them).
func (c *Cluster) merge(o Cluster) {
	for _, f := range []struct{ dst, src *string }{{&c.Name, &o.Name}, {&c.Listen, &o.Listen}, {&c.Advertise, &o.Advertise}, {&c.SecretFile, &o.SecretFile}} {
		if *f.src != "" {
			*f.dst = *f.src
		}
	}
	if len(o.Routes) > 0 {
		c.Routes = o.Routes
	}
	if o.Replicas != 0 {
		c.Replicas = o.Replicas
	}
}

// Enabled reports whether the node is part of a cluster.
func (c Cluster) Enabled() bool { return c.Name != "" || c.Listen != "" || len(c.Routes) > 0 }

// Websocket configures NATS's WebSocket listener (off unless Listen is set).
type Websocket struct {
	Listen string `yaml:"listen"`
}

// ClientConfig is what local commands use to connect; the daemon writes it to the
// connection file.
type ClientConfig struct {
	Creds string `yaml:"creds"`
	Cert  string `yaml:"cert"`
	Key   string `yaml:"key"`
}

var hostTokenRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// isLoopback reports whether the host of host:port is a loopback address.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}

// routeIsLoopback reports whether a route URL such as nats://127.0.0.1:6222 names a
// loopback host.
func routeIsLoopback(route string) bool {
	u, err := url.Parse(route)
	if err != nil || u.Host == "" {
		return false
	}
	return isLoopback(u.Host)
}

func checkHostPort(key, addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%w: %s %q: want host:port", ErrConfig, key, addr)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return fmt.Errorf("%w: %s %q: port must be 0-65535", ErrConfig, key, addr)
	}
	return nil
}

// validateSecurity checks TLS, users, the cluster and WebSocket, and refuses a listener
// off loopback without TLS and authentication unless AllowInsecure.
func (c *Config) validateSecurity() error {
	if c.HostName != "" && !hostTokenRE.MatchString(c.HostName) {
		return fmt.Errorf("%w: host_name %q: want 1-64 letters, digits, '-' or '_'", ErrConfig, c.HostName)
	}
	if c.TLS.Enabled() {
		files := []struct{ key, path string }{{"tls.cert", c.TLS.Cert}, {"tls.key", c.TLS.Key}, {"tls.ca", c.TLS.CA}}
		for _, f := range files {
			if f.path == "" {
				return fmt.Errorf("%w: %s is required when tls is configured (cert, key and ca)", ErrConfig, f.key)
			}
		}
		for _, f := range files {
			if _, err := os.Stat(f.path); err != nil {
				return fmt.Errorf("%w: %s: %w", ErrConfig, f.key, err)
			}
		}
	}
	names := map[string]bool{}
	for i, u := range c.Users {
		where := fmt.Sprintf("users[%d]", i)
		if u.Name != "" {
			where = fmt.Sprintf("user %q", u.Name)
			if names[u.Name] {
				return fmt.Errorf("%w: %s appears twice", ErrConfig, where)
			}
			names[u.Name] = true
		}
		if !nkeys.IsValidPublicUserKey(u.NKey) {
			return fmt.Errorf("%w: %s: nkey %q is not an NKey user public key (it starts with U; tmux-orc cluster init generates them)", ErrConfig, where, u.NKey)
		}
		switch u.Role {
		case RoleAdmin, RoleAgent, RolePM:
			if u.Host != "" {
				return fmt.Errorf("%w: %s: host is only for role bridge", ErrConfig, where)
			}
		case RoleBridge:
			if !hostTokenRE.MatchString(u.Host) {
				return fmt.Errorf("%w: %s: role bridge needs host, 1-64 letters, digits, '-' or '_' (got %q)", ErrConfig, where, u.Host)
			}
		default:
			return fmt.Errorf("%w: %s: role %q: want admin, pm, agent or bridge", ErrConfig, where, u.Role)
		}
	}
	secure := c.TLS.Enabled() && len(c.Users) > 0
	why := "without tls and users (set both, or allow_insecure: true / --allow-insecure to accept plain-text, unauthenticated traffic off this machine)"
	if err := checkHostPort("listen", c.Listen); err != nil {
		return err
	}
	if !isLoopback(c.Listen) && !secure && !c.AllowInsecure {
		return fmt.Errorf("%w: listen %q is not a loopback address; refused %s", ErrConfig, c.Listen, why)
	}
	if cl := c.Cluster; cl.Enabled() {
		if !nameOK(cl.Name) {
			return fmt.Errorf("%w: cluster.name %q: must be 1-128 printable characters without spaces, dots or wildcards", ErrConfig, cl.Name)
		}
		if err := checkHostPort("cluster.listen", cl.Listen); err != nil {
			return err
		}
		if len(cl.Routes) == 0 {
			return fmt.Errorf("%w: cluster.routes is empty: list every node's route URL (this one included)", ErrConfig)
		}
		if len(cl.Routes) < 2 {
			return fmt.Errorf("%w: cluster.routes names one node: a cluster needs at least two (three to survive the loss of one); for a single node leave out cluster", ErrConfig)
		}
		for _, r := range cl.Routes {
			if u, err := url.Parse(r); err != nil || u.Host == "" || strings.ContainsFunc(r, unicode.IsControl) {
				return fmt.Errorf("%w: cluster.routes: %q: want a URL such as nats://h2:6222", ErrConfig, r)
			}
			if !strings.Contains(r, "://") {
				return fmt.Errorf("%w: cluster.routes: %q: want a URL such as nats://h2:6222", ErrConfig, r)
			}
		}
		if cl.Replicas < 1 || cl.Replicas > 5 {
			return fmt.Errorf("%w: cluster.replicas %d: want 1 to 5 (3 is the usual)", ErrConfig, cl.Replicas)
		}
		if cl.Replicas > len(cl.Routes) {
			return fmt.Errorf("%w: cluster.replicas %d is more than the %d nodes in cluster.routes", ErrConfig, cl.Replicas, len(cl.Routes))
		}
		if !c.TLS.Enabled() {
			// Without TLS the route secret travels in plain text: only on this machine.
			if !isLoopback(cl.Listen) {
				return fmt.Errorf("%w: cluster.listen %q is not a loopback address; a cluster without tls runs on loopback only (with tls, routes authenticate by certificate; allow_insecure does not apply to routes)", ErrConfig, cl.Listen)
			}
			for _, r := range cl.Routes {
				if !routeIsLoopback(r) {
					return fmt.Errorf("%w: cluster.routes: %q is not a loopback address; a cluster without tls runs on loopback only (routes authenticate by certificate with tls)", ErrConfig, r)
				}
			}
			if cl.Advertise != "" && !isLoopback(cl.Advertise) {
				return fmt.Errorf("%w: cluster.advertise %q is not a loopback address; a cluster without tls runs on loopback only", ErrConfig, cl.Advertise)
			}
			if cl.SecretFile == "" {
				return fmt.Errorf("%w: a cluster without tls needs a route secret: give every node the same --cluster-secret FILE (cluster.secret_file; created when missing) so that no stranger can join as a route", ErrConfig)
			}
		}
	}
	if c.Websocket.Listen != "" {
		if err := checkHostPort("websocket.listen", c.Websocket.Listen); err != nil {
			return err
		}
		if _, port, _ := net.SplitHostPort(c.Websocket.Listen); port == "0" {
			return fmt.Errorf("%w: websocket.listen %q: give a port (0 is not supported)", ErrConfig, c.Websocket.Listen)
		}
		if !isLoopback(c.Websocket.Listen) && !secure && !c.AllowInsecure {
			return fmt.Errorf("%w: websocket.listen %q is not a loopback address; refused %s", ErrConfig, c.Websocket.Listen, why)
		}
	}
	return nil
}
