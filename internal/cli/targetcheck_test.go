package cli

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/subjects"
)

// sessions is a session registry in memory (what bus.Client reads from the server's KV).
type sessions []bus.SessionEntry

func (s sessions) SessionHosts(_ context.Context, session string) ([]bus.SessionEntry, error) {
	var out []bus.SessionEntry
	for _, e := range s {
		if e.Session == session {
			out = append(out, e)
		}
	}
	return out, nil
}

func (s sessions) Sessions(context.Context) ([]bus.SessionEntry, error) { return s, nil }

type brokenRegistry struct{}

func (brokenRegistry) SessionHosts(context.Context, string) ([]bus.SessionEntry, error) {
	return nil, errors.New("registry down")
}
func (brokenRegistry) Sessions(context.Context) ([]bus.SessionEntry, error) { return nil, nil }

// TestTargetProblem: the warning after a publish says which of the four cases it is, and
// nothing when the registry cannot say.
func TestTargetProblem(t *testing.T) {
	reg := sessions{{Host: "h1", Session: "backend"}, {Host: "h2", Session: "frontend"}}
	ctx := context.Background()
	for _, tc := range []struct {
		target string
		want   string
	}{
		{"backend:1", ""},
		{"h1.backend:1", ""},
		{"h2.backend:1", `host h2 has no tmux session "backend" (host h1 has: did you mean h1.backend?)`},
		{"h3.backend:1", `host h3 has no tmux session "backend" (host h1 has`},
		{"h3.nosuch:1", "no bridge serves host h3"},
		{"h1.nosuch:1", `no host has a tmux session "nosuch"`},
		{"nosuch:1", `no host has a tmux session "nosuch"`},
	} {
		a, err := subjects.ParseTarget(tc.target)
		if err != nil {
			t.Fatal(err)
		}
		got := targetProblem(ctx, reg, a, 0)
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("%s: %q, want %q", tc.target, got, tc.want)
		}
	}
	a, _ := subjects.ParseTarget("nosuch:1")
	if got := targetProblem(ctx, brokenRegistry{}, a, 0); got != "" {
		t.Errorf("registry down: %q, want no warning rather than a wrong one", got)
	}
}
