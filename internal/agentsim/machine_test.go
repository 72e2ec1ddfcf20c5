package agentsim

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// at returns t0 plus ms milliseconds (fractions allowed).
func at(ms float64) time.Time { return t0.Add(time.Duration(ms * float64(time.Millisecond))) }

// sim drives a Machine with synthetic chunks and collects its outputs.
type sim struct {
	t       *testing.T
	m       *Machine
	prompts []Prompt
	events  []Event
	exit    *int
	screen  []byte
}

func newSim(t *testing.T, mutate func(*Config)) *sim {
	t.Helper()
	cfg := DefaultConfig()
	if mutate != nil {
		mutate(&cfg)
	}
	return &sim{t: t, m: NewMachine(cfg, t0)}
}

func (s *sim) collect(o Output) {
	s.prompts = append(s.prompts, o.Prompts...)
	s.events = append(s.events, o.Events...)
	if o.Screen != nil {
		s.screen = o.Screen
	}
	if o.Exit {
		code := o.Code
		s.exit = &code
	}
}

// feed runs due timers, then feeds chunk at ms.
func (s *sim) feed(ms float64, chunk string) *sim {
	s.tick(ms)
	s.collect(s.m.Feed(at(ms), []byte(chunk)))
	return s
}

// tick fires every deadline up to ms, as the real loop would.
func (s *sim) tick(ms float64) *sim {
	now := at(ms)
	for i := 0; i < 10000; i++ {
		dl, ok := s.m.Deadline()
		if !ok || dl.After(now) {
			return s
		}
		s.collect(s.m.Tick(dl))
	}
	s.t.Fatal("deadline loop did not settle")
	return s
}

func (s *sim) texts() []string {
	out := []string{}
	for _, p := range s.prompts {
		out = append(out, p.Text)
	}
	return out
}

func (s *sim) wantTexts(want ...string) {
	s.t.Helper()
	if want == nil {
		want = []string{}
	}
	if got := s.texts(); !reflect.DeepEqual(got, want) {
		s.t.Fatalf("accepted %q, want %q", got, want)
	}
}

func (s *sim) wantComposer(want string) {
	s.t.Helper()
	if got := s.m.Composer(); got != want {
		s.t.Fatalf("composer %q, want %q", got, want)
	}
}

func (s *sim) count(kind string) int {
	n := 0
	for _, e := range s.events {
		if e.Kind == kind {
			n++
		}
	}
	return n
}

func TestTypedThenEnterSubmits(t *testing.T) {
	s := newSim(t, nil)
	s.feed(0, "hello").feed(150, "\r")
	s.wantTexts("hello")
	s.wantComposer("")
	if !s.prompts[0].Time.Equal(at(150)) || s.prompts[0].Seq != 1 {
		t.Fatalf("prompt %+v", s.prompts[0])
	}
}

func TestBurstRuleThresholds(t *testing.T) {
	cases := []struct {
		name     string
		gaps     []float64 // arrival of each character, ms
		enter    float64
		submit   bool
		composer string
	}{
		{"same read", []float64{0, 0, 0}, 0, false, "abc\n"},
		{"enter inside window", []float64{0, 7, 14}, 14 + 119, false, "abc\n"},
		{"enter at window edge", []float64{0, 8, 16}, 16 + 120, false, "abc\n"},
		{"enter after window", []float64{0, 8, 16}, 16 + 121, true, ""},
		{"gap too wide is no burst", []float64{0, 9, 18}, 19, true, ""},
		{"two chars are no burst", []float64{0, 0}, 1, true, ""},
		{"burst broken by slow char", []float64{0, 1, 2, 50}, 51, true, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newSim(t, nil)
			text := "abcdefgh"[:len(c.gaps)]
			for i, ms := range c.gaps {
				s.feed(ms, text[i:i+1])
			}
			s.feed(c.enter, "\r")
			if c.submit {
				s.wantTexts(text)
			} else {
				s.wantTexts()
			}
			s.wantComposer(c.composer)
		})
	}
}

func TestBurstNewlineThenQuietEnterSubmits(t *testing.T) {
	s := newSim(t, nil)
	s.feed(0, "hello\r") // text and Enter in one read, as one tmux command sends them
	s.wantTexts()
	s.wantComposer("hello\n")
	s.feed(60, "\r") // still within 120 ms of the burst (the newline extends it)
	s.wantComposer("hello\n\n")
	s.feed(200, "\r")
	s.wantTexts("hello\n\n")
}

func TestBurstRuleDisabled(t *testing.T) {
	s := newSim(t, func(c *Config) { c.BurstChars = 0 })
	s.feed(0, "hello\rworld\n")
	s.wantTexts("hello", "world")
}

func TestLFSubmitsOutsideBurst(t *testing.T) {
	s := newSim(t, nil)
	s.feed(0, "hi").feed(200, "\n")
	s.wantTexts("hi")
}

func TestBracketedPaste(t *testing.T) {
	s := newSim(t, nil)
	s.feed(0, "\x1b[200~line1\rline2\r\nline3\nline4\x1b[201~\r")
	s.wantTexts("line1\nline2\nline3\nline4")
}

func TestBracketedPasteSplitMarkers(t *testing.T) {
	s := newSim(t, nil)
	for i, part := range []string{"\x1b[2", "00~ab", "c\x1b[20", "1", "~"} {
		s.feed(float64(i), part)
	}
	s.wantComposer("abc")
	s.feed(200, "\r")
	s.wantTexts("abc")
	if s.count(EventInterrupt) != 0 {
		t.Fatal("split paste marker counted as Esc")
	}
}

func TestPasteDropsControlsAndEndsEarly(t *testing.T) {
	s := newSim(t, nil)
	// A stray ESC[201~ inside the text ends the paste; the rest is typed.
	s.feed(0, "\x1b[200~a\x07b\tc\x1b[201~xy\x1b[201~")
	s.wantComposer("ab\tcxy")
}

func TestBusyQueuesInOrder(t *testing.T) {
	s := newSim(t, func(c *Config) { c.Busy = time.Second })
	s.feed(0, "one").feed(200, "\r")
	s.wantTexts("one")
	if !s.m.Busy() {
		t.Fatal("not busy after submit")
	}
	s.feed(300, "two").feed(500, "\r")
	s.feed(600, "three").feed(800, "\r")
	s.feed(900, "draft")
	s.wantTexts("one")
	if got := s.m.Queued(); !reflect.DeepEqual(got, []string{"two", "three"}) {
		t.Fatalf("queued %q", got)
	}
	if !strings.Contains(string(s.screen), QueuedMarker+": two") || !strings.Contains(string(s.screen), "Working") {
		t.Fatalf("screen lacks queue or spinner: %q", s.screen)
	}
	s.tick(1200) // busy ends at 1200: "two" accepted, busy again
	s.wantTexts("one", "two")
	if !s.prompts[1].Time.Equal(at(1200)) {
		t.Fatalf("queued prompt time %v", s.prompts[1].Time)
	}
	s.tick(2200)
	s.wantTexts("one", "two", "three")
	s.wantComposer("draft")
	s.tick(3300)
	if s.m.Busy() || s.count(EventQueued) != 2 {
		t.Fatalf("busy=%v queued events=%d", s.m.Busy(), s.count(EventQueued))
	}
}

func TestStartBusy(t *testing.T) {
	s := newSim(t, func(c *Config) { c.StartBusy = 500 * time.Millisecond })
	s.feed(0, "a").feed(200, "\r").feed(300, "b").feed(450, "\r")
	s.wantTexts()
	s.tick(500)
	s.wantTexts("a", "b")
}

func TestSpinnerAnimatesWhileBusy(t *testing.T) {
	s := newSim(t, func(c *Config) { c.StartBusy = time.Second })
	redraws := 0
	for ms := 0.0; ms <= 1000; ms += 50 {
		if dl, ok := s.m.Deadline(); ok && !dl.After(at(ms)) {
			if s.m.Tick(dl).Screen != nil {
				redraws++
			}
		}
	}
	if redraws < 9 || s.m.Busy() {
		t.Fatalf("redraws=%d busy=%v", redraws, s.m.Busy())
	}
	if _, ok := s.m.Deadline(); ok {
		t.Fatal("idle machine still has a deadline")
	}
}

func TestModalSwallowsEnter(t *testing.T) {
	s := newSim(t, func(c *Config) { c.Modal = true })
	s.feed(0, "keep").feed(200, "\r")
	s.wantTexts()
	s.wantComposer("keep")
	if s.count(EventSwallowed) != 1 || !strings.Contains(string(s.screen), ModalQuestion) {
		t.Fatalf("events %+v screen %q", s.events, s.screen)
	}
	s.collect(s.m.SetModal(at(300), false))
	s.feed(400, "\r")
	s.wantTexts("keep")
	if s.count(EventModalClose) != 1 {
		t.Fatalf("events %+v", s.events)
	}
}

func TestEscapeSequencesIgnored(t *testing.T) {
	s := newSim(t, nil)
	seqs := []string{"\x1b[A", "\x1b[1;5C", "\x1bOP", "\x1b]0;title\x07", "\x1b]2;t\x1b\\", "\x1bx", "\x1b[201~", "\x1b[I"}
	s.feed(0, "a")
	for i, seq := range seqs {
		s.feed(float64(20*(i+1)), seq)
	}
	s.feed(500, "b")
	s.wantComposer("ab")
	if s.m.Interrupts() != 0 {
		t.Fatalf("interrupts %d", s.m.Interrupts())
	}
}

func TestLoneEscIsInterrupt(t *testing.T) {
	s := newSim(t, nil)
	s.feed(0, "ab\x1b")
	s.feed(5, "[B") // completes an arrow key within the timeout
	s.feed(50, "\x1b")
	s.tick(70)
	s.feed(100, "\x1b").feed(130, "[C") // ESC, then '[' too late: Esc plus text
	s.feed(200, "\x1b\x1b[D")           // Esc Esc-prefixed sequence: one interrupt
	s.tick(300)
	if got := s.m.Interrupts(); got != 3 {
		t.Fatalf("interrupts %d, want 3", got)
	}
	s.wantComposer("ab[C")
	if s.count(EventInterrupt) != 3 || !s.events[0].Time.Equal(at(50)) {
		t.Fatalf("events %+v", s.events)
	}
}

func TestBackspaceAndKillLine(t *testing.T) {
	s := newSim(t, nil)
	s.feed(0, "héllo").feed(50, "\x7f\x7f").feed(100, "\x08")
	s.wantComposer("hé")
	s.feed(150, "\x15")
	s.wantComposer("")
	s.feed(200, "\x7f").feed(250, "x").feed(400, "\r")
	s.wantTexts("x")
}

func TestUTF8SplitAcrossReads(t *testing.T) {
	s := newSim(t, nil)
	b := []byte("é→🙂")
	for i := range b {
		s.feed(float64(i*20), string(b[i:i+1]))
	}
	s.wantComposer("é→🙂")
	s.feed(500, "\xff") // invalid byte becomes U+FFFD
	s.wantComposer("é→🙂\uFFFD")
}

func TestEmptyEnterRecordsNothing(t *testing.T) {
	s := newSim(t, nil)
	s.feed(0, "\r").feed(200, "  ").feed(400, "\r")
	s.wantTexts()
	s.wantComposer("  ")
}

func TestCtrlCExits(t *testing.T) {
	s := newSim(t, nil)
	s.feed(0, "ab\x03cd")
	if s.exit == nil || *s.exit != ExitCtrlC || s.count(EventCtrlC) != 1 {
		t.Fatalf("exit %v events %+v", s.exit, s.events)
	}
	s.wantComposer("ab")
	if o := s.m.Feed(at(10), []byte("\r")); len(o.Prompts) != 0 || o.Screen != nil {
		t.Fatal("exited machine still reacts")
	}
}

func TestExitAfter(t *testing.T) {
	s := newSim(t, func(c *Config) { c.ExitAfter = 2 })
	s.feed(0, "a").feed(200, "\r").feed(400, "b").feed(600, "\r")
	s.wantTexts("a", "b")
	if s.exit == nil || *s.exit != ExitPromptLimit {
		t.Fatalf("exit %v", s.exit)
	}
}

func TestLinesShowComposer(t *testing.T) {
	s := newSim(t, nil)
	s.feed(0, "\x1b[200~one\rtwo\x1b[201~")
	lines := s.m.Lines()
	if got := lines[len(lines)-2:]; !reflect.DeepEqual(got, []string{"> one", "  two"}) {
		t.Fatalf("lines %q", lines)
	}
}

func TestModalKeysConsumeInput(t *testing.T) {
	s := newSim(t, func(c *Config) { c.Modal, c.ModalKeys = true, true })
	s.feed(0, "draft").feed(100, "\x1b[200~pasted\x1b[201~")
	s.feed(300, "\r") // Enter picks the highlighted Yes
	s.wantTexts()
	s.wantComposer("")
	if s.m.Modal() || len(s.events) != 3 || s.events[0].Kind != EventModalDropped ||
		s.events[0].Text != "draft" || s.events[1].Text != "pasted" || s.events[2].Text != AnswerYes {
		t.Fatalf("modal %v events %+v", s.m.Modal(), s.events)
	}
	s.collect(s.m.SetModal(at(400), true))
	s.feed(500, "n").feed(600, "x")
	s.wantComposer("x")
	s.collect(s.m.SetModal(at(700), true))
	s.feed(800, "\x1b")
	s.tick(900)
	if s.m.Modal() || s.m.Interrupts() != 0 || s.events[len(s.events)-1].Text != AnswerNo {
		t.Fatalf("Esc did not answer no: %+v", s.events)
	}
}

func TestRecordsKeepOrder(t *testing.T) {
	s := newSim(t, func(c *Config) { c.StartBusy = 100 * time.Millisecond; c.EscTimeout = 0 })
	s.feed(0, "q").feed(50, "\r")
	o := s.m.Feed(at(200), []byte("\x1b\x1b")) // busy ends (q accepted), then Esc
	recs := o.Records()
	if len(recs) != 2 {
		t.Fatalf("records %+v", recs)
	}
	if p, ok := recs[0].(Prompt); !ok || p.Text != "q" {
		t.Fatalf("first record %+v", recs[0])
	}
	if e, ok := recs[1].(Event); !ok || e.Kind != EventInterrupt {
		t.Fatalf("second record %+v", recs[1])
	}
}
