// Package embedded runs the NATS server with JetStream inside the tmux-orc daemon: it turns a
// Config into server options, locks the data directory, generates credentials, starts the
// server, waits until JetStream is ready, provisions the streams and shuts down in order.
// It knows nothing of tmux or the command line.
package embedded

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/tmux-orc/tmux-orc/internal/home"
	"github.com/tmux-orc/tmux-orc/subjects"
)

// DefaultPort is where the daemon listens unless told otherwise. It is not NATS's 4222, so
// the daemon does not collide with a NATS server the user already runs.
const DefaultPort = 14222

// DefaultMetricsListen is where the daemon serves Prometheus metrics and /healthz unless told
// otherwise: the port after DefaultPort.
const DefaultMetricsListen = "127.0.0.1:14223"

// ErrConfig is returned for an invalid configuration; it is bad input (subjects.ErrInvalid).
var ErrConfig = subjects.Invalid("invalid configuration")

// Config is the embedded server's configuration, the top level of config.yaml (daemon.Config
// adds the tmux server and the bridge, monitor and notify sections). Zero values take the
// defaults of DefaultConfig.
type Config struct {
	// Home is the data directory.
	Home home.Dir `yaml:"-"`
	// Listen is the client listener, host:port. Port 0 picks a free port.
	Listen string `yaml:"listen"`
	// ServerName names this server; it must be unique and stable in a cluster.
	ServerName string `yaml:"server_name"`
	// Sync is "always" (fsync before every acknowledgement) or a duration between fsyncs.
	Sync string `yaml:"sync"`
	// MaxStore caps the JetStream file store, e.g. "2GiB".
	MaxStore Size `yaml:"max_store"`
	// Duplicates is the window in which a repeated message id is stored once.
	Duplicates time.Duration `yaml:"duplicates"`
	// Limits holds the per-priority stream limits, keyed by priority name.
	Limits map[string]Limits `yaml:"limits"`
	// AckLimits bounds the acknowledgement stream.
	AckLimits Limits `yaml:"ack_limits"`
	// NATSContext is the name of the nats CLI context the daemon writes ("" for none).
	NATSContext string `yaml:"nats_context"`
	// MetricsListen is where /metrics and /healthz are served, a loopback host:port (port 0
	// picks a free port), or "off" (or "") for nowhere. In a config file "" means unset.
	MetricsListen string `yaml:"metrics_listen"`

	// HostName is this host's name in host-qualified targets (h1.backend:2). DefaultConfig
	// takes the machine's host name, sanitized; the CLI applies $TMUX_ORC_HOST and --host.
	HostName string `yaml:"host_name"`
	// AllowInsecure accepts a listener off loopback without TLS and users.
	AllowInsecure bool `yaml:"allow_insecure"`
	// TLS secures client, route and WebSocket connections.
	TLS TLS `yaml:"tls"`
	// Users are NKey users with roles, the same on every node of a cluster. The data
	// directory's own user (auth/orc-user.nk) is always allowed everything on this node.
	Users []User `yaml:"users"`
	// Cluster, when set, makes the node part of a NATS cluster with replicated streams.
	Cluster Cluster `yaml:"cluster"`
	// Websocket is NATS's WebSocket listener, off unless its listen address is set.
	Websocket Websocket `yaml:"websocket"`
	// Client is what local commands use to connect (written to the connection file).
	Client ClientConfig `yaml:"client"`
}

// Limits bound one stream. When a stream with DiscardNew is full, publishing to it fails
// loudly instead of evicting unread messages.
type Limits struct {
	MaxMsgs    int64         `yaml:"max_msgs"`
	MaxBytes   Size          `yaml:"max_bytes"`
	MaxAge     time.Duration `yaml:"max_age"`
	DiscardNew *bool         `yaml:"discard_new"`
}

// DefaultNATSContext names the nats CLI context a daemon writes: "tmux-orc" for the
// default data directory (~/.tmux-orchestrator), else "tmux-orc-<parent>-<dir>" from the
// data directory's last two path elements (e.g. tmux-orc-n1-home for /tmp/orc/n1/home), so
// that daemons on other data directories do not overwrite each other's.
func DefaultNATSContext(dir home.Dir) string {
	if h, err := os.UserHomeDir(); err == nil && filepath.Clean(string(dir)) == filepath.Join(h, ".tmux-orchestrator") {
		return "tmux-orc"
	}
	d := filepath.Clean(string(dir))
	name := sanitizeName(filepath.Base(filepath.Dir(d))) + "-" + sanitizeName(filepath.Base(d))
	return "tmux-orc-" + strings.Trim(name, "_-")
}

// DefaultConfig is the single-host default.
func DefaultConfig(dir home.Dir) Config {
	yes, no := true, false
	host, _ := os.Hostname()
	return Config{
		Home:       dir,
		Listen:     net.JoinHostPort("127.0.0.1", strconv.Itoa(DefaultPort)),
		ServerName: "tmux-orc-" + sanitizeName(host),
		HostName:   subjects.SanitizeHost(host),
		Sync:       "always",
		MaxStore:   4 << 30,
		Duplicates: 10 * time.Minute,
		Limits: map[string]Limits{
			"critical": {MaxMsgs: 100_000, MaxBytes: 512 << 20, MaxAge: 30 * 24 * time.Hour, DiscardNew: &yes},
			"high":     {MaxMsgs: 100_000, MaxBytes: 512 << 20, MaxAge: 30 * 24 * time.Hour, DiscardNew: &yes},
			"normal":   {MaxMsgs: 200_000, MaxBytes: 512 << 20, MaxAge: 14 * 24 * time.Hour, DiscardNew: &no},
			"low":      {MaxMsgs: 100_000, MaxBytes: 256 << 20, MaxAge: 7 * 24 * time.Hour, DiscardNew: &no},
		},
		AckLimits:     Limits{MaxMsgs: 1_000_000, MaxBytes: 512 << 20, MaxAge: 30 * 24 * time.Hour, DiscardNew: &no},
		NATSContext:   DefaultNATSContext(dir),
		MetricsListen: DefaultMetricsListen,
	}
}

// LoadFile merges a YAML configuration file into c. A missing file is not an error.
func (c *Config) LoadFile(path string) error {
	var fc Config
	if err := DecodeFile(path, &fc); err != nil {
		return err
	}
	c.Merge(fc)
	return nil
}

// DecodeFile decodes the YAML file at path into v, refusing unknown keys. A missing file
// leaves v as it is.
func DecodeFile(path string, v any) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading config: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: %s: %w", ErrConfig, path, err)
	}
	return nil
}

// Merge puts the settings o sets over c's: a zero value in o (an empty string, 0, nil)
// leaves c's; a true AllowInsecure stays true. Defaults, then the file, then the
// environment, then the flags are merged this way.
func (c *Config) Merge(o Config) {
	if o.Listen != "" {
		c.Listen = o.Listen
	}
	if o.ServerName != "" {
		c.ServerName = o.ServerName
	}
	if o.Sync != "" {
		c.Sync = o.Sync
	}
	if o.MaxStore != 0 {
		c.MaxStore = o.MaxStore
	}
	if o.Duplicates != 0 {
		c.Duplicates = o.Duplicates
	}
	if c.Limits == nil && len(o.Limits) > 0 {
		c.Limits = map[string]Limits{}
	}
	for name, l := range o.Limits {
		c.Limits[name] = mergeLimits(c.Limits[name], l)
	}
	c.AckLimits = mergeLimits(c.AckLimits, o.AckLimits)
	if o.NATSContext != "" {
		c.NATSContext = o.NATSContext
	}
	if o.MetricsListen != "" {
		c.MetricsListen = o.MetricsListen
	}
	if o.HostName != "" {
		c.HostName = o.HostName
	}
	c.AllowInsecure = c.AllowInsecure || o.AllowInsecure
	if o.TLS.Enabled() {
		c.TLS = o.TLS
	}
	if len(o.Users) > 0 {
		c.Users = o.Users
	}
	c.Cluster.merge(o.Cluster)
	if o.Websocket.Listen != "" {
		c.Websocket = o.Websocket
	}
	if o.Client != (ClientConfig{}) {
		c.Client = o.Client
	}
}

func mergeLimits(base, o Limits) Limits {
	if o.MaxMsgs != 0 {
		base.MaxMsgs = o.MaxMsgs
	}
	if o.MaxBytes != 0 {
		base.MaxBytes = o.MaxBytes
	}
	if o.MaxAge != 0 {
		base.MaxAge = o.MaxAge
	}
	if o.DiscardNew != nil {
		base.DiscardNew = o.DiscardNew
	}
	return base
}

// Validate checks the configuration and says what is wrong. It fills in the cluster's
// replicas when unset.
func (c *Config) Validate() error {
	if c.Home == "" {
		return fmt.Errorf("%w: no data directory", ErrConfig)
	}
	if c.Cluster.Enabled() && c.Cluster.Replicas == 0 {
		c.Cluster.Replicas = min(3, len(c.Cluster.Routes))
	}
	if err := c.validateSecurity(); err != nil {
		return err
	}
	if !c.MetricsOff() {
		if err := checkLoopback("metrics_listen", c.MetricsListen, "(the endpoint has no authentication; \"off\" disables it)"); err != nil {
			return err
		}
	}
	if _, _, err := c.syncPolicy(); err != nil {
		return err
	}
	for name := range c.Limits {
		if _, err := subjects.ParsePriority(name); err != nil {
			return fmt.Errorf("%w: limits: %w", ErrConfig, err)
		}
	}
	for _, p := range subjects.Priorities {
		l := c.Limits[p.String()]
		if l.MaxMsgs <= 0 || l.MaxBytes <= 0 || l.MaxAge <= 0 {
			return fmt.Errorf("%w: limits for %s must be positive (max_msgs, max_bytes, max_age)", ErrConfig, p)
		}
	}
	if !nameOK(c.ServerName) {
		return fmt.Errorf("%w: server_name %q: must be 1-128 printable characters without spaces, dots or wildcards", ErrConfig, c.ServerName)
	}
	return nil
}

// nameOK accepts a server or cluster name: 1-128 bytes of valid UTF-8, no control
// characters, spaces, dots or wildcards (they would break the server's configuration or
// its subjects).
func nameOK(s string) bool {
	if s == "" || len(s) > 128 || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) || unicode.IsSpace(r) || strings.ContainsRune(".*>", r) || !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// MetricsOff reports whether the metrics server is disabled.
func (c *Config) MetricsOff() bool { return c.MetricsListen == "" || c.MetricsListen == "off" }

// checkLoopback accepts a loopback host:port with a port in 0-65535.
func checkLoopback(key, addr, why string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%w: %s %q: want host:port", ErrConfig, key, addr)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return fmt.Errorf("%w: %s %q: port must be 0-65535", ErrConfig, key, addr)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("%w: %s %q: only loopback addresses are allowed %s", ErrConfig, key, addr, why)
	}
	return nil
}

// syncPolicy returns (always, interval).
func (c *Config) syncPolicy() (bool, time.Duration, error) {
	if c.Sync == "always" {
		return true, 0, nil
	}
	d, err := time.ParseDuration(c.Sync)
	if err != nil || d <= 0 {
		return false, 0, fmt.Errorf("%w: sync %q: want \"always\" or a duration such as 1s", ErrConfig, c.Sync)
	}
	return false, d, nil
}

// SetPort replaces the port of the listen address.
func (c *Config) SetPort(port int) {
	host, _, err := net.SplitHostPort(c.Listen)
	if err != nil {
		host = "127.0.0.1"
	}
	c.Listen = net.JoinHostPort(host, strconv.Itoa(port))
}

func sanitizeName(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r == '-' || r == '_' || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || ('0' <= r && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return "local"
	}
	return b.String()
}
