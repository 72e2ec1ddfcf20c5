package monitor_test

import (
	"strings"
	"testing"

	"github.com/tmux-orc/tmux-orc/internal/monitor"
	"github.com/tmux-orc/tmux-orc/tmux"
)

// TestConfigNeedsAHost: the host is handed in by the caller; the monitor does not guess it
// from the environment, so a configuration without one (or with an invalid one) is refused.
func TestConfigNeedsAHost(t *testing.T) {
	sock := tmux.Socket{Name: "orc-unused"}
	for _, tc := range []struct{ host, err string }{
		{"h1", ""},
		{"", `host ""`},
		{"h1.example", `host "h1.example"`},
	} {
		err := monitor.DefaultConfig(sock, tc.host).Validate()
		if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("host %q: Validate = %v, want %q", tc.host, err, tc.err)
		}
	}
}
