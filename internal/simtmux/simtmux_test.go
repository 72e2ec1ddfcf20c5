package simtmux

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tmux-orc/tmux-orc/internal/agentstate"
	"github.com/tmux-orc/tmux-orc/tmux"
)

// TestPanesAnswerWhatTheBridgeAsks drives the simulated server through the same functions
// the bridge uses on a real tmux server: listing, the readiness gate's screen read, typing
// (short text by send-keys, long or multi-line text by a buffer) and Enter.
func TestPanesAnswerWhatTheBridgeAsks(t *testing.T) {
	ctx := context.Background()
	s := New("sim", 2, 3)
	panes, err := tmux.ListPanes(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if len(panes) != 6 || panes[4].Session != "sim-1" || panes[4].WindowIndex != 1 || panes[4].ID != "%4" || panes[4].Agent != "generic" {
		t.Fatalf("panes %+v", panes)
	}
	p := panes[4]
	ready := func() agentstate.Readiness {
		sc, err := agentstate.ReadScreen(ctx, s, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		return agentstate.Assess(p, sc, nil, time.Now(), time.Now())
	}
	if rd := ready(); !rd.Ready {
		t.Fatalf("an empty prompt is not ready: %+v", rd)
	}
	if err := tmux.SendText(ctx, s, p.ID, "hello 1"); err != nil {
		t.Fatal(err)
	}
	if rd := ready(); rd.Ready || rd.Blocker != agentstate.BlockDraft {
		t.Fatalf("a typed text is not seen in the prompt: %+v", rd)
	}
	if err := tmux.SendEnter(ctx, s, p.ID); err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("x", tmux.MaxKeysText) + "\nsecond line"
	if err := tmux.SendText(ctx, s, p.ID, long); err != nil {
		t.Fatal(err)
	}
	if err := tmux.SendEnter(ctx, s, p.ID); err != nil {
		t.Fatal(err)
	}
	prs := s.Panes()[4].Prompts()
	if len(prs) != 2 || prs[0].Text != "hello 1" || !strings.HasSuffix(prs[1].Text, "second line") {
		t.Fatalf("prompts %+v", prs)
	}
	if len(s.Panes()[3].Prompts()) != 0 {
		t.Fatal("another pane got input")
	}
	if rd := ready(); !rd.Ready {
		t.Fatalf("not ready after Enter: %+v", rd)
	}
	var ce *tmux.CommandError
	if _, err := s.Run(ctx, tmux.Cmd{"kill-server"}); !errors.As(err, &ce) {
		t.Fatalf("an unknown command: %v", err)
	}
	if err := tmux.SendText(ctx, s, "%99", "x"); err == nil {
		t.Fatal("typing into a pane that does not exist succeeded")
	}
}
