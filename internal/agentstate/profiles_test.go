package agentstate

import (
	"testing"
)

func TestProfilesReadScreens(t *testing.T) {
	tests := []struct {
		name    string
		command string
		screen  []string
		want    string
	}{
		{"agentsim idle", "agentsim", []string{"agentsim [idle] accepted=0 queued=0 interrupts=0 composer_lines=1", "> "}, ""},
		{"agentsim modal", "agentsim", []string{"agentsim [modal] accepted=0", "> ", "Do you want to proceed?", "  1. Yes", "  2. No"}, "permission dialog waiting"},
		{"agentsim text", "agentsim", []string{"agentsim [idle] accepted=0", "> half a sentence"}, "text left unsubmitted"},
		{"old failure words are not evidence", "agentsim", []string{"[#1] the build failed: rate limit reached"}, ""},
		{"claude dialog", "claude", []string{"╭──╮", "│ Do you want to proceed? │", "│ ❯ 1. Yes │"}, "permission dialog waiting"},
		{"claude limit", "claude", []string{"Claude usage limit reached. Your limit will reset at 5pm"}, "rate limited"},
		{"claude composer", "claude", []string{"╭────╮", "│ > fix the tests   │", "╰────╯"}, "text left unsubmitted"},
		{"claude empty composer", "claude", []string{"╭────╮", "│ >                 │", "╰────╯"}, ""},
		{"codex limit", "codex", []string{"You've hit your usage limit."}, "rate limited"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			screen := tt.screen
			if tt.name == "old failure words are not evidence" {
				// The words are above the bottom lines the profile reads.
				for i := 0; i < Bottom; i++ {
					screen = append(screen, "[#2] fine")
				}
			}
			if got := ProfileFor(tt.command).Read(screen).Stuck(); got != tt.want {
				t.Fatalf("stuck %q, want %q", got, tt.want)
			}
		})
	}
	if ProfileFor("agentsim").Name != "generic" || ProfileFor("claude").Name != "claude-code" {
		t.Fatal("profile selection")
	}
}
