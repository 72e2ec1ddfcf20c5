package embedded_test

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/tmux-orc/tmux-orc/embedded"
	"github.com/tmux-orc/tmux-orc/internal/embeddedtest"
	"github.com/tmux-orc/tmux-orc/internal/home"
)

func TestMetricsListenConfig(t *testing.T) {
	dir := home.Dir(t.TempDir())
	cfg := embedded.DefaultConfig(dir)
	if cfg.MetricsListen != embedded.DefaultMetricsListen || cfg.MetricsOff() {
		t.Fatalf("default metrics_listen %q", cfg.MetricsListen)
	}
	for _, tc := range []struct {
		file, want string
		off        bool
	}{
		{"metrics_listen: 127.0.0.1:0\n", "127.0.0.1:0", false},
		{"metrics_listen: \"off\"\n", "off", true},
		{"metrics_listen: \"\"\n", embedded.DefaultMetricsListen, false}, // "" is unset in a file
		{"sync: 1s\n", embedded.DefaultMetricsListen, false},
	} {
		cfg := embedded.DefaultConfig(dir)
		os.WriteFile(dir.ConfigFile(), []byte(tc.file), 0o600)
		if err := cfg.LoadFile(dir.ConfigFile()); err != nil {
			t.Fatal(err)
		}
		if cfg.MetricsListen != tc.want || cfg.MetricsOff() != tc.off {
			t.Errorf("%q: metrics_listen %q (off %v), want %q (off %v)", tc.file, cfg.MetricsListen, cfg.MetricsOff(), tc.want, tc.off)
		}
		if err := cfg.Validate(); err != nil {
			t.Errorf("%q: %v", tc.file, err)
		}
	}
	for addr, want := range map[string]string{
		"0.0.0.0:14223":   `metrics_listen "0.0.0.0:14223": only loopback addresses are allowed`,
		"10.1.2.3:9100":   "only loopback",
		"127.0.0.1":       "want host:port",
		"127.0.0.1:99999": "port must be",
	} {
		cfg := embedded.DefaultConfig(dir)
		cfg.MetricsListen = addr
		if err := cfg.Validate(); !errors.Is(err, embedded.ErrConfig) || !strings.Contains(err.Error(), want) {
			t.Errorf("metrics_listen %q: %v, want %q", addr, err, want)
		}
	}
}

func TestMetricsURLInConnInfoAndStatus(t *testing.T) {
	cfg := embeddedtest.Config(t)
	srv := embeddedtest.Start(t, cfg)
	if ci, err := cfg.Home.ReadConnInfo(); err != nil || ci.MetricsURL != "" {
		t.Fatalf("before: %+v %v", ci, err)
	}
	if err := srv.SetMetricsURL("http://127.0.0.1:39999"); err != nil {
		t.Fatal(err)
	}
	ci, err := cfg.Home.ReadConnInfo()
	if err != nil || ci.MetricsURL != "http://127.0.0.1:39999" || len(ci.URLs) != 1 || ci.PID != os.Getpid() {
		t.Fatalf("conn info %+v %v", ci, err)
	}
	if st := srv.Status(false); st.MetricsURL != "http://127.0.0.1:39999" {
		t.Fatalf("status metrics_url %q", st.MetricsURL)
	}
	if err := srv.Healthy(); err != nil {
		t.Fatalf("Healthy: %v", err)
	}
}
