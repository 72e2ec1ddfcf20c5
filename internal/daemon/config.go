package daemon

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tmux-orc/tmux-orc/bridge"
	"github.com/tmux-orc/tmux-orc/embedded"
	"github.com/tmux-orc/tmux-orc/internal/home"
	"github.com/tmux-orc/tmux-orc/internal/monitor"
	"github.com/tmux-orc/tmux-orc/internal/notify"
	"github.com/tmux-orc/tmux-orc/subjects"
	"github.com/tmux-orc/tmux-orc/tmux"
)

// Environment variables that configure the daemon: they override config.yaml, and the flags
// override them.
const (
	EnvListen = "TMUX_ORC_LISTEN"
	EnvPort   = "TMUX_ORC_PORT"
	// EnvMetricsListen sets where /metrics and /healthz are served; "off" disables them.
	EnvMetricsListen = "TMUX_ORC_METRICS_LISTEN"
	// EnvTmuxSocket selects the tmux server (a -L name, or a socket path when it contains '/').
	EnvTmuxSocket = "TMUX_ORC_TMUX_SOCKET"
	// EnvHost sets this host's name (host_name).
	EnvHost = subjects.EnvHost
)

// Config is the whole configuration of `tmux-orc daemon start`, the schema of config.yaml:
// the embedded server's settings at the top level, the tmux server, and the bridge, monitor
// and notify sections. It is built in layers, each a Config that sets only what it says
// (nil pointers, empty strings and zeros are unset): DefaultConfig, then LoadFile, then
// FromEnv, then the flags, each merged over the last with Merge, then Validate.
type Config struct {
	embedded.Config `yaml:",inline"`
	// TmuxSocket is the tmux server of the bridge, the monitor and the tmux notifications: a
	// -L name, or a socket path when it contains '/'. "" is the tmux server the daemon was
	// started in ($TMUX), else tmux's default server.
	TmuxSocket string `yaml:"tmux_socket"`
	// Bridge delivers messages into the panes of that tmux server.
	Bridge BridgeConfig `yaml:"bridge"`
	// Monitor watches the agents of that tmux server.
	Monitor MonitorConfig `yaml:"monitor"`
	// Notify says where alerts for people go besides the PM's pane.
	Notify NotifyConfig `yaml:"notify"`
	// Port, in a layer (--port, $TMUX_ORC_PORT), replaces the port of the listen address
	// merged so far; Merge applies it and does not keep it.
	Port *int `yaml:"-"`
}

// BridgeConfig is the bridge section of config.yaml.
type BridgeConfig struct {
	// Enabled runs the bridge inside the daemon (true by default; --no-bridge).
	Enabled *bool `yaml:"enabled"`
	// EnterDelay is the pause between typing a message and pressing Enter.
	EnterDelay *time.Duration `yaml:"enter_delay"`
	// Expiry is how long a message waits for its target pane to appear.
	Expiry *time.Duration `yaml:"expiry"`
	// LowBatch is the window in which low-priority messages for a pane become one injection.
	LowBatch *time.Duration `yaml:"low_batch"`
	// ReadyWait is how long a message waits for its pane to be ready.
	ReadyWait *time.Duration `yaml:"ready_wait"`
}

// MonitorConfig is the monitor section of config.yaml.
type MonitorConfig struct {
	// Enabled starts the monitor with the daemon (true by default; --no-monitor). Off, the
	// daemon still hosts it: `tmux-orc monitor start` starts it.
	Enabled *bool `yaml:"enabled"`
	// IdleAfter: an agent whose screen has not changed this long is reported idle.
	IdleAfter *time.Duration `yaml:"idle_after"`
	// StuckAfter: a dialog, rate limit or unsubmitted text shown this long is reported stuck.
	StuckAfter *time.Duration `yaml:"stuck_after"`
	// AutoRestart restarts crashed agents (with backoff, at most 3 times).
	AutoRestart *bool `yaml:"auto_restart"`
	// TurnFinished tells the session's management when an agent with hooks ends a turn;
	// TurnCoalesce makes the turn ends of one agent within it one notice.
	TurnFinished *bool          `yaml:"turn_finished"`
	TurnCoalesce *time.Duration `yaml:"turn_coalesce"`
	// EscalateAfter: an alert that needs an acknowledgement and has none this long is sent
	// again one priority higher.
	EscalateAfter *time.Duration `yaml:"escalate_after"`
}

// NotifyConfig is the notify section of config.yaml.
type NotifyConfig struct {
	// MinPriority: alerts at this priority or more urgent are sent ("high" when empty).
	MinPriority string `yaml:"min_priority"`
	// Command runs with sh -c per alert (text on stdin and in $TMUX_ORC_TEXT).
	Command string `yaml:"command"`
	// Webhook gets a JSON POST per alert; Slack makes it {"text": ...}.
	Webhook string `yaml:"webhook"`
	Slack   *bool  `yaml:"slack"`
	// Tmux shows alerts in the clients attached to the daemon's tmux server (on unless false).
	Tmux *bool `yaml:"tmux"`
	// PerMinute bounds the alerts sent per minute (6 when 0).
	PerMinute int `yaml:"per_minute"`
}

// DefaultConfig is the configuration without file, environment or flags.
func DefaultConfig(dir home.Dir) Config {
	return Config{Config: embedded.DefaultConfig(dir), Bridge: DefaultBridgeConfig(), Monitor: DefaultMonitorConfig(),
		Notify: NotifyConfig{Slack: ptr(false), Tmux: ptr(true)}}
}

// DefaultBridgeConfig is the bridge section's defaults (those of bridge.DefaultConfig).
func DefaultBridgeConfig() BridgeConfig {
	d := bridge.DefaultConfig(tmux.Socket{}, "")
	return BridgeConfig{Enabled: ptr(true), EnterDelay: ptr(d.EnterDelay), Expiry: ptr(d.Expiry), LowBatch: ptr(d.LowBatch), ReadyWait: ptr(d.ReadyWait)}
}

// DefaultMonitorConfig is the monitor section's defaults (those of monitor.DefaultConfig).
func DefaultMonitorConfig() MonitorConfig {
	d := monitor.DefaultConfig(tmux.Socket{}, "")
	return MonitorConfig{Enabled: ptr(true), IdleAfter: ptr(d.IdleAfter), StuckAfter: ptr(d.StuckAfter), AutoRestart: ptr(d.AutoRestart),
		TurnFinished: ptr(d.TurnFinished), TurnCoalesce: ptr(d.TurnCoalesce), EscalateAfter: ptr(d.EscalateAfter)}
}

// LoadFile reads the layer of a config.yaml; a missing file is an empty layer. Unknown keys
// are errors.
func LoadFile(path string) (Config, error) {
	var c Config
	err := embedded.DecodeFile(path, &c)
	return c, err
}

// FromEnv reads the layer of the environment variables (Env*), looked up with getenv.
func FromEnv(getenv func(string) string) (Config, error) {
	var c Config
	c.Listen = getenv(EnvListen)
	if v := getenv(EnvPort); v != "" {
		p, err := strconv.Atoi(v)
		if err != nil {
			return c, fmt.Errorf("%w: %s=%q is not a port number", embedded.ErrConfig, EnvPort, v)
		}
		c.Port = &p
	}
	c.MetricsListen = getenv(EnvMetricsListen)
	c.TmuxSocket = getenv(EnvTmuxSocket)
	c.HostName = getenv(EnvHost)
	return c, nil
}

// Merge puts what the layer o sets over c.
func (c *Config) Merge(o Config) {
	c.Config.Merge(o.Config)
	if o.Port != nil {
		c.SetPort(*o.Port)
	}
	set(&c.TmuxSocket, o.TmuxSocket)
	b, ob := &c.Bridge, o.Bridge
	setPtr(&b.Enabled, ob.Enabled)
	for _, d := range []struct{ dst, src **time.Duration }{{&b.EnterDelay, &ob.EnterDelay}, {&b.Expiry, &ob.Expiry},
		{&b.LowBatch, &ob.LowBatch}, {&b.ReadyWait, &ob.ReadyWait}} {
		setPtr(d.dst, *d.src)
	}
	m, om := &c.Monitor, o.Monitor
	for _, f := range []struct{ dst, src **bool }{{&m.Enabled, &om.Enabled}, {&m.AutoRestart, &om.AutoRestart}, {&m.TurnFinished, &om.TurnFinished}} {
		setPtr(f.dst, *f.src)
	}
	for _, d := range []struct{ dst, src **time.Duration }{{&m.IdleAfter, &om.IdleAfter}, {&m.StuckAfter, &om.StuckAfter},
		{&m.TurnCoalesce, &om.TurnCoalesce}, {&m.EscalateAfter, &om.EscalateAfter}} {
		setPtr(d.dst, *d.src)
	}
	n, on := &c.Notify, o.Notify
	set(&n.MinPriority, on.MinPriority)
	set(&n.Command, on.Command)
	set(&n.Webhook, on.Webhook)
	setPtr(&n.Slack, on.Slack)
	setPtr(&n.Tmux, on.Tmux)
	set(&n.PerMinute, on.PerMinute)
}

// Validate checks the merged configuration and says what is wrong (wrapping
// embedded.ErrConfig). It sanitizes the host name and fills in the cluster's replicas.
func (c *Config) Validate() error {
	c.HostName = subjects.SanitizeHost(c.HostName)
	if err := c.Config.Validate(); err != nil {
		return err
	}
	if _, err := c.Bridge.Resolve(c.Socket(), c.HostName); err != nil {
		return err
	}
	if _, err := c.Monitor.Resolve(c.Socket(), c.HostName); err != nil {
		return err
	}
	if p := c.Notify.MinPriority; p != "" {
		if _, err := subjects.ParsePriority(p); err != nil {
			return fmt.Errorf("%w: notify: min_priority: %w", embedded.ErrConfig, err)
		}
	}
	if c.Notify.PerMinute < 0 {
		return fmt.Errorf("%w: notify: per_minute must be positive", embedded.ErrConfig)
	}
	if w := c.Notify.Webhook; w != "" && !strings.HasPrefix(w, "http://") && !strings.HasPrefix(w, "https://") {
		return fmt.Errorf("%w: notify: webhook %q: want an http:// or https:// URL", embedded.ErrConfig, w)
	}
	return nil
}

// Socket is the tmux server of the bridge, the monitor and the tmux notifications.
func (c *Config) Socket() tmux.Socket { return tmux.ParseSocket(c.TmuxSocket) }

// Options turns the validated configuration into what Run starts besides the server: the
// bridge (unless disabled), the monitor (stopped when disabled) and the notifier, all for
// c.HostName and c.Socket().
func (c *Config) Options() (Options, error) {
	var o Options
	sock, host := c.Socket(), c.HostName
	if get(c.Bridge.Enabled) {
		b, err := c.Bridge.Resolve(sock, host)
		if err != nil {
			return o, err
		}
		o.Bridge = &b
	}
	m, err := c.Monitor.Resolve(sock, host)
	if err != nil {
		return o, err
	}
	o.Monitor, o.MonitorOff = &m, !get(c.Monitor.Enabled)
	o.Notify = c.notifyConfig(o.Bridge != nil)
	return o, nil
}

// Resolve turns the section into the bridge's configuration for the tmux server sock on host.
func (b BridgeConfig) Resolve(sock tmux.Socket, host string) (bridge.Config, error) {
	cfg := bridge.DefaultConfig(sock, host)
	setFrom(&cfg.EnterDelay, b.EnterDelay)
	setFrom(&cfg.Expiry, b.Expiry)
	setFrom(&cfg.LowBatch, b.LowBatch)
	setFrom(&cfg.ReadyWait, b.ReadyWait)
	if cfg.LowBatch < 0 || cfg.LowBatch > 500*time.Millisecond {
		return cfg, fmt.Errorf("%w: bridge: low_batch (--low-batch) %s: want 0 to 500ms", embedded.ErrConfig, cfg.LowBatch)
	}
	if cfg.EnterDelay < 0 || cfg.Expiry <= 0 || cfg.ReadyWait < 0 {
		return cfg, fmt.Errorf("%w: bridge: enter_delay (--enter-delay) and ready_wait (--ready-wait) must not be negative, expiry (--expiry) must be positive", embedded.ErrConfig)
	}
	if err := cfg.Socket.Validate(); err != nil {
		return cfg, fmt.Errorf("%w: %w", embedded.ErrConfig, err)
	}
	return cfg, nil
}

// Resolve turns the section into the monitor's configuration for the tmux server sock on
// host (whether it starts running is Enabled's business, not the monitor's).
func (m MonitorConfig) Resolve(sock tmux.Socket, host string) (monitor.Config, error) {
	cfg := monitor.DefaultConfig(sock, host)
	setFrom(&cfg.IdleAfter, m.IdleAfter)
	setFrom(&cfg.StuckAfter, m.StuckAfter)
	setFrom(&cfg.AutoRestart, m.AutoRestart)
	setFrom(&cfg.TurnFinished, m.TurnFinished)
	setFrom(&cfg.TurnCoalesce, m.TurnCoalesce)
	setFrom(&cfg.EscalateAfter, m.EscalateAfter)
	if cfg.LongIdleAfter < cfg.IdleAfter {
		cfg.LongIdleAfter = 3 * cfg.IdleAfter
	}
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("%w: %w", embedded.ErrConfig, err)
	}
	return cfg, nil
}

// notifyConfig turns the notify section into the notifier's configuration (nil when it sends
// nowhere); the tmux sink needs the daemon's bridge and its tmux server.
func (c *Config) notifyConfig(bridged bool) *notify.Config {
	n := c.Notify
	out := notify.Config{Command: n.Command, Webhook: n.Webhook, Slack: get(n.Slack), PerMinute: n.PerMinute}
	if p, err := subjects.ParsePriority(n.MinPriority); err == nil {
		out.MinPriority = p
	}
	if bridged && (n.Tmux == nil || *n.Tmux) {
		sock := c.Socket()
		out.Tmux = &sock
	}
	if !out.Enabled() {
		return nil
	}
	return &out
}

func ptr[T any](v T) *T { return &v }

// get is *p, or the zero value for nil.
func get[T any](p *T) T {
	if p == nil {
		var zero T
		return zero
	}
	return *p
}

// set puts v in *dst unless v is the zero value (unset).
func set[T comparable](dst *T, v T) {
	var zero T
	if v != zero {
		*dst = v
	}
}

// setPtr puts v in *dst unless v is nil (unset).
func setPtr[T any](dst **T, v *T) {
	if v != nil {
		*dst = v
	}
}

// setFrom puts *v in *dst unless v is nil.
func setFrom[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}
