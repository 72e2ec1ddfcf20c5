package daemon_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tmux-orc/tmux-orc/embedded"
	"github.com/tmux-orc/tmux-orc/internal/daemon"
	"github.com/tmux-orc/tmux-orc/internal/home"
	"github.com/tmux-orc/tmux-orc/subjects"
	"github.com/tmux-orc/tmux-orc/tmux"
)

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// TestConfigLayers merges defaults, a file, the environment and flags: each layer overrides
// what it sets and only that, zero values (0s, false) included.
func TestConfigLayers(t *testing.T) {
	dir := home.Dir(t.TempDir())
	file, err := daemon.LoadFile(writeConfig(t, `
listen: 127.0.0.1:5000
host_name: from-file
tmux_socket: file-sock
bridge:
  low_batch: 0s
  expiry: 3m
monitor:
  idle_after: 7m
  auto_restart: true
  turn_finished: false
notify:
  command: "true"
  tmux: false
cluster:
  name: c1
  listen: 127.0.0.1:6222
  routes: [nats://127.0.0.1:6222, nats://127.0.0.1:6223]
  secret_file: `+filepath.Join(string(dir), "secret")+`
`))
	if err != nil {
		t.Fatal(err)
	}
	envLayer, err := daemon.FromEnv(env(map[string]string{daemon.EnvPort: "5001", daemon.EnvHost: "from-env"}))
	if err != nil {
		t.Fatal(err)
	}
	idle, no, port := 20*time.Minute, false, 5002
	flags := daemon.Config{Port: &port}
	flags.Monitor.IdleAfter, flags.Monitor.AutoRestart = &idle, &no
	flags.Cluster.Replicas = 1

	cfg := daemon.DefaultConfig(dir)
	for _, l := range []daemon.Config{file, envLayer, flags} {
		cfg.Merge(l)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "127.0.0.1:5002" {
		t.Errorf("listen %q: want the file's host with the flag's port", cfg.Listen)
	}
	if cfg.HostName != "from-env" {
		t.Errorf("host %q: the environment overrides the file", cfg.HostName)
	}
	if cfg.Cluster.Name != "c1" || cfg.Cluster.Replicas != 1 || len(cfg.Cluster.Routes) != 2 {
		t.Errorf("cluster %+v: a flag changes one field of the file's cluster", cfg.Cluster)
	}
	o, err := cfg.Options()
	if err != nil {
		t.Fatal(err)
	}
	b, m := o.Bridge, o.Monitor
	if b == nil || b.LowBatch != 0 || b.Expiry != 3*time.Minute || b.EnterDelay != 150*time.Millisecond || b.Host != "from-env" || b.Socket != (tmux.Socket{Name: "file-sock"}) {
		t.Errorf("bridge %+v: want low batch 0 and expiry 3m from the file, the default enter delay, host from-env, socket file-sock", b)
	}
	if m == nil || m.IdleAfter != idle || m.AutoRestart || m.TurnFinished || m.LongIdleAfter != 60*time.Minute || m.Host != "from-env" || o.MonitorOff {
		t.Errorf("monitor %+v (off %v): want idle 20m (long idle 3 times that) and no auto restart from the flags, no turn notices from the file", m, o.MonitorOff)
	}
	if o.Notify == nil || o.Notify.Command != "true" || o.Notify.Tmux != nil {
		t.Errorf("notify %+v: want the file's command and no tmux sink", o.Notify)
	}

	off := false
	cfg.Merge(daemon.Config{Bridge: daemon.BridgeConfig{Enabled: &off}, Monitor: daemon.MonitorConfig{Enabled: &off}})
	if o, err := cfg.Options(); err != nil || o.Bridge != nil || !o.MonitorOff || o.Monitor == nil {
		t.Errorf("disabled: %+v, %v: want no bridge and a hosted, stopped monitor", o, err)
	}
}

// TestConfigErrors: a bad setting in any layer is an invalid configuration that names the
// key (and its flag).
func TestConfigErrors(t *testing.T) {
	dir := home.Dir(t.TempDir())
	for _, tc := range []struct{ file, want string }{
		{"bridge:\n  low_batch: 900ms\n", "low_batch (--low-batch) 900ms: want 0 to 500ms"},
		{"bridge:\n  expiry: 0s\n", "expiry (--expiry) must be positive"},
		{"monitor:\n  idle_after: 0s\n", "idle after must be positive"},
		{"monitor:\n  escalate_after: -1s\n", "escalate after must be positive"},
		{"monitor:\n  idel_after: 1m\n", "field idel_after not found"},
		{"notify:\n  min_priority: urgent\n", "notify: min_priority"},
		{"notify:\n  webhook: ftp://x\n", "want an http:// or https:// URL"},
	} {
		cfg := daemon.DefaultConfig(dir)
		file, err := daemon.LoadFile(writeConfig(t, tc.file))
		if err == nil {
			cfg.Merge(file)
			err = cfg.Validate()
		}
		if !errors.Is(err, embedded.ErrConfig) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want an invalid configuration saying %q", tc.file, err, tc.want)
		}
	}
	if _, err := daemon.FromEnv(env(map[string]string{daemon.EnvPort: "x"})); !errors.Is(err, embedded.ErrConfig) || !strings.Contains(err.Error(), "TMUX_ORC_PORT") {
		t.Errorf("bad $TMUX_ORC_PORT: %v", err)
	}
}

// TestConfigDefaults: without file, environment or flags the daemon runs its bridge and its
// monitor with their packages' defaults, for this host.
func TestConfigDefaults(t *testing.T) {
	t.Setenv("TMUX", "")
	cfg := daemon.DefaultConfig(home.Dir(t.TempDir()))
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	o, err := cfg.Options()
	if err != nil {
		t.Fatal(err)
	}
	if o.Bridge == nil || o.Bridge.ReadyWait != 2*time.Minute || o.Bridge.Socket != (tmux.Socket{Name: "default"}) || o.Bridge.Host != subjects.LocalHost() {
		t.Errorf("bridge %+v", o.Bridge)
	}
	if o.Monitor == nil || o.MonitorOff || o.Monitor.IdleAfter != 5*time.Minute || !o.Monitor.TurnFinished {
		t.Errorf("monitor %+v", o.Monitor)
	}
	if o.Notify == nil || o.Notify.Tmux == nil {
		t.Errorf("notify %+v: want the tmux status line by default", o.Notify)
	}
}
