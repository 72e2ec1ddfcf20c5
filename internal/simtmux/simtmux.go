// Package simtmux is an in-process stand-in for a tmux server whose panes run a simple
// agent: a tmux.Runner that answers the commands the bridge sends (list-panes,
// display-message with the pane facts, capture-pane, send-keys, set-buffer/paste-buffer,
// copy-mode -q) from memory. Each pane draws a "> " composer line (the generic agent
// profile); text typed into it sits in the composer until Enter, which accepts it as a
// prompt and clears the composer. The load test's scale mode uses it to drive thousands of
// panes over several bridges from one machine, measuring the bus and the bridges without
// tmux.
package simtmux

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tmux-orc/tmux-orc/tmux"
)

// Prompt is one input the agent of a pane accepted (Enter pressed with text in the composer).
type Prompt struct {
	Text string
	At   time.Time
}

// Typed is one piece of text written into a pane's composer.
type Typed struct {
	Text string
	At   time.Time
}

// Pane is one simulated pane.
type Pane struct {
	Session string
	Window  int

	mu      sync.Mutex
	id      int
	draft   string
	typed   []Typed
	prompts []Prompt
}

// Target is the pane's tmux target, session:window.
func (p *Pane) Target() string { return p.Session + ":" + strconv.Itoa(p.Window) }

// Prompts returns the inputs the pane accepted so far.
func (p *Pane) Prompts() []Prompt {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Prompt(nil), p.prompts...)
}

// Typed returns the texts typed into the pane so far.
func (p *Pane) Typed() []Typed {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Typed(nil), p.typed...)
}

// Server is a simulated tmux server. It implements tmux.Runner.
type Server struct {
	mu      sync.Mutex
	panes   []*Pane
	byID    map[string]*Pane
	buffers map[string]string
	listing []string // the list-panes output, built once per change
}

// New returns a server with sessions sessions of windows windows each (one pane per
// window), session names prefix-0, prefix-1, ...
func New(prefix string, sessions, windows int) *Server {
	s := &Server{byID: map[string]*Pane{}, buffers: map[string]string{}}
	for i := 0; i < sessions; i++ {
		for w := 0; w < windows; w++ {
			p := &Pane{Session: fmt.Sprintf("%s-%d", prefix, i), Window: w, id: len(s.panes)}
			s.panes = append(s.panes, p)
			s.byID["%"+strconv.Itoa(p.id)] = p
		}
	}
	return s
}

// Panes returns the server's panes, in session and window order.
func (s *Server) Panes() []*Pane { return s.panes }

// Run answers one sequence of tmux commands, like a control connection: the output lines
// of all of them; an unknown command fails the sequence.
func (s *Server) Run(_ context.Context, cmds ...tmux.Cmd) ([]string, error) {
	var out []string
	for _, c := range cmds {
		lines, err := s.run(c)
		if err != nil {
			return out, &tmux.CommandError{Command: strings.Join(c, " "), Message: err.Error()}
		}
		out = append(out, lines...)
	}
	return out, nil
}

func (s *Server) run(c tmux.Cmd) ([]string, error) {
	if len(c) == 0 {
		return nil, fmt.Errorf("empty command")
	}
	args, flags := parseArgs(c[1:])
	switch c[0] {
	case "list-panes":
		return s.listPanes(), nil
	case "display-message":
		p, err := s.pane(flags["t"])
		if err != nil {
			return nil, err
		}
		return []string{p.facts()}, nil
	case "capture-pane":
		p, err := s.pane(flags["t"])
		if err != nil {
			return nil, err
		}
		return p.screen(), nil
	case "send-keys":
		p, err := s.pane(flags["t"])
		if err != nil {
			return nil, err
		}
		if _, literal := flags["l"]; literal {
			p.typeText(strings.Join(args, ""))
			return nil, nil
		}
		for _, k := range args {
			switch k {
			case "Enter", "C-m":
				p.enter()
			default:
				return nil, fmt.Errorf("simtmux: key %q not simulated", k)
			}
		}
		return nil, nil
	case "set-buffer":
		s.mu.Lock()
		s.buffers[flags["b"]] = strings.Join(args, "")
		s.mu.Unlock()
		return nil, nil
	case "paste-buffer":
		p, err := s.pane(flags["t"])
		if err != nil {
			return nil, err
		}
		s.mu.Lock()
		text, ok := s.buffers[flags["b"]]
		if _, del := flags["d"]; del {
			delete(s.buffers, flags["b"])
		}
		s.mu.Unlock()
		if !ok {
			return nil, fmt.Errorf("no buffer %s", flags["b"])
		}
		p.typeText(text)
		return nil, nil
	case "delete-buffer":
		s.mu.Lock()
		delete(s.buffers, flags["b"])
		s.mu.Unlock()
		return nil, nil
	case "copy-mode":
		return nil, nil // never in a mode
	}
	return nil, fmt.Errorf("simtmux: command %q not simulated", c[0])
}

// parseArgs splits a command's arguments into flags (-t value; -p, -l alone) and the rest
// (after "--", or the first argument that is not a flag).
func parseArgs(a []string) (args []string, flags map[string]string) {
	flags = map[string]string{}
	withValue := map[string]bool{"t": true, "b": true, "F": true}
	for i := 0; i < len(a); i++ {
		switch {
		case a[i] == "--":
			return append(args, a[i+1:]...), flags
		case len(a[i]) == 2 && a[i][0] == '-':
			f := a[i][1:]
			if withValue[f] && i+1 < len(a) {
				flags[f] = a[i+1]
				i++
			} else {
				flags[f] = ""
			}
		default:
			return append(args, a[i:]...), flags
		}
	}
	return args, flags
}

func (s *Server) pane(target string) (*Pane, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.byID[target]; ok {
		return p, nil
	}
	return nil, fmt.Errorf("can't find pane: %s", target)
}

// listPanes prints the panes in the form tmux.ListPanes asks for (its field order).
func (s *Server) listPanes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.listing == nil {
		sessionIDs := map[string]int{}
		for _, p := range s.panes {
			sid, ok := sessionIDs[p.Session]
			if !ok {
				sid = len(sessionIDs)
				sessionIDs[p.Session] = sid
			}
			active := "0"
			if p.Window == 0 {
				active = "1"
			}
			f := []string{"%" + strconv.Itoa(p.id), "$" + strconv.Itoa(sid), p.Session, "@" + strconv.Itoa(p.id),
				strconv.Itoa(p.Window), "agent", active, "0", "1", "0", strconv.Itoa(100000 + p.id), "0", "simagent", "generic", "", ""}
			s.listing = append(s.listing, "\x1e"+strings.Join(f, "\x1f"))
		}
	}
	return s.listing
}

// facts is the display-message line agentstate.ReadScreen asks for: in mode, cursor x and
// y, width, dead, pid, command.
func (p *Pane) facts() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return fmt.Sprintf("0 %d %d 200 0 %d simagent", 2+len(p.draft), screenRows-1, 100000+p.id)
}

// screenRows is the height of a simulated screen.
const screenRows = 5

// screen draws the last accepted prompt and the composer on the bottom row.
func (p *Pane) screen() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	rows := make([]string, screenRows)
	if n := len(p.prompts); n > 0 {
		rows[0] = "accepted: " + flat(p.prompts[n-1].Text)
	}
	rows[screenRows-1] = "> " + flat(p.draft)
	return rows
}

func flat(s string) string { return strings.ReplaceAll(s, "\n", " ") }

func (p *Pane) typeText(text string) {
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.draft += text
	p.typed = append(p.typed, Typed{Text: text, At: now})
}

func (p *Pane) enter() {
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.draft == "" {
		return
	}
	p.prompts = append(p.prompts, Prompt{Text: p.draft, At: now})
	p.draft = ""
}
