package tmux

import (
	"context"
	"testing"
	"time"
)

// TestListPanesWithoutUTF8Locale lists panes from a process with no UTF-8 locale (a daemon
// under systemd, a test harness): tmux must not turn the field separators and non-ASCII
// names into '_'.
func TestListPanesWithoutUTF8Locale(t *testing.T) {
	t.Setenv("LANG", "")
	t.Setenv("LC_ALL", "C")
	t.Setenv("LC_CTYPE", "")
	s := newTestServer(t, "équipe 日本", "sleep 300")
	ctrl := s.dial(Options{NoOutput: true})
	for name, r := range map[string]Runner{"exec": s.exec, "control": ctrl} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		panes, err := ListPanes(ctx, r)
		cancel()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(panes) != 1 || panes[0].Session != "équipe 日本" {
			t.Fatalf("%s: panes %+v", name, panes)
		}
	}
}
