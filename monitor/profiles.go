package monitor

import (
	"regexp"
	"strings"
)

// Profile holds the screen heuristics of one kind of agent. They are the last resort of
// detection: they only say whether an agent that is alive waits for something.
type Profile struct {
	// Name is "claude-code", "codex" or "generic".
	Name string
	// Commands are pane_current_command values that select the profile.
	Commands []string
	// Prompt matches the composer line; its first group is the text typed but not submitted.
	Prompt *regexp.Regexp
	// Dialog matches a line of a permission or confirmation dialog.
	Dialog *regexp.Regexp
	// RateLimit matches a line of a rate-limit or usage-limit notice.
	RateLimit *regexp.Regexp
}

// Bottom is how many non-empty lines, from the bottom of the screen, the profiles read:
// dialogs and notices are drawn there, while words in the conversation above are not
// evidence of anything.
const Bottom = 10

// Profiles lists the known agent kinds; the last one (generic) matches any pane.
var Profiles = []*Profile{
	{
		Name:      "claude-code",
		Commands:  []string{"claude"},
		Prompt:    regexp.MustCompile(`^\s*│\s*>\s?(.*?)\s*│?\s*$`),
		Dialog:    regexp.MustCompile(`Do you want to (proceed|make this edit|create|run)|❯ 1\. Yes`),
		RateLimit: regexp.MustCompile(`(?i)usage limit reached|rate limit(ed| reached| exceeded)|limit will reset`),
	},
	{
		Name:      "codex",
		Commands:  []string{"codex"},
		Prompt:    regexp.MustCompile(`^\s*[▌›]\s?(.*?)\s*$`),
		Dialog:    regexp.MustCompile(`(?i)allow command\?|would you like to run|approve this`),
		RateLimit: regexp.MustCompile(`(?i)usage limit|rate limit|too many requests`),
	},
	{
		Name:      "generic",
		Prompt:    regexp.MustCompile(`^> ?(.*?)\s*$`),
		Dialog:    regexp.MustCompile(`Do you want to proceed\?|\(y/n\)\s*$|\[y/N\]\s*$`),
		RateLimit: regexp.MustCompile(`(?i)rate limit(ed| reached| exceeded)|usage limit reached|too many requests`),
	},
}

// ProfileFor picks the profile for a pane by its current command; generic otherwise.
func ProfileFor(command string) *Profile {
	for _, p := range Profiles {
		for _, c := range p.Commands {
			if strings.EqualFold(c, command) {
				return p
			}
		}
	}
	return Profiles[len(Profiles)-1]
}

// Reading is what a profile sees on a screen.
type Reading struct {
	// Dialog is true when a permission or confirmation dialog waits.
	Dialog bool
	// RateLimited is true when a rate-limit notice is shown.
	RateLimited bool
	// Unsubmitted is the text left in the composer, "" when it is empty.
	Unsubmitted string
}

// Stuck names the reason the reading is stuck for, "" when it is not.
func (r Reading) Stuck() string {
	switch {
	case r.Dialog:
		return "permission dialog waiting"
	case r.RateLimited:
		return "rate limited"
	case r.Unsubmitted != "":
		return "text left unsubmitted"
	}
	return ""
}

// Read interprets the bottom lines of a screen.
func (p *Profile) Read(screen []string) Reading {
	var r Reading
	n := 0
	for i := len(screen) - 1; i >= 0 && n < Bottom; i-- {
		line := strings.TrimRight(screen[i], " ")
		if line == "" {
			continue
		}
		n++
		if p.Dialog != nil && p.Dialog.MatchString(line) {
			r.Dialog = true
		}
		if p.RateLimit != nil && p.RateLimit.MatchString(line) {
			r.RateLimited = true
		}
		if r.Unsubmitted == "" && p.Prompt != nil {
			if m := p.Prompt.FindStringSubmatch(line); m != nil {
				r.Unsubmitted = strings.TrimSpace(m[1])
			}
		}
	}
	return r
}

// shells are commands a pane returns to when its agent exits.
var shells = map[string]bool{"bash": true, "zsh": true, "sh": true, "fish": true, "dash": true, "ksh": true, "tcsh": true, "csh": true}

// IsShell reports whether command is an interactive shell.
func IsShell(command string) bool { return shells[strings.TrimPrefix(command, "-")] }
