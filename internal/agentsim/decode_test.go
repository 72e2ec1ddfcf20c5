package agentsim

import (
	"strings"
	"testing"
	"time"
)

func kinds(toks []token) []tokenKind {
	out := []tokenKind{}
	for _, t := range toks {
		out = append(out, t.kind)
	}
	return out
}

func TestDecodeKeys(t *testing.T) {
	var d decoder
	toks := d.feed(t0, []byte("a\r\n\x7f\x08\x15\x03\t\x01\x1b[A\x1bOB\x1b[200~x\x1b[201~é"), time.Millisecond)
	want := []tokenKind{tokRune, tokEnter, tokEnter, tokBackspace, tokBackspace, tokKillLine,
		tokCtrlC, tokRune, tokIgnored, tokIgnored, tokIgnored, tokPaste, tokRune}
	if got := kinds(toks); len(got) != len(want) {
		t.Fatalf("kinds %v, want %v", got, want)
	}
	for i, k := range kinds(toks) {
		if k != want[i] {
			t.Fatalf("token %d kind %v, want %v (all %v)", i, k, want[i], kinds(toks))
		}
	}
	if toks[11].text != "x" || toks[12].r != 'é' {
		t.Fatalf("paste %q rune %q", toks[11].text, toks[12].r)
	}
}

func TestDecodeEscDeadline(t *testing.T) {
	var d decoder
	if toks := d.feed(t0, []byte("\x1b"), 10*time.Millisecond); len(toks) != 0 {
		t.Fatalf("lone ESC decoded early: %v", kinds(toks))
	}
	dl, ok := d.deadline(10 * time.Millisecond)
	if !ok || !dl.Equal(t0.Add(10*time.Millisecond)) {
		t.Fatalf("deadline %v %v", dl, ok)
	}
	if toks := d.expire(t0.Add(9*time.Millisecond), 10*time.Millisecond, nil); len(toks) != 0 {
		t.Fatal("expired before the deadline")
	}
	toks := d.expire(dl, 10*time.Millisecond, nil)
	if len(toks) != 1 || toks[0].kind != tokEsc || !toks[0].at.Equal(t0) {
		t.Fatalf("tokens %+v", toks)
	}
	if _, ok := d.deadline(10 * time.Millisecond); ok {
		t.Fatal("deadline left after expiry")
	}
}

func TestDecodeUnterminatedStringExpires(t *testing.T) {
	var d decoder
	d.feed(t0, []byte("\x1b]0;never ends"), 10*time.Millisecond)
	toks := d.feed(t0.Add(20*time.Millisecond), []byte("ok"), 10*time.Millisecond)
	if got := kinds(toks); len(got) != 3 || got[0] != tokIgnored || got[1] != tokRune {
		t.Fatalf("kinds %v", got)
	}
}

func TestDecodeUTF8WaitsWithoutTimeout(t *testing.T) {
	var d decoder
	b := []byte("🙂")
	d.feed(t0, b[:2], time.Millisecond)
	if _, ok := d.deadline(time.Millisecond); ok {
		t.Fatal("partial UTF-8 got an Esc deadline")
	}
	toks := d.feed(t0.Add(time.Second), b[2:], time.Millisecond)
	if len(toks) != 1 || toks[0].r != '🙂' {
		t.Fatalf("tokens %+v", toks)
	}
}

func TestDecodeLargePasteInChunks(t *testing.T) {
	var d decoder
	body := strings.Repeat("0123456789abcdef\n", 8192) // 136 KiB
	in := []byte("\x1b[200~" + body + "\x1b[201~")
	var toks []token
	for i := 0; i < len(in); i += 4093 { // odd size, so markers split
		toks = append(toks, d.feed(t0, in[i:min(i+4093, len(in))], time.Millisecond)...)
	}
	if len(toks) != 1 || toks[0].kind != tokPaste || toks[0].text != body {
		t.Fatalf("got %d tokens, paste ok=%v", len(toks), len(toks) == 1 && toks[0].text == body)
	}
}

func TestNormalizePaste(t *testing.T) {
	got := normalizePaste([]byte("a\r\nb\rc\nd\te\x00\x1b\u0085f\xff"))
	if want := "a\nb\nc\nd\tef\uFFFD"; got != want {
		t.Fatalf("normalizePaste = %q, want %q", got, want)
	}
}

func TestParseLogRoundTrip(t *testing.T) {
	var buf strings.Builder
	lines := []string{
		`{"event":"ready","time":"2026-01-02T03:04:05Z","pid":7}`,
		`{"seq":1,"time":"2026-01-02T03:04:06.5Z","text":"hi\nthere"}`,
		`{"event":"exit","time":"2026-01-02T03:04:07Z","code":130}`,
	}
	buf.WriteString(strings.Join(lines, "\n") + "\n")
	l, err := ParseLog(strings.NewReader(buf.String()))
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Prompts) != 1 || l.Prompts[0].Seq != 1 || l.Prompts[0].Text != "hi\nthere" ||
		l.Count(EventReady) != 1 || l.Events[0].PID != 7 || l.Events[1].Code != ExitCtrlC {
		t.Fatalf("log %+v", l)
	}
	if _, err := ParseLog(strings.NewReader("{oops\n")); err == nil {
		t.Fatal("bad line accepted")
	}
}
