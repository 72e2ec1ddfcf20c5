package monitor_test

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestStatusRedactsStartCommands starts a pane whose command line carries an API key in an
// environment assignment and a token in a flag: the monitor's status (what `status` and
// `monitor status` print, in JSON too) shows the command with both masked.
func TestStatusRedactsStartCommands(t *testing.T) {
	w := newWorld(t)
	w.agent("alpha:dev", "")
	w.tmux("new-window", "-d", "-t", "alpha:", "-n", "keyed", "env ANTHROPIC_API_KEY=sk-ant-api03-secretsecret sh -c 'sleep 600' x --token=hunter2")
	w.start()
	var start string
	waitFor(t, "the keyed pane in the status", func() bool {
		for _, a := range w.mon.Status().Agents {
			if a.Window == "keyed" && a.StartCommand != "" {
				start = a.StartCommand
				return true
			}
		}
		return false
	})
	b, err := json.Marshal(w.mon.Status())
	if err != nil {
		t.Fatal(err)
	}
	for _, shown := range []string{start, string(b)} {
		for _, secret := range []string{"secretsecret", "hunter2"} {
			if strings.Contains(shown, secret) {
				t.Errorf("the status shows %q: %s", secret, shown)
			}
		}
	}
	if !strings.Contains(start, "ANTHROPIC_API_KEY=***") || !strings.Contains(start, "--token=***") {
		t.Errorf("start command %q: want the key and the token masked", start)
	}
}
