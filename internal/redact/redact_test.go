package redact_test

import (
	"strings"
	"testing"

	"github.com/tmux-orc/tmux-orc/internal/redact"
)

func TestCommand(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"env ANTHROPIC_API_KEY=sk-ant-api03-abcdefgh claude", "env ANTHROPIC_API_KEY=*** claude"},
		{"OPENAI_API_KEY='a b c' codex --model o3", "OPENAI_API_KEY=*** codex --model o3"},
		{`GITHUB_TOKEN="x y" DB_PASSWORD=hunter2 MY_SECRET=s run`, "GITHUB_TOKEN=*** DB_PASSWORD=*** MY_SECRET=*** run"},
		{"claude --api-key sk-live-12345678 --verbose", "claude --api-key *** --verbose"},
		{"tool --token=abc123 -password pw x", "tool --token=*** -password *** x"},
		{"curl -H 'Authorization: Bearer abcdef' url", "curl -H 'Authorization: Bearer ***' url"},
		{"run with sk-ant-api03-zzzzzzzzzz inline", "run with sk-*** inline"},
		{"claude --model opus", "claude --model opus"},
		{"bash -l", "bash -l"},
		{"", ""},
	} {
		got := redact.Command(tc.in)
		if got != tc.want {
			t.Errorf("Command(%q) = %q, want %q", tc.in, got, tc.want)
		}
		for _, secret := range []string{"sk-ant-api03", "hunter2", "abc123", "abcdef", "a b c", "12345678"} {
			if strings.Contains(tc.in, secret) && strings.Contains(got, secret) {
				t.Errorf("Command(%q) = %q still shows %q", tc.in, got, secret)
			}
		}
	}
}
