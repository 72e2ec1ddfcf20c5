package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/subjects"
)

// registryGrace is how long agent send looks again for a target missing from the session
// registry before it gives up: a bridge registers a new session within about a second.
const registryGrace = 2 * time.Second

// registry is what the target check reads of the session registry (a *bus.Client).
type registry interface {
	SessionHosts(ctx context.Context, session string) ([]bus.SessionEntry, error)
	Sessions(ctx context.Context) ([]bus.SessionEntry, error)
}

// targetProblem says what is wrong with a published target that no bridge serves: "" when
// its session is registered (by the host it names), or the target is a group everywhere.
// The registry knows sessions, not windows: a window typo shows only in the outcome.
func targetProblem(ctx context.Context, c registry, a subjects.Address, grace time.Duration) string {
	if a.Everywhere() || a.Session == "" {
		return ""
	}
	deadline := time.Now().Add(grace)
	for {
		problem, err := lookupTarget(ctx, c, a)
		if err != nil || problem == "" {
			return "" // the registry could not say: no warning rather than a wrong one
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return problem
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func lookupTarget(ctx context.Context, c registry, a subjects.Address) (string, error) {
	entries, err := c.SessionHosts(ctx, a.Session)
	if err != nil {
		return "", err
	}
	for _, e := range entries {
		if a.Host == "" || e.Host == a.Host {
			return "", nil
		}
	}
	all, err := c.Sessions(ctx)
	if err != nil {
		return "", err
	}
	hostSessions := 0
	for _, e := range all {
		if e.Host == a.Host {
			hostSessions++
		}
	}
	switch {
	case len(entries) > 0:
		var hosts []string
		for _, e := range entries {
			hosts = append(hosts, e.Host)
		}
		return fmt.Sprintf("host %s has no tmux session %q (host %s has: did you mean %s.%s?)", a.Host, a.Session,
			strings.Join(hosts, ", "), hosts[0], a.Session), nil
	case hostSessions == 0 && a.Host != "":
		return fmt.Sprintf("no bridge serves host %s (it has registered no tmux session): is the daemon's bridge running, with the right --tmux-socket? (tmux-orc status)", a.Host), nil
	}
	return fmt.Sprintf("no host has a tmux session %q (tmux-orc status lists the agents)", a.Session), nil
}

// warnTarget prints, after a publish, that the target is unknown and how long the message
// will wait for it.
func warnTarget(ctx context.Context, f *factory, c *bus.Client, env *subjects.Envelope) {
	if p := targetProblem(ctx, c, env.Target, 0); p != "" {
		fmt.Fprintf(f.Err, "tmux-orc: warning: %s; message %s is stored and waits: a bridge delivers it if %s appears within its --expiry (10 minutes by default), else records it undeliverable\n",
			p, env.ID, env.Target)
	}
}
