// Package deptest keeps the dependency direction of the packages true: the language
// (subjects, home) depend on nothing of ours, pki only on home; clients never pull in the server.
package deptest

import (
	"os/exec"
	"strings"
	"testing"
)

const mod = "github.com/tmux-orc/tmux-orc/"

func deps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", mod+pkg).Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	return strings.Fields(string(out))
}

func TestDependencyDirection(t *testing.T) {
	for _, tc := range []struct {
		pkg       string
		forbidden []string
	}{
		{"subjects", []string{mod, "github.com/nats-io/", "github.com/spf13/cobra", "go.uber.org/zap"}},
		{"home", []string{mod, "github.com/nats-io/", "github.com/spf13/cobra", "go.uber.org/zap"}},
		{"pki", []string{mod + "subjects", mod + "embedded", mod + "bus", mod + "cli", "github.com/nats-io/", "github.com/spf13/", "golang.org/x/", "go.uber.org/", "gopkg.in/"}},
		{"bus", []string{"github.com/nats-io/nats-server", mod + "embedded", mod + "cli", "github.com/spf13/cobra"}},
		{"embedded", []string{mod + "bus", mod + "cli", "github.com/spf13/cobra"}},
		{"bridge", []string{"github.com/nats-io/nats-server", mod + "embedded", mod + "cli", mod + "daemon", "github.com/spf13/cobra"}},
		{"tmux", []string{mod, "github.com/nats-io/"}},
		{"internal/redact", []string{mod, "github.com/", "go.uber.org/", "gopkg.in/", "golang.org/x/"}},
		{"internal/termsafe", []string{mod, "github.com/", "go.uber.org/", "gopkg.in/", "golang.org/x/"}},
		{"internal/tmuxtest", []string{mod + "bus", mod + "bridge", mod + "monitor", mod + "cli", "github.com/nats-io/"}},
		{"internal/fakeapi", []string{mod, "github.com/", "go.uber.org/", "golang.org/x/"}},
		{"internal/claudetest", []string{mod + "bus", mod + "bridge", mod + "monitor", mod + "cli", "github.com/nats-io/"}},
		{"metrics", []string{mod + "cli", mod + "daemon", mod + "bridge", "github.com/spf13/cobra"}},
		{"spool", []string{"github.com/nats-io/nats-server", mod + "cli", mod + "embedded"}},
		{"monitor", []string{"github.com/nats-io/nats-server", mod + "embedded", mod + "cli", mod + "daemon", mod + "bridge", "github.com/spf13/cobra"}},
		{"bridge", []string{mod + "monitor"}},
		// The daemon's configuration lives in daemon, below the command line that fills it.
		{"daemon", []string{mod + "cli", "github.com/spf13/"}},
		{"internal/agentstate", []string{mod + "bus", mod + "bridge", mod + "monitor", mod + "cli", mod + "daemon", "github.com/nats-io/"}},
		{"internal/simtmux", []string{mod + "bus", mod + "bridge", mod + "cli", mod + "daemon", "github.com/nats-io/"}},
		{"internal/notify", []string{"github.com/nats-io/nats-server", mod + "embedded", mod + "cli", mod + "daemon", mod + "bridge", mod + "monitor", "github.com/spf13/cobra"}},
	} {
		for _, d := range deps(t, tc.pkg) {
			if d == mod+tc.pkg {
				continue
			}
			for _, f := range tc.forbidden {
				if strings.HasPrefix(d, f) {
					t.Errorf("%s depends on %s (forbidden: %s)", tc.pkg, d, f)
				}
			}
		}
	}
}
