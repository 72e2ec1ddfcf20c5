package monitor

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/tmux-orc/tmux-orc/internal/agentstate"
	"github.com/tmux-orc/tmux-orc/subjects"
)

// turnNotices tells a session's management group that an agent with hooks finished (Stop) or
// failed (StopFailure) a turn, so that a PM does not wait for the idle alert. The notices of
// one pane are coalesced: the first turn end opens a window of Config.TurnCoalesce, turn
// ends within it are counted, and one message goes out at its end with the last of them.
type turnNotices struct {
	m       *Monitor
	mu      sync.Mutex
	pending map[string]*turnNotice // by pane id
	wg      sync.WaitGroup
	closed  bool
}

type turnNotice struct {
	last  HookEvent
	count int
	fails int
	timer *time.Timer
}

func newTurnNotices(m *Monitor) *turnNotices {
	return &turnNotices{m: m, pending: map[string]*turnNotice{}}
}

// turnEnded queues the notice for a turn end of the agent in ev.Pane, unless notices are off
// or the agent is itself management: its own turn would be typed into its own pane.
func (m *Monitor) turnEnded(ev HookEvent) {
	if !m.cfg.TurnFinished || m.bus == nil {
		return
	}
	m.mu.Lock()
	a := m.agents[ev.Pane]
	skip := a == nil || a.pm || a.gone
	m.mu.Unlock()
	if skip {
		return
	}
	m.turns.add(ev)
}

func (t *turnNotices) add(ev HookEvent) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return
	}
	n := t.pending[ev.Pane]
	if n == nil {
		n = &turnNotice{}
		t.pending[ev.Pane] = n
		t.wg.Add(1)
		n.timer = time.AfterFunc(t.m.cfg.TurnCoalesce, func() { t.flush(ev.Pane) })
	}
	n.last = ev
	n.count++
	if ev.Event == "StopFailure" {
		n.fails++
	}
}

// flush publishes the coalesced notice of pane.
func (t *turnNotices) flush(pane string) {
	defer t.wg.Done()
	t.mu.Lock()
	n := t.pending[pane]
	delete(t.pending, pane)
	t.mu.Unlock()
	if n == nil {
		return
	}
	m := t.m
	m.mu.Lock()
	a := m.agents[pane]
	var nt note
	ok := a != nil && !a.gone
	if ok {
		nt = turnNote(a, n, m.cfg.TurnCoalesce)
	}
	m.mu.Unlock()
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := m.publish(ctx, m.cfg.now(), nt); err != nil {
		m.log.Warn("turn notice not published", zap.String("pane", pane), zap.Error(err))
	}
}

// stop cancels the notices not yet sent and waits for those being sent.
func (t *turnNotices) stop() {
	t.mu.Lock()
	t.closed = true
	for pane, n := range t.pending {
		if n.timer.Stop() {
			t.wg.Done()
		}
		delete(t.pending, pane)
	}
	t.mu.Unlock()
	t.wg.Wait()
}

// turnNote words the notice: low priority for a finished turn, normal for a failed one (an
// API error the PM should know about).
func turnNote(a *agent, n *turnNotice, window time.Duration) note {
	t := agentstate.PaneTarget(a.pane)
	ev := n.last
	nt := note{session: a.pane.Session, priority: subjects.Low,
		tags: []string{"monitoring", "turn"},
		context: map[string]any{"agent": t, "pane": a.pane.ID, "issue_type": "turn", "event": ev.Event,
			"turns": n.count, "agent_kind": ev.Agent}}
	var b strings.Builder
	if ev.Event == "StopFailure" {
		nt.priority = subjects.Normal
		nt.tags = append(nt.tags, "turn-failed")
		nt.context["error"] = ev.Error
		fmt.Fprintf(&b, "Turn failed: agent %s stopped on an error (%s) and is idle", t, ev.Error)
		if ev.Message != "" {
			fmt.Fprintf(&b, ": %s", oneLine(ev.Message))
		}
	} else {
		nt.tags = append(nt.tags, "turn-finished")
		fmt.Fprintf(&b, "Turn finished: agent %s is idle", t)
	}
	if n.count > 1 {
		fmt.Fprintf(&b, " (%d turns ended within %s", n.count, window)
		if n.fails > 0 {
			fmt.Fprintf(&b, ", %d failed", n.fails)
		}
		b.WriteString(")")
	}
	if ev.LastMessage != "" {
		nt.context["last_message"] = ev.LastMessage
		fmt.Fprintf(&b, " - last message: %q", clip(oneLine(ev.LastMessage), 160))
	}
	nt.body = b.String()
	return nt
}

// oneLine folds whitespace runs, newlines included, into single spaces.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
