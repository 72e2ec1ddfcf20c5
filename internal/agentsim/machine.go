package agentsim

import (
	"strings"
	"time"
)

// Prompt is one accepted prompt, as written to the log.
type Prompt struct {
	Seq  int       `json:"seq"`
	Time time.Time `json:"time"`
	Text string    `json:"text"`
}

// Output is what one call into a [Machine] produced.
type Output struct {
	// Prompts are the prompts accepted during the call, in order.
	Prompts []Prompt
	// Events are the notable non-prompt events during the call.
	Events []Event
	// Screen holds terminal bytes that redraw the screen, or nil when the
	// screen did not change.
	Screen []byte
	// Exit reports that the agent wants to exit with Code.
	Exit bool
	// Code is the exit code when Exit is set.
	Code int

	records []any // Prompts and Events interleaved in the order they happened
}

// Records returns the prompts ([Prompt]) and events ([Event]) of the call
// interleaved in the order they happened, ready to be logged.
func (o Output) Records() []any { return o.records }

func (o *Output) addPrompt(p Prompt) {
	o.Prompts = append(o.Prompts, p)
	o.records = append(o.records, p)
}

func (o *Output) addEvent(e Event) {
	o.Events = append(o.Events, e)
	o.records = append(o.records, e)
}

// Machine is the agent's input and state machine. It needs no tty: callers
// feed it byte chunks stamped with their arrival time and call Tick at
// Deadline. A Machine is not safe for concurrent use.
type Machine struct {
	cfg        Config
	dec        decoder
	composer   []rune
	cur        int // cursor: rune offset into composer
	queue      []string
	modal      bool
	dialogSel  int // highlighted choice of the StyleClaude dialog
	picker     bool
	pickerSel  int
	starting   bool
	startUntil time.Time
	busyUntil  time.Time
	history    []Prompt // the last cfg.Transcript accepted prompts
	seq        int
	interrupts int
	runLen     int       // printable characters in the current run
	lastRune   time.Time // arrival of the last character of the run
	dropped    string    // text the modal dialog dropped, not yet logged
	droppedAt  time.Time // arrival of the first dropped key
	frame      int
	nextFrame  time.Time
	exited     bool
	dirty      bool
}

// NewMachine returns a machine that starts at now, busy if cfg.StartBusy is
// set and with the modal dialog open if cfg.Modal is set.
func NewMachine(cfg Config, now time.Time) *Machine {
	m := &Machine{cfg: cfg, modal: cfg.Modal}
	if cfg.Startup > 0 {
		m.starting, m.startUntil = true, now.Add(cfg.Startup)
	}
	if cfg.StartBusy > 0 {
		m.startBusy(now, cfg.StartBusy)
	}
	return m
}

// Feed processes chunk, read at now, and returns what it caused. Chunks must
// be fed in arrival order with non-decreasing times.
func (m *Machine) Feed(now time.Time, chunk []byte) Output {
	var out Output
	if m.exited {
		return out
	}
	m.advance(now, &out)
	if !out.Exit {
		m.applyAll(m.dec.feed(now, chunk, m.cfg.EscTimeout), &out)
	}
	return m.finish(out)
}

// Tick advances timers (busy end, spinner, Esc timeout) to now.
func (m *Machine) Tick(now time.Time) Output {
	var out Output
	if m.exited {
		return out
	}
	m.advance(now, &out)
	if !out.Exit {
		m.applyAll(m.dec.expire(now, m.cfg.EscTimeout, nil), &out)
	}
	return m.finish(out)
}

// Deadline reports the next time Tick has work to do.
func (m *Machine) Deadline() (time.Time, bool) {
	var dl time.Time
	consider := func(t time.Time) {
		if !t.IsZero() && (dl.IsZero() || t.Before(dl)) {
			dl = t
		}
	}
	if !m.exited {
		consider(m.startUntil)
		consider(m.busyUntil)
		consider(m.nextFrame)
		if t, ok := m.dec.deadline(m.cfg.EscTimeout); ok {
			consider(t)
		}
	}
	return dl, !dl.IsZero()
}

// SetModal opens or closes the modal dialog at now.
func (m *Machine) SetModal(now time.Time, on bool) Output {
	var out Output
	if m.exited {
		return out
	}
	m.advance(now, &out)
	if m.modal != on {
		m.modal = on
		m.dirty = true
		kind := EventModalClose
		if on {
			kind = EventModalOpen
		}
		out.addEvent(Event{Kind: kind, Time: now})
	}
	return m.finish(out)
}

// Composer returns the text currently in the composer.
func (m *Machine) Composer() string { return string(m.composer) }

// Queued returns the prompts submitted while busy and not yet accepted.
func (m *Machine) Queued() []string { return append([]string(nil), m.queue...) }

// Modal reports whether the modal dialog is open.
func (m *Machine) Modal() bool { return m.modal }

// Busy reports whether the agent is busy, as of the last call.
func (m *Machine) Busy() bool { return !m.busyUntil.IsZero() }

// Accepted returns how many prompts have been accepted.
func (m *Machine) Accepted() int { return m.seq }

// Interrupts returns how many lone Esc keys have arrived.
func (m *Machine) Interrupts() int { return m.interrupts }

// advance ends a busy period that is over at now, accepting queued prompts
// one at a time, and steps the spinner.
func (m *Machine) advance(now time.Time, out *Output) {
	if m.starting && !now.Before(m.startUntil) {
		m.starting, m.startUntil = false, time.Time{}
		m.dirty = true
		out.addEvent(Event{Kind: EventStarted, Time: now})
	}
	for !m.busyUntil.IsZero() && !now.Before(m.busyUntil) {
		end := m.busyUntil
		m.busyUntil = time.Time{}
		m.nextFrame = time.Time{}
		m.dirty = true
		// Queued prompts are accepted in order; each may start a new busy
		// period, which the loop then ends if it is over too.
		for m.busyUntil.IsZero() && len(m.queue) > 0 {
			text := m.queue[0]
			m.queue = m.queue[1:]
			m.accept(end, text, out)
			if out.Exit {
				return
			}
		}
	}
	if !m.nextFrame.IsZero() && !now.Before(m.nextFrame) {
		m.frame++
		m.nextFrame = now.Add(m.cfg.SpinnerInterval)
		m.dirty = true
	}
}

func (m *Machine) applyAll(toks []token, out *Output) {
	defer m.flushDropped(out)
	for _, tok := range toks {
		if m.startupKey(tok, out) || m.pickerKey(tok, out) || m.dialogKey(tok, out) {
			continue
		}
		m.apply(tok, out)
		if out.Exit {
			return
		}
	}
}

// apply handles one decoded token.
func (m *Machine) apply(tok token, out *Output) {
	if tok.kind != tokRune && tok.kind != tokEnter {
		m.runLen = 0
	}
	switch tok.kind {
	case tokRune:
		m.noteRune(tok.at)
		m.insert(string(tok.r))
	case tokEnter:
		if m.cfg.Editing && tok.key == keyLF {
			m.insert("\n")
			return
		}
		m.enter(tok.at, out)
	case tokBackspace:
		m.backspace()
	case tokKillLine:
		m.killLine()
	case tokIgnored:
		if m.cfg.Editing && tok.key != keyNone {
			m.move(tok.key)
		}
	case tokPaste:
		m.insert(tok.text)
	case tokEsc:
		m.interrupts++
		m.dirty = true
		out.addEvent(Event{Kind: EventInterrupt, Time: tok.at, Count: m.interrupts})
	case tokCtrlC:
		out.addEvent(Event{Kind: EventCtrlC, Time: tok.at})
		m.exit(ExitCtrlC, out)
	}
}

// noteRune extends or restarts the run of fast printable characters.
func (m *Machine) noteRune(at time.Time) {
	if m.runLen > 0 && at.Sub(m.lastRune) <= m.cfg.BurstGap {
		m.runLen++
	} else {
		m.runLen = 1
	}
	m.lastRune = at
}

// inBurst reports whether an Enter at at belongs to a paste burst.
func (m *Machine) inBurst(at time.Time) bool {
	return m.cfg.BurstChars > 0 && m.runLen >= m.cfg.BurstChars &&
		at.Sub(m.lastRune) <= m.cfg.EnterWindow
}

// enter handles CR or LF: a newline inside a burst, swallowed by the modal
// dialog, queued while busy, otherwise a submit. A composer holding only
// whitespace is not submitted and is left as it is.
func (m *Machine) enter(at time.Time, out *Output) {
	if m.modal {
		m.runLen = 0
		out.addEvent(Event{Kind: EventSwallowed, Time: at, Text: string(m.composer)})
		return
	}
	if m.inBurst(at) {
		// The newline is part of the burst, as in Codex's paste buffer.
		m.runLen++
		m.lastRune = at
		m.insert("\n")
		return
	}
	m.runLen = 0
	text := string(m.composer)
	if strings.TrimSpace(text) == "" {
		return
	}
	m.composer, m.cur = nil, 0
	m.dirty = true
	if m.isPickerCommand(text) && m.busyUntil.IsZero() {
		m.openPicker(at, out)
		return
	}
	if !m.busyUntil.IsZero() {
		m.queue = append(m.queue, text)
		out.addEvent(Event{Kind: EventQueued, Time: at, Text: text})
		return
	}
	m.accept(at, text, out)
}

// accept records text as the next accepted prompt and starts the busy time.
func (m *Machine) accept(at time.Time, text string, out *Output) {
	m.seq++
	p := Prompt{Seq: m.seq, Time: at, Text: text}
	out.addPrompt(p)
	m.history = append(m.history, p)
	if n := len(m.history) - m.cfg.Transcript; n > 0 {
		m.history = append([]Prompt(nil), m.history[n:]...)
	}
	m.dirty = true
	if m.cfg.ExitAfter > 0 && m.seq >= m.cfg.ExitAfter {
		m.exit(ExitPromptLimit, out)
		return
	}
	if m.cfg.Busy > 0 {
		m.startBusy(at, m.cfg.Busy)
	}
}

func (m *Machine) startBusy(at time.Time, d time.Duration) {
	m.busyUntil = at.Add(d)
	if m.cfg.SpinnerInterval > 0 {
		m.nextFrame = at.Add(m.cfg.SpinnerInterval)
	}
	m.dirty = true
}

func (m *Machine) insert(s string) {
	if s == "" {
		return
	}
	r := []rune(s)
	m.composer = append(m.composer[:m.cur], append(r, m.composer[m.cur:]...)...)
	m.cur += len(r)
	m.dirty = true
}

func (m *Machine) exit(code int, out *Output) {
	m.exited = true
	out.Exit = true
	out.Code = code
}

// finish attaches a redraw to out when the screen changed.
func (m *Machine) finish(out Output) Output {
	if m.dirty && !m.exited {
		out.Screen = m.Render()
		m.dirty = false
	}
	return out
}
