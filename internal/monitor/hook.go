package monitor

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"go.uber.org/zap"

	"github.com/tmux-orc/tmux-orc/bus"
)

// HookSubject carries agent hook events (Claude Code's and Codex's hooks) to the monitor; not
// stored.
const HookSubject = "orc.sys.monitor.hook"

// What a hook says about an agent. Hook state wins over reading the screen.
const (
	// HookBusy: a prompt was submitted or a tool runs (UserPromptSubmit, PreToolUse,
	// PostToolUse).
	HookBusy = "busy"
	// HookIdle: the agent finished its turn (Stop), or failed it (StopFailure, with Error
	// set), or says it waits for new input (Notification idle_prompt), or a session started at
	// its prompt (SessionStart). Idle counts from the end of the turn.
	HookIdle = "idle"
	// HookWaiting: the agent waits for a person to answer it: a permission dialog
	// (Notification permission_prompt, PermissionRequest) or a question (elicitation_dialog).
	HookWaiting = "waiting"
	// HookEnded: the agent's session ended (SessionEnd); the screen and the process say the
	// rest.
	HookEnded = "ended"
)

// HookEvent is one hook call for one pane.
type HookEvent struct {
	Pane  string `json:"pane"`
	State string `json:"state"`
	// Event is the hook's event name (hook_event_name).
	Event string `json:"event"`
	// Kind is the notification's notification_type, or SessionStart's source.
	Kind    string `json:"kind,omitempty"`
	Message string `json:"message,omitempty"`
	// Error is StopFailure's error (server_error, rate_limit, ...): the turn ended on it.
	Error string `json:"error,omitempty"`
	// LastMessage is the agent's last message of the turn (Stop's last_assistant_message),
	// cut to MaxLastMessage characters.
	LastMessage string `json:"last_message,omitempty"`
	// Agent is the kind of agent whose hook ran: claude-code or codex.
	Agent string    `json:"agent,omitempty"`
	At    time.Time `json:"at"`
}

// TurnEnded reports whether the event ends a turn (Stop or StopFailure).
func (e HookEvent) TurnEnded() bool { return e.Event == "Stop" || e.Event == "StopFailure" }

// MaxLastMessage is how much of the agent's last message a hook event carries.
const MaxLastMessage = 300

// hookInput is the JSON a hook command gets on stdin; Claude Code and Codex share the names.
type hookInput struct {
	Event            string `json:"hook_event_name"`
	Message          string `json:"message"`
	NotificationType string `json:"notification_type"`
	Source           string `json:"source"`
	Error            any    `json:"error"`
	ErrorDetails     string `json:"error_details"`
	LastAssistant    string `json:"last_assistant_message"`
}

// ParseClaudeHook reads the JSON Claude Code hands a hook command on stdin and says what it
// means for the agent in pane. Events that say nothing about the agent's own state
// (SubagentStop: a subagent finished while the agent still works; SessionStart after a
// compaction; unknown notifications) return ok = false.
func ParseClaudeHook(r io.Reader, pane string, now time.Time) (ev HookEvent, ok bool, err error) {
	return parseHook(r, "claude-code", pane, now)
}

// ParseCodexHook reads the JSON Codex hands a hook command (its hooks.json, the same event
// names as Claude Code: SessionStart, UserPromptSubmit, PreToolUse, PostToolUse,
// PermissionRequest, Stop) and says what it means, as ParseClaudeHook does.
func ParseCodexHook(r io.Reader, pane string, now time.Time) (ev HookEvent, ok bool, err error) {
	return parseHook(r, "codex", pane, now)
}

func parseHook(r io.Reader, agent, pane string, now time.Time) (ev HookEvent, ok bool, err error) {
	var in hookInput
	if err := json.NewDecoder(io.LimitReader(r, 4<<20)).Decode(&in); err != nil {
		return HookEvent{}, false, fmt.Errorf("reading the hook's JSON: %w", err)
	}
	if in.Event == "" {
		return HookEvent{}, false, fmt.Errorf("reading the hook's JSON: no hook_event_name")
	}
	ev = HookEvent{Pane: pane, Event: in.Event, Message: clip(in.Message, MaxLastMessage), Agent: agent, At: now.UTC()}
	switch in.Event {
	case "UserPromptSubmit", "PreToolUse", "PostToolUse", "PostToolUseFailure":
		ev.State = HookBusy
	case "Stop":
		ev.State = HookIdle
		ev.LastMessage = clip(strings.TrimSpace(in.LastAssistant), MaxLastMessage)
	case "StopFailure":
		ev.State = HookIdle
		ev.Error = errorText(in.Error)
		if ev.Error == "" {
			ev.Error = "unknown error"
		}
		if d := strings.TrimSpace(in.ErrorDetails); d != "" {
			ev.Message = clip(d, MaxLastMessage)
		}
		ev.LastMessage = clip(strings.TrimSpace(in.LastAssistant), MaxLastMessage)
	case "PermissionRequest":
		ev.State = HookWaiting
		if ev.Message == "" {
			ev.Message = "permission requested"
		}
	case "Notification":
		ev.Kind = in.NotificationType
		switch notificationState(in.NotificationType, in.Message) {
		case HookIdle:
			ev.State = HookIdle
		case HookWaiting:
			ev.State = HookWaiting
		default:
			return ev, false, nil
		}
	case "SessionStart":
		ev.Kind = in.Source
		if in.Source == "compact" { // compaction happens inside a turn
			return ev, false, nil
		}
		ev.State = HookIdle
	case "SessionEnd":
		ev.State = HookEnded
	default: // SubagentStop, PreCompact, ...: nothing about the agent's own state
		return ev, false, nil
	}
	return ev, true, nil
}

// notificationState maps a Notification to a state by its notification_type; without one
// (older versions) by its message.
func notificationState(kind, msg string) string {
	switch kind {
	case "idle_prompt":
		return HookIdle // "Claude is waiting for your input": nobody is asked anything
	case "permission_prompt", "elicitation_dialog":
		return HookWaiting
	case "":
		m := strings.ToLower(msg)
		switch {
		case strings.Contains(m, "permission"):
			return HookWaiting
		case strings.Contains(m, "waiting for your input"):
			return HookIdle
		}
	}
	return "" // auth_success and kinds we do not know
}

// errorText renders StopFailure's error, a string or an object with a type or message.
func errorText(v any) string {
	switch e := v.(type) {
	case string:
		return strings.TrimSpace(e)
	case map[string]any:
		for _, k := range []string{"type", "message", "error"} {
			if s, ok := e[k].(string); ok && s != "" {
				return s
			}
		}
		b, _ := json.Marshal(e)
		return clip(string(b), 120)
	case nil:
		return ""
	}
	return clip(fmt.Sprint(v), 120)
}

// ReportHook sends ev to the monitor of host ("": the daemon's host).
func ReportHook(ctx context.Context, c *bus.Client, host string, ev HookEvent) error {
	data, _ := json.Marshal(ev)
	if err := c.Conn().Publish(ForHost(HookSubject, monitorHost(ctx, c, host)), data); err != nil {
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
	a := m.agents[ev.Pane]
	if a != nil {
		a.applyHook(&ev)
		m.look[ev.Pane] = true
		m.dirty(ev.Pane)
	}
	m.mu.Unlock()
	m.log.Debug("hook", zap.String("pane", ev.Pane), zap.String("event", ev.Event), zap.String("state", ev.State))
	if a != nil && ev.TurnEnded() {
		m.turnEnded(ev)
	}
	m.poke()
}
