package agentsim

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseFlags(t *testing.T) {
	o, err := parseFlags([]string{"-busy", "2s", "-modal", "-exit-after", "3", "-burst-chars", "0"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.cfg.Busy != 2*time.Second || !o.cfg.Modal || o.cfg.ExitAfter != 3 || o.cfg.BurstChars != 0 || !o.bracketed {
		t.Fatalf("options %+v", o)
	}
	if o.cfg.BurstGap != 8*time.Millisecond || o.cfg.EnterWindow != 120*time.Millisecond {
		t.Fatalf("defaults lost: %+v", o.cfg)
	}
	o, err = parseFlags([]string{"-style", "claude", "-editing", "-startup", "2s", "-picker-command", "/model"}, io.Discard)
	if err != nil || o.cfg.Style != StyleClaude || !o.cfg.Editing || o.cfg.Startup != 2*time.Second || o.cfg.PickerCommand != "/model" {
		t.Fatalf("claude options %+v, %v", o.cfg, err)
	}
	for _, args := range [][]string{{"-nope"}, {"extra"}, {"-busy", "-1s"}, {"-exit-after", "x"}, {"-style", "codex"}, {"-startup", "-1s"}} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("parseFlags(%q) accepted", args)
		}
	}
	if _, err := parseFlags([]string{"-h"}, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v", err)
	}
}

// TestMainOnPipe runs Main on a pipe (no tty, so no raw mode) and checks the
// logs it writes.
func TestMainOnPipe(t *testing.T) {
	dir := t.TempDir()
	logPath, rawPath := filepath.Join(dir, "log"), filepath.Join(dir, "raw")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var screen bytes.Buffer
	done := make(chan int)
	go func() { done <- Main([]string{"-log", logPath, "-raw", rawPath}, r, &screen) }()

	write := func(s string) {
		if _, err := w.WriteString(s); err != nil {
			t.Fatal(err)
		}
	}
	write("hello")
	time.Sleep(200 * time.Millisecond) // longer than the 120 ms Enter window
	write("\r")
	write("abc\r") // a burst: the Enter becomes a newline
	time.Sleep(200 * time.Millisecond)
	write("\r")
	w.Close()
	select {
	case code := <-done:
		if code != ExitOK {
			t.Fatalf("exit code %d", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Main did not return at end of input")
	}

	l, err := ReadLog(logPath)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := l.Texts(), []string{"hello", "abc\n"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("accepted %q, want %q", got, want)
	}
	if l.Count(EventReady) != 1 || l.Count(EventExit) != 1 || l.Events[0].PID != os.Getpid() {
		t.Fatalf("events %+v", l.Events)
	}
	reads, err := ReadRaw(rawPath)
	if err != nil {
		t.Fatal(err)
	}
	var all []byte
	for _, rr := range reads {
		all = append(all, rr.Bytes()...)
		if rr.Time().IsZero() {
			t.Fatal("raw read without time")
		}
	}
	if string(all) != "hello\rabc\r\r" {
		t.Fatalf("raw bytes %q", all)
	}
	out := screen.String()
	if !strings.HasPrefix(out, enableBracketedPaste) || !strings.Contains(out, "[#2] abc (+1 lines)") {
		t.Fatalf("screen %q", out)
	}
}
