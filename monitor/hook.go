package monitor

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/nats-io/nats.go"
	"go.uber.org/zap"

	"github.com/tmux-orc/tmux-orc/bus"
)

// HookSubject carries agent hook events (Claude Code's hooks) to the monitor; not stored.
const HookSubject = "orc.sys.monitor.hook"

// What a hook says about an agent. Hook state wins over reading the screen.
const (
	// HookBusy: a prompt was submitted or a tool runs (UserPromptSubmit, PreToolUse, PostToolUse).
	HookBusy = "busy"
	// HookIdle: the agent finished its turn (Stop); idle counts from then.
	HookIdle = "idle"
	// HookWaiting: the agent waits for the user, e.g. a permission (Notification).
	HookWaiting = "waiting"
)

// HookEvent is one hook call for one pane.
type HookEvent struct {
	Pane    string    `json:"pane"`
	State   string    `json:"state"`
	Event   string    `json:"event"`
	Message string    `json:"message,omitempty"`
	At      time.Time `json:"at"`
}

// ParseClaudeHook reads the JSON Claude Code hands a hook command on stdin and says what it
// means for the agent in pane. Events that say nothing about the state (SessionStart, ...)
// return ok = false.
func ParseClaudeHook(r io.Reader, pane string, now time.Time) (ev HookEvent, ok bool, err error) {
	var in struct {
		Event   string `json:"hook_event_name"`
		Message string `json:"message"`
	}
	if err := json.NewDecoder(io.LimitReader(r, 1<<20)).Decode(&in); err != nil {
		return HookEvent{}, false, fmt.Errorf("reading the hook's JSON: %w", err)
	}
	ev = HookEvent{Pane: pane, Event: in.Event, Message: in.Message, At: now.UTC()}
	switch in.Event {
	case "UserPromptSubmit", "PreToolUse", "PostToolUse":
		ev.State = HookBusy
	case "Stop", "SubagentStop":
		ev.State = HookIdle
	case "Notification":
		ev.State = HookWaiting
	default:
		return ev, false, nil
	}
	return ev, true, nil
}

// ReportHook sends ev to the monitor.
func ReportHook(ctx context.Context, c *bus.Client, ev HookEvent) error {
	data, _ := json.Marshal(ev)
	if err := c.Conn().Publish(ForHost(HookSubject, monitorHost(ctx, c)), data); err != nil {
		return fmt.Errorf("reporting the hook: %w", err)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
	}
	if err := c.Conn().FlushWithContext(ctx); err != nil {
		return fmt.Errorf("reporting the hook: %w", err)
	}
	return nil
}

// hookHandler records hook events by pane.
func (m *Monitor) hookHandler(msg *nats.Msg) {
	var ev HookEvent
	if err := json.Unmarshal(msg.Data, &ev); err != nil || ev.Pane == "" {
		m.log.Debug("ignoring a malformed hook event", zap.ByteString("data", msg.Data))
		return
	}
	m.mu.Lock()
	if a := m.agents[ev.Pane]; a != nil {
		a.hook = &ev
	}
	m.mu.Unlock()
	m.log.Debug("hook", zap.String("pane", ev.Pane), zap.String("event", ev.Event), zap.String("state", ev.State))
}

// ClaudeHookConfig is the hooks section for Claude Code's settings.json that reports every
// state change with `tmux-orc hook claude-code`.
const ClaudeHookConfig = `{
  "hooks": {
    "UserPromptSubmit": [{"hooks": [{"type": "command", "command": "tmux-orc hook claude-code"}]}],
    "PreToolUse": [{"matcher": "*", "hooks": [{"type": "command", "command": "tmux-orc hook claude-code"}]}],
    "Stop": [{"hooks": [{"type": "command", "command": "tmux-orc hook claude-code"}]}],
    "Notification": [{"hooks": [{"type": "command", "command": "tmux-orc hook claude-code"}]}]
  }
}`
