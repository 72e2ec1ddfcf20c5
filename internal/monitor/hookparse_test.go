package monitor_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tmux-orc/tmux-orc/internal/monitor"
)

// TestHookEventsByWhatTheyMean: each Claude Code hook event (as Claude Code 2.1 sends it)
// maps to what it means for the agent; the idle_prompt notification is idle, not waiting.
func TestHookEventsByWhatTheyMean(t *testing.T) {
	long := strings.Repeat("word ", 200)
	tests := []struct {
		name, json string
		ok         bool
		state      string
		check      func(t *testing.T, ev monitor.HookEvent)
	}{
		{"prompt", `{"hook_event_name":"UserPromptSubmit","prompt":"fix it"}`, true, monitor.HookBusy, nil},
		{"tool", `{"hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"ls"}}`, true, monitor.HookBusy, nil},
		{"tool done", `{"hook_event_name":"PostToolUse","tool_name":"Bash"}`, true, monitor.HookBusy, nil},
		{"stop", `{"hook_event_name":"Stop","stop_hook_active":false,"last_assistant_message":"` + long + `"}`, true, monitor.HookIdle,
			func(t *testing.T, ev monitor.HookEvent) {
				if !ev.TurnEnded() || len([]rune(ev.LastMessage)) != monitor.MaxLastMessage || !strings.HasSuffix(ev.LastMessage, "…") {
					t.Errorf("last message %d runes %q", len([]rune(ev.LastMessage)), ev.LastMessage)
				}
			}},
		{"stop failure", `{"hook_event_name":"StopFailure","error":"server_error","error_details":"500 Internal"}`, true, monitor.HookIdle,
			func(t *testing.T, ev monitor.HookEvent) {
				if !ev.TurnEnded() || ev.Error != "server_error" || ev.Message != "500 Internal" {
					t.Errorf("%+v", ev)
				}
			}},
		{"stop failure, error object", `{"hook_event_name":"StopFailure","error":{"type":"rate_limit_error","message":"slow down"}}`, true, monitor.HookIdle,
			func(t *testing.T, ev monitor.HookEvent) {
				if ev.Error != "rate_limit_error" {
					t.Errorf("%+v", ev)
				}
			}},
		{"idle prompt", `{"hook_event_name":"Notification","notification_type":"idle_prompt","message":"Claude is waiting for your input"}`, true, monitor.HookIdle,
			func(t *testing.T, ev monitor.HookEvent) {
				if ev.TurnEnded() || ev.Kind != "idle_prompt" {
					t.Errorf("%+v", ev)
				}
			}},
		{"permission", `{"hook_event_name":"Notification","notification_type":"permission_prompt","message":"Claude needs your permission to use Bash"}`, true, monitor.HookWaiting, nil},
		{"question", `{"hook_event_name":"Notification","notification_type":"elicitation_dialog","message":"Pick one"}`, true, monitor.HookWaiting, nil},
		{"old permission, no type", `{"hook_event_name":"Notification","message":"Claude needs your permission to use Bash"}`, true, monitor.HookWaiting, nil},
		{"old idle, no type", `{"hook_event_name":"Notification","message":"Claude is waiting for your input"}`, true, monitor.HookIdle, nil},
		{"auth", `{"hook_event_name":"Notification","notification_type":"auth_success","message":"ok"}`, false, "", nil},
		{"subagent", `{"hook_event_name":"SubagentStop","stop_hook_active":false}`, false, "", nil},
		{"session start", `{"hook_event_name":"SessionStart","source":"startup"}`, true, monitor.HookIdle, nil},
		{"compaction", `{"hook_event_name":"SessionStart","source":"compact"}`, false, "", nil},
		{"session end", `{"hook_event_name":"SessionEnd","reason":"exit"}`, true, monitor.HookEnded, nil},
		{"codex permission", `{"hook_event_name":"PermissionRequest","tool_name":"Bash"}`, true, monitor.HookWaiting, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, ok, err := monitor.ParseClaudeHook(strings.NewReader(tt.json), "%3", time.Now())
			if err != nil || ok != tt.ok || (ok && ev.State != tt.state) {
				t.Fatalf("got %+v ok=%v err=%v, want ok=%v state %q", ev, ok, err, tt.ok, tt.state)
			}
			if ok && (ev.Pane != "%3" || ev.Agent != "claude-code") {
				t.Fatalf("got %+v", ev)
			}
			if tt.check != nil {
				tt.check(t, ev)
			}
		})
	}
	for _, bad := range []string{`{"hook_event_name":`, `{}`, `[1]`} {
		if _, _, err := monitor.ParseClaudeHook(strings.NewReader(bad), "%3", time.Now()); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
	ev, ok, err := monitor.ParseCodexHook(strings.NewReader(`{"hook_event_name":"Stop","last_assistant_message":"done"}`), "%1", time.Now())
	if err != nil || !ok || ev.Agent != "codex" || ev.State != monitor.HookIdle || ev.LastMessage != "done" {
		t.Fatalf("codex stop: %+v %v %v", ev, ok, err)
	}
}

// TestRealHookPayloads parses the hook payloads recorded from the real Claude Code 2.1.328
// (internal/claudetest/testdata/hooks).
func TestRealHookPayloads(t *testing.T) {
	want := map[string]string{
		"UserPromptSubmit": monitor.HookBusy, "PreToolUse": monitor.HookBusy, "PostToolUse": monitor.HookBusy,
		"Stop": monitor.HookIdle, "StopFailure": monitor.HookIdle, "Notification-idle_prompt": monitor.HookIdle,
		"Notification-permission_prompt": monitor.HookWaiting, "PermissionRequest": monitor.HookWaiting,
		"SessionStart": monitor.HookIdle, "SessionEnd": monitor.HookEnded, "SessionEnd-killed": monitor.HookEnded,
	}
	files, err := filepath.Glob("../claudetest/testdata/hooks/*.json")
	if err != nil || len(files) < len(want) {
		t.Fatalf("recorded payloads: %v %v", files, err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		ev, ok, err := monitor.ParseClaudeHook(bytes.NewReader(data), "%1", time.Now())
		if err != nil || !ok || ev.State != want[name] {
			t.Errorf("%s: %+v ok=%v err=%v, want state %q", name, ev, ok, err, want[name])
		}
		switch name {
		case "Stop":
			if ev.LastMessage != "OK from the stand-in." {
				t.Errorf("Stop last message %q", ev.LastMessage)
			}
		case "StopFailure":
			if ev.Error != "server_error" || !strings.HasPrefix(ev.LastMessage, "API Error: 500") {
				t.Errorf("StopFailure %+v", ev)
			}
		}
	}
}
