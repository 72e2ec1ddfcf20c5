package agentstate

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Profile holds the screen heuristics of one kind of agent: where its input box is, what a
// draft in it looks like, and what its dialogs, pickers and menus look like. They are the
// last resort of detection, after hooks and the pane's process facts.
type Profile struct {
	// Name is the agent kind: "claude-code", "codex", "generic" or "shell".
	Name string
	// Commands are pane_current_command values that select the profile.
	Commands []string
	// Prompt matches the composer line; its first group is the text typed but not submitted.
	Prompt *regexp.Regexp
	// Dialog matches a line of a permission or confirmation dialog, a picker or a menu.
	Dialog *regexp.Regexp
	// RateLimit matches a line of a rate-limit or usage-limit notice.
	RateLimit *regexp.Regexp
	// input finds the input box; nil uses the Prompt line and the cursor (genericInput).
	input func(p *Profile, s Screen) Input
}

// Bottom is how many non-empty lines, from the bottom of the screen, the profiles read:
// dialogs and notices are drawn there, while words in the conversation above are not
// evidence of anything.
const Bottom = 10

// Claude Code 2.x: the input box is a line starting with "❯ " between two horizontal rules,
// with a status line under it; older versions drew "│ > text │" in a rounded box. Its
// dialogs (tool permission, MCP server approval, trust of a folder, the /model picker, ...)
// replace the box with a numbered menu whose highlighted item starts with "❯".
var (
	claudeDialog = regexp.MustCompile(`^\s*(│\s*)?❯\s*\d+\.\s|Do you want to (proceed|make this edit|create|run|allow|use)|` +
		`(?i)esc to (cancel|go back|exit)|enter to (confirm|select|continue)|↑/?↓ to (navigate|select)|new MCP server|` +
		`MCP servers? found|trust (the files in )?this folder|do you trust|select model|choose (the|a) model|` +
		`switch between .* models|would you like to`)
	claudePrompt = regexp.MustCompile(`^\s*(?:│\s*)?[❯>]\s?(.*?)\s*│?\s*$`)
	numbered     = regexp.MustCompile(`^\d+\.\s`)
	claudeOldBox = regexp.MustCompile(`^│\s*>\s?(.*?)\s*│?$`)
)

// Profiles lists the known agent kinds; the last one (generic) matches any pane.
var Profiles = []*Profile{
	{
		Name:      string(ClaudeCode),
		Commands:  []string{"claude"},
		Prompt:    claudePrompt,
		Dialog:    claudeDialog,
		RateLimit: regexp.MustCompile(`(?i)usage limit reached|rate limit(ed| reached| exceeded)|limit will reset`),
		input:     claudeInput,
	},
	{
		Name:      string(Codex),
		Commands:  []string{"codex"},
		Prompt:    regexp.MustCompile(`^\s*[▌›]\s?(.*?)\s*$`),
		Dialog:    regexp.MustCompile(`(?i)allow command\?|would you like to run|approve this|^\s*[›>]\s*\d+\.\s|press enter to confirm`),
		RateLimit: regexp.MustCompile(`(?i)usage limit|rate limit|too many requests`),
	},
	{
		Name:      string(Shell),
		Commands:  nil, // chosen by KindOf, never by a command name alone
		RateLimit: nil,
		input:     shellInput,
	},
	{
		Name:      string(Generic),
		Prompt:    regexp.MustCompile(`^> ?(.*?)\s*$`),
		Dialog:    regexp.MustCompile(`Do you want to proceed\?|\(y/n\)\s*$|\[y/N\]\s*$|\[Y/n\]\s*$`),
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

// ProfileOf returns the profile of an agent kind.
func ProfileOf(k Kind) *Profile {
	for _, p := range Profiles {
		if p.Name == string(k) {
			return p
		}
	}
	return Profiles[len(Profiles)-1]
}

// Input is what a profile finds of the agent's input box on a screen.
type Input struct {
	// Found: the agent's own input prompt is on the screen.
	Found bool
	// Text is what the box holds, "" when it is empty: a person's draft, or text just typed.
	// Lines of a multi-line box are joined with "\n".
	Text string
	// Dialog says which dialog, picker or menu is open, "" when none is.
	Dialog string
}

// Input finds the input box on s and what it holds.
func (p *Profile) Input(s Screen) Input {
	if p.input != nil {
		return p.input(p, s)
	}
	return genericInput(p, s)
}

// noSpace drops all white space: an agent wraps a long line in its box wherever it likes.
func noSpace(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
}

// Holds reports whether text (as typed: its last 16 characters, white space ignored) sits
// unsubmitted in the input box of s.
func (p *Profile) Holds(s Screen, text string) bool {
	tail := Tail(noSpace(text), 16)
	if tail == "" {
		return false
	}
	if in := p.Input(s); in.Found && strings.HasSuffix(noSpace(in.Text), tail) {
		return true
	}
	if p.input != nil && p.Name != string(Shell) {
		return false // the box is the only place a draft can be
	}
	// A program that does not draw a composer (cat, a REPL): the text ends the cursor's line
	// (with the lines it wrapped from). After a submit the cursor is on a fresh line, even
	// when the program echoes the text above it.
	return strings.HasSuffix(noSpace(s.cursorRow()), tail)
}

// genericInput reads a "> " composer line (its first group, with the indented lines that
// continue it), else the cursor's line: empty, or ending with a prompt character before
// the cursor, and nothing after it.
func genericInput(p *Profile, s Screen) Input {
	var in Input
	idx := s.bottom(Bottom)
	if p.Dialog != nil {
		for _, i := range idx {
			if p.Dialog.MatchString(s.Lines[i]) {
				in.Dialog = "a dialog is open: " + strings.TrimSpace(s.Lines[i])
				break
			}
		}
	}
	if p.Prompt != nil {
		if i, ok := s.composerTop(p.Prompt); ok {
			in.Found, in.Text = true, s.composerText(p.Prompt, i)
			return in
		}
	}
	if s.CursorY < 0 {
		return in
	}
	if blank(s.Lines) {
		return in // nothing drawn yet: starting up
	}
	before, after := s.cursorLine()
	in.Found = true
	in.Text = strings.TrimSpace(after)
	if b := strings.TrimRightFunc(before, unicode.IsSpace); b != "" && !endsWithAny(b, ">❯›»") {
		in.Text = strings.TrimSpace(strings.TrimSpace(b) + " " + in.Text)
	}
	return in
}

// composerTop finds the composer's first line: with a cursor, the Prompt line at or above
// it with only continuation lines (indented by two spaces) between them, however many; without
// one, the lowest Prompt line among the bottom lines.
func (s Screen) composerTop(prompt *regexp.Regexp) (int, bool) {
	if s.CursorY >= 0 && s.CursorY < len(s.Lines) {
		for i := s.CursorY; i >= 0; i-- {
			l := strings.TrimRight(s.Lines[i], " ")
			if prompt.MatchString(l) {
				return i, true
			}
			if i < s.CursorY && !strings.HasPrefix(s.Lines[i], "  ") && l != "" {
				return 0, false
			}
		}
		return 0, false
	}
	for _, i := range s.bottom(Bottom) {
		if prompt.MatchString(strings.TrimRight(s.Lines[i], " ")) {
			return i, true
		}
	}
	return 0, false
}

// composerText is the text of the composer starting at line top: the Prompt's group (unless
// it is a dim placeholder) and the continuation lines under it.
func (s Screen) composerText(prompt *regexp.Regexp, top int) string {
	line := strings.TrimRight(s.Lines[top], " ")
	m := prompt.FindStringSubmatchIndex(line)
	first := strings.TrimSpace(line[m[2]:m[3]])
	if s.placeholder(top, utf8.RuneCountInString(line[:m[2]])) {
		first = "" // dim placeholder text (Codex's "Ask Codex to do anything"), not a draft
	}
	text := []string{first}
	for j := top + 1; j < len(s.Lines) && strings.HasPrefix(s.Lines[j], "  "); j++ {
		text = append(text, strings.TrimSpace(s.Lines[j]))
	}
	return strings.TrimSpace(strings.Join(text, "\n"))
}

// shellInput: the cursor after a shell prompt ($ # % > ❯ ...), nothing typed after it.
func shellInput(_ *Profile, s Screen) Input {
	var in Input
	if s.CursorY < 0 {
		return in
	}
	before, after := s.cursorLine()
	b := strings.TrimRightFunc(before, unicode.IsSpace)
	in.Found = b == "" || endsWithAny(b, "$#%>❯›»")
	in.Text = strings.TrimSpace(after)
	if !in.Found {
		in.Text = strings.TrimSpace(strings.TrimSpace(b) + " " + in.Text)
	}
	return in
}

func blank(lines []string) bool {
	for _, l := range lines {
		if strings.TrimSpace(l) != "" {
			return false
		}
	}
	return true
}

func endsWithAny(s, chars string) bool {
	r := []rune(s)
	return len(r) > 0 && strings.ContainsRune(chars, r[len(r)-1])
}

// claudeInput finds the lowest input box: a line starting with "❯" (or ">") right under a
// horizontal rule, down to the next rule. Its content (prompt character stripped) is the
// draft. A "❯ 1. ..." line is a numbered menu, not the box. Dialog text under the box, or
// anywhere at the bottom when there is no box, means a dialog is open.
func claudeInput(p *Profile, s Screen) Input {
	var in Input
	top, end := -1, -1
	for j := len(s.Lines) - 1; j > 0 && top < 0; j-- {
		if !isRule(s.Lines[j]) {
			continue
		}
		for i := j - 1; i >= 0 && i >= j-30; i-- {
			if !isRule(s.Lines[i]) {
				continue
			}
			if i+1 < j && isBoxStart(s.Lines[i+1]) {
				top, end = i, j
			}
			break
		}
	}
	if top < 0 {
		// Claude Code 2.x follows the box's "❯" with a no-break space (prompts in the
		// scrollback have a plain one): the box even in a frame drawn without its rules.
		for _, i := range s.bottom(Bottom) {
			if l := strings.TrimLeftFunc(s.Lines[i], func(r rune) bool { return r == ' ' }); strings.HasPrefix(l, "❯\u00a0") {
				text := strings.TrimSpace(strings.TrimPrefix(l, "❯"))
				if s.placeholder(i, boxTextStart(s.Lines[i])) {
					text = ""
				}
				in.Found, in.Text = true, text
				top, end = i-1, i+1
				break
			}
		}
	}
	if top < 0 {
		// Older versions: "│ > text │" in a rounded box.
		for _, i := range s.bottom(Bottom) {
			l := strings.TrimSpace(s.Lines[i])
			if strings.HasPrefix(l, "│") {
				if m := claudeOldBox.FindStringSubmatch(l); m != nil {
					in.Found, in.Text = true, strings.TrimSpace(m[1])
					end = i + 1
					break
				}
			}
		}
	} else {
		var text []string
		for i := top + 1; i < end; i++ {
			l := strings.TrimSpace(s.Lines[i])
			if i == top+1 {
				l = strings.TrimSpace(strings.TrimLeft(l, "❯>"))
				if s.placeholder(i, boxTextStart(s.Lines[i])) || (s.attrs == nil && knownPlaceholder(l)) {
					l = "" // a dim placeholder ("Press up to edit queued messages"), not a draft
				}
			}
			text = append(text, l)
		}
		in.Found, in.Text = true, strings.TrimSpace(strings.Join(text, "\n"))
	}
	if in.Found && numbered.MatchString(in.Text) {
		in.Found, in.Dialog = false, "a menu is open: "+firstLine(in.Text)
		return in
	}
	from := 0
	if in.Found {
		from = end + 1
	}
	for _, i := range s.bottom(Bottom) {
		if i < from {
			continue
		}
		if p.Dialog.MatchString(s.Lines[i]) {
			in.Dialog = "a dialog is open: " + strings.TrimSpace(strings.Trim(strings.TrimSpace(s.Lines[i]), "│"))
			break
		}
	}
	return in
}

// claudePlaceholders are the placeholders Claude Code 2.1 shows in an empty box; they are
// recognised by their text only when the screen was read without attributes (capture-pane
// without -e, as the monitor reads it). With attributes, any dim text is a placeholder.
var claudePlaceholders = []string{"Press up to edit queued messages", "Resend your message to try again"}

func knownPlaceholder(text string) bool {
	for _, p := range claudePlaceholders {
		if text == p {
			return true
		}
	}
	return false
}

// isRule reports whether l is a horizontal rule: only rule characters, at least 8 of them.
func isRule(l string) bool {
	n := 0
	for _, r := range l {
		switch r {
		case '─', '━', '═', '╌', '┄', '-':
			n++
		case ' ', '\t':
		default:
			return false
		}
	}
	return n >= 8
}

// boxTextStart returns the index of the first rune after the prompt glyph and its spaces.
func boxTextStart(l string) int {
	rs := []rune(l)
	i := 0
	for i < len(rs) && unicode.IsSpace(rs[i]) {
		i++
	}
	if i < len(rs) && (rs[i] == '❯' || rs[i] == '>') {
		i++
	}
	for i < len(rs) && unicode.IsSpace(rs[i]) {
		i++
	}
	return i
}

// isBoxStart reports whether l starts Claude Code's input box ("❯ ", or "> " in some versions).
func isBoxStart(l string) bool {
	l = strings.TrimSpace(l)
	return strings.HasPrefix(l, "❯") || strings.HasPrefix(l, ">")
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// Reading is what a profile sees on a screen without its cursor (the monitor's view).
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
	in := p.Input(Screen{Lines: screen, CursorY: -1})
	r.Dialog = in.Dialog != ""
	if in.Found && in.Dialog == "" {
		r.Unsubmitted = in.Text
	}
	if p.RateLimit != nil {
		for _, i := range (Screen{Lines: screen}).bottom(Bottom) {
			if p.RateLimit.MatchString(screen[i]) {
				r.RateLimited = true
			}
		}
	}
	return r
}
