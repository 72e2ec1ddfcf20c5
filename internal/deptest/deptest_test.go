// Package deptest keeps the shape of the module true: which packages are public, and the
// direction of the dependencies between them, each rule with its reason.
package deptest

import (
	"os"
	"os/exec"
	"slices"
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

// TestTopLevel: the top level shows the design (cmd, embedded, subjects, bridge, deploy,
// loadtest) and the packages a Go user imports (bus, the client; tmux, which bridge.Config
// names); everything else is private, under internal/, where no other module can import it.
func TestTopLevel(t *testing.T) {
	want := []string{".ci", ".git", ".gitignore", "README.md", "bridge", "bus", "cmd", "deploy", "docker-compose.yml", "embedded",
		"go.mod", "go.sum", "internal", "loadtest", "subjects", "tmux"}
	entries, err := os.ReadDir("../..")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !slices.Contains(want, e.Name()) {
			t.Errorf("%s at the top level: a private package belongs under internal/ (or, if Go users import it, add it here with the reason)", e.Name())
		}
	}
}

func TestDependencyDirection(t *testing.T) {
	for _, tc := range []struct {
		pkg       string
		forbidden []string
		why       string
	}{
		{"subjects", []string{mod, "github.com/nats-io/", "github.com/spf13/cobra", "go.uber.org/zap"},
			"the language every side shares (subjects, envelope, ids): anyone can import it without a NATS client"},
		{"internal/home", []string{mod, "github.com/nats-io/", "github.com/spf13/cobra", "go.uber.org/zap"},
			"the data directory's layout, read by the client and the server alike"},
		{"internal/pki", []string{mod + "subjects", mod + "embedded", mod + "bus", mod + "internal/cli", "github.com/nats-io/", "github.com/spf13/", "golang.org/x/", "go.uber.org/", "gopkg.in/"},
			"certificates with the standard library only, so the CA can be audited alone"},
		{"bus", []string{"github.com/nats-io/nats-server", mod + "embedded", mod + "internal/cli", "github.com/spf13/cobra"},
			"the public client: a Go program that sends messages must not link the server or the command line"},
		{"embedded", []string{mod + "bus", mod + "internal/cli", "github.com/spf13/cobra"},
			"the server does not use its own client; the client is tested against it, not built into it"},
		{"internal/embeddedtest", []string{mod + "internal/cli", mod + "bridge", mod + "internal/monitor"},
			"starts a server (and a client) for tests, below everything that delivers"},
		{"bridge", []string{"github.com/nats-io/nats-server", mod + "embedded", mod + "internal/cli", mod + "internal/daemon", "github.com/spf13/cobra"},
			"a bridge runs on any host against a remote server, reached only through the client"},
		{"bridge", []string{mod + "internal/monitor"},
			"the bridge and the monitor are peers over internal/agentstate; neither drives the other"},
		{"tmux", []string{mod, "github.com/nats-io/"},
			"a tmux client and nothing of the bus, so it can be tested and reused alone"},
		{"internal/redact", []string{mod, "github.com/", "go.uber.org/", "gopkg.in/", "golang.org/x/"},
			"a leaf every printer can use"},
		{"internal/termsafe", []string{mod, "github.com/", "go.uber.org/", "gopkg.in/", "golang.org/x/"},
			"a leaf every printer can use"},
		{"internal/tmuxtest", []string{mod + "bus", mod + "bridge", mod + "internal/monitor", mod + "internal/cli", "github.com/nats-io/"},
			"test tmux servers, usable by every package that is tested against tmux"},
		{"internal/fakeapi", []string{mod, "github.com/", "go.uber.org/", "golang.org/x/"},
			"the stand-in for the Anthropic API knows nothing of what it tests"},
		{"internal/claudetest", []string{mod + "bus", mod + "bridge", mod + "internal/monitor", mod + "internal/cli", "github.com/nats-io/"},
			"runs the real Claude Code for the bridge's and the monitor's tests, so it cannot depend on them"},
		{"internal/agentsim", []string{"github.com/nats-io/", mod + "bus", mod + "bridge", mod + "internal/monitor", mod + "embedded"},
			"the fake agent is a program in a pane; it knows tmux at most, never the bus"},
		{"internal/metrics", []string{mod + "internal/cli", mod + "internal/daemon", mod + "bridge", "github.com/spf13/cobra"},
			"observers fed by the bridge and the monitor, not the other way"},
		{"internal/spool", []string{"github.com/nats-io/nats-server", mod + "internal/cli", mod + "embedded"},
			"the CLI's spool is read by the daemon through the client"},
		{"internal/monitor", []string{"github.com/nats-io/nats-server", mod + "embedded", mod + "internal/cli", mod + "internal/daemon", mod + "bridge", "github.com/spf13/cobra"},
			"the monitor runs beside any bridge against a remote server, reached only through the client"},
		{"internal/daemon", []string{mod + "internal/cli", "github.com/spf13/"},
			"the daemon's configuration lives in daemon, below the command line that fills it"},
		{"internal/agentstate", []string{mod + "bus", mod + "bridge", mod + "internal/monitor", mod + "internal/cli", mod + "internal/daemon", "github.com/nats-io/"},
			"the pane model both the bridge and the monitor use: below both, and knows tmux only"},
		{"internal/simtmux", []string{mod + "bus", mod + "bridge", mod + "internal/cli", mod + "internal/daemon", "github.com/nats-io/"},
			"simulated panes stand in for tmux only"},
		{"internal/notify", []string{"github.com/nats-io/nats-server", mod + "embedded", mod + "internal/cli", mod + "internal/daemon", mod + "bridge", mod + "internal/monitor", "github.com/spf13/cobra"},
			"alerts for people are a consumer of the bus like any other"},
		{"loadtest", []string{mod + "internal/cli", "github.com/spf13/cobra"},
			"loadtest is a black-box client of the whole system, run by the CLI, not part of it"},
	} {
		for _, d := range deps(t, tc.pkg) {
			if d == mod+tc.pkg {
				continue
			}
			for _, f := range tc.forbidden {
				if strings.HasPrefix(d, f) {
					t.Errorf("%s depends on %s (forbidden: %s): %s", tc.pkg, d, f, tc.why)
				}
			}
		}
	}
}
