package bridge

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"go.uber.org/zap"

	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/internal/agentstate"
	"github.com/tmux-orc/tmux-orc/subjects"
)

// HandoverSubject is where the bridge of a host hands a pane's pending messages to the
// agent's Stop hook: HandoverSubject + "." + host (a request; not stored).
const HandoverSubject = "orc.sys.bridge.handover"

// HandoverMax caps the messages handed over at the end of one turn; the rest are handed
// over at the next one, or typed once the agent is idle.
const HandoverMax = 10

// HandoverRequest asks for the pending messages of a pane ($TMUX_PANE of the hook).
type HandoverRequest struct {
	Pane string `json:"pane"`
}

// HandoverReply carries the messages handed over, rendered as they would have been typed,
// one per line; empty when none were pending.
type HandoverReply struct {
	IDs   []string `json:"ids,omitempty"`
	Text  string   `json:"text,omitempty"`
	Error string   `json:"error,omitempty"`
}

// RequestHandover asks the bridge of host for pane's pending messages, which it records as
// delivered by the hook path. An empty reply means nothing was pending.
func RequestHandover(ctx context.Context, c *bus.Client, host, pane string) (HandoverReply, error) {
	var rep HandoverReply
	body, _ := json.Marshal(HandoverRequest{Pane: pane})
	m, err := c.Conn().RequestWithContext(ctx, HandoverSubject+"."+subjects.SanitizeHost(host), body)
	if err != nil {
		return rep, fmt.Errorf("asking the bridge for pending messages: %w", err)
	}
	if err := json.Unmarshal(m.Data, &rep); err != nil {
		return rep, fmt.Errorf("the bridge's answer is unreadable: %w", err)
	}
	if rep.Error != "" {
		return rep, fmt.Errorf("the bridge refused the hand-over: %s", rep.Error)
	}
	return rep, nil
}

// serve subscribes to this host's hook events (for the tracker) and hand-over requests.
func (b *Bridge) serve() (stop func(), err error) {
	nc := b.bus.Conn()
	hooks, err := nc.Subscribe(agentstate.HookSubject+"."+b.cfg.Host, func(m *nats.Msg) {
		if h, ok := agentstate.ParseHook(m.Data); ok {
			b.cfg.Tracker.Hook(h)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("subscribing to hook events: %w", err)
	}
	hand, err := nc.Subscribe(HandoverSubject+"."+b.cfg.Host, b.serveHandover)
	if err != nil {
		_ = hooks.Unsubscribe()
		return nil, fmt.Errorf("serving hand-overs: %w", err)
	}
	return func() { _ = hooks.Unsubscribe(); _ = hand.Unsubscribe() }, nil
}

func (b *Bridge) serveHandover(m *nats.Msg) {
	var req HandoverRequest
	var rep HandoverReply
	if err := json.Unmarshal(m.Data, &req); err != nil || req.Pane == "" {
		rep.Error = "malformed hand-over request"
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		rep = b.handover(ctx, req.Pane)
		cancel()
	}
	data, _ := json.Marshal(rep)
	_ = m.Respond(data)
}

// handover takes up to HandoverMax pending messages of pane out of its queue, claims them,
// records them delivered by the hook path, and returns them rendered.
func (b *Bridge) handover(ctx context.Context, pane string) HandoverReply {
	b.mu.Lock()
	w := b.writers[pane]
	b.mu.Unlock()
	if w == nil {
		return HandoverReply{}
	}
	items := w.take(nil, HandoverMax)
	if len(items) == 0 {
		return HandoverReply{}
	}
	p, ok := b.pane(pane)
	todo := b.claimAll(ctx, pane, items)
	var rep HandoverReply
	var lines []string
	now := time.Now()
	for _, it := range todo {
		if ok {
			it.pane = p
		}
		e := it.t.env()
		rep.IDs = append(rep.IDs, e.ID)
		lines = append(lines, Render(e, b.cfg.MaxInline))
		b.settle(ctx, it, bus.Receipt{Outcome: bus.Delivered, Submitted: now, Path: bus.PathHook,
			Reason: "handed over by the agent's Stop hook as its next input"})
	}
	if len(lines) > 0 {
		rep.Text = "Messages for you (tmux-orc) arrived while you were working:\n" + strings.Join(lines, "\n")
		b.log.Info("handed over at the end of a turn", zap.String("pane", pane), zap.Strings("ids", rep.IDs))
	}
	return rep
}
