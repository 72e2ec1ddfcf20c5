package agentsim

import (
	"bytes"
	"strings"
	"syscall"
	"testing"
	"time"
)

// enterGap is well over the 120 ms Enter window of the burst rule, with
// margin for reads delayed by a loaded machine.
const enterGap = 250 * time.Millisecond

func TestTmuxTextThenSeparateEnterSubmits(t *testing.T) {
	p := startSim(t)
	p.mustTmux("send-keys", "-t", p.pane, "-l", "--", "hello")
	p.waitScreen("> hello")
	if cur := p.mustTmux("display-message", "-p", "-t", p.pane, "#{cursor_x},#{cursor_y}"); cur != "7,1\n" {
		t.Fatalf("cursor at %q, want the end of the composer (7,1)", cur)
	}
	time.Sleep(enterGap)
	p.mustTmux("send-keys", "-t", p.pane, "Enter")
	p.waitPrompts("hello")
	p.waitScreen("[#1] hello", ">") // the composer was cleared
}

func TestTmuxJoinedEnterBecomesNewline(t *testing.T) {
	p := startSim(t)
	p.mustTmux("send-keys", "-t", p.pane, "-l", "--", "hello", ";", "send-keys", "-t", p.pane, "Enter")
	p.waitScreen("agentsim [idle] accepted=0 queued=0 interrupts=0 composer_lines=2", "> hello", "")
	time.Sleep(enterGap)
	if got := p.log().Texts(); len(got) != 0 {
		t.Fatalf("joined Enter submitted %q", got)
	}
	// Text and Enter came in one read, which is why the rule fired.
	reads, err := ReadRaw(p.rawPath)
	if err != nil {
		t.Fatal(err)
	}
	if len(reads) == 0 || !bytes.Equal(reads[0].Bytes(), []byte("hello\r")) {
		t.Fatalf("reads %+v, want one read of hello\\r", reads)
	}
	// A retried Enter after the quiet gap submits, newline included.
	p.mustTmux("send-keys", "-t", p.pane, "Enter")
	p.waitPrompts("hello\n")
}

func TestTmuxPasteBuffer(t *testing.T) {
	p := startSim(t)
	p.mustTmux("set-buffer", "-b", "orc", "line one\nline two")
	p.mustTmux("paste-buffer", "-p", "-b", "orc", "-t", p.pane)
	p.waitScreen("> line one", "  line two")
	reads, err := ReadRaw(p.rawPath)
	if err != nil {
		t.Fatal(err)
	}
	if len(reads) == 0 || !bytes.HasPrefix(reads[0].Bytes(), pasteStart) {
		t.Fatalf("paste not bracketed: %+v", reads)
	}
	p.mustTmux("send-keys", "-t", p.pane, "Enter")
	p.waitPrompts("line one\nline two")

	// A bracketed paste is no burst: an Enter in the same command submits.
	p.mustTmux("set-buffer", "-b", "orc", "third", ";",
		"paste-buffer", "-p", "-d", "-b", "orc", "-t", p.pane, ";",
		"send-keys", "-t", p.pane, "Enter")
	p.waitPrompts("line one\nline two", "third")
}

func TestTmuxBusyQueue(t *testing.T) {
	p := startSim(t, "-start-busy", "2500ms")
	p.waitScreen("agentsim [busy] accepted=0 queued=0 interrupts=0 composer_lines=1")
	for _, text := range []string{"first", "second"} {
		p.mustTmux("send-keys", "-t", p.pane, "-l", "--", text)
		time.Sleep(enterGap)
		p.mustTmux("send-keys", "-t", p.pane, "Enter")
	}
	p.waitScreen(">", QueuedMarker+": first", QueuedMarker+": second")
	if got := p.log().Texts(); len(got) != 0 {
		t.Fatalf("accepted while busy: %q", got)
	}
	p.waitPrompts("first", "second")
}

func TestTmuxModalSwallowsEnterUntilToggled(t *testing.T) {
	p := startSim(t, "-modal")
	p.mustTmux("send-keys", "-t", p.pane, "-l", "--", "go ahead")
	time.Sleep(enterGap)
	p.mustTmux("send-keys", "-t", p.pane, "Enter")
	waitFor(t, 5*time.Second, func() (bool, string) {
		return p.log().Count(EventSwallowed) == 1, "no swallowed Enter"
	})
	p.waitScreen("> go ahead", ModalQuestion, "  1. Yes", "  2. No")
	if err := syscall.Kill(p.pid, syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, func() (bool, string) {
		return p.log().Count(EventModalClose) == 1, "modal not closed"
	})
	p.mustTmux("send-keys", "-t", p.pane, "Enter")
	p.waitPrompts("go ahead")
}

func TestTmuxEscapeKeys(t *testing.T) {
	p := startSim(t)
	p.mustTmux("send-keys", "-t", p.pane, "Up", "Left", "F1", "Escape")
	waitFor(t, 5*time.Second, func() (bool, string) {
		return p.log().Count(EventInterrupt) == 1, "no interrupt logged"
	})
	p.waitScreen(">")
	if n := p.log().Count(EventInterrupt); n != 1 {
		t.Fatalf("interrupts %d, want 1", n)
	}
}

func TestTmuxCtrlCKills(t *testing.T) {
	p := startSim(t)
	p.mustTmux("send-keys", "-t", p.pane, "-l", "--", "draft")
	p.mustTmux("send-keys", "-t", p.pane, "C-c")
	if status := p.waitDead(); status != ExitCtrlC {
		t.Fatalf("exit status %d, want %d", status, ExitCtrlC)
	}
	l := p.log()
	if l.Count(EventCtrlC) != 1 || l.Events[len(l.Events)-1].Code != ExitCtrlC {
		t.Fatalf("events %+v", l.Events)
	}
}

func TestTmuxCrashSignalAndExitAfter(t *testing.T) {
	p := startSim(t)
	if err := syscall.Kill(p.pid, syscall.SIGUSR2); err != nil {
		t.Fatal(err)
	}
	if status := p.waitDead(); status != ExitCrash {
		t.Fatalf("crash exit status %d, want %d", status, ExitCrash)
	}

	q := startSim(t, "-exit-after", "1")
	q.mustTmux("send-keys", "-t", q.pane, "-l", "--", "only")
	time.Sleep(enterGap)
	q.mustTmux("send-keys", "-t", q.pane, "Enter")
	if status := q.waitDead(); status != ExitPromptLimit {
		t.Fatalf("exit-after status %d, want %d", status, ExitPromptLimit)
	}
	if got := q.log().Texts(); strings.Join(got, ",") != "only" {
		t.Fatalf("accepted %q", got)
	}
}

func TestTmuxModalKeysEnterAnswersDialog(t *testing.T) {
	p := startSim(t, "-modal", "-modal-keys")
	p.waitScreen(ModalQuestion)
	p.mustTmux("send-keys", "-t", p.pane, "-l", "--", "hello")
	time.Sleep(enterGap)
	p.mustTmux("send-keys", "-t", p.pane, "Enter") // approves the dialog, submits nothing
	waitFor(t, 5*time.Second, func() (bool, string) {
		l := p.log()
		return l.Count(EventModalAnswer) == 1 && l.Count(EventModalDropped) == 1, "no answer or drop logged"
	})
	p.waitScreen(">")
	p.mustTmux("send-keys", "-t", p.pane, "-l", "--", "after")
	time.Sleep(enterGap)
	p.mustTmux("send-keys", "-t", p.pane, "Enter")
	p.waitPrompts("after")
}

// TestTmuxInputBeforeReadyIsNotSubmitted shows why injectors must wait for
// a ready pane: text and Enter sent while the agent starts sit in the cooked
// tty (which turns CR into LF) and arrive in one read, so the burst rule
// makes the Enter a newline.
func TestTmuxInputBeforeReadyIsNotSubmitted(t *testing.T) {
	p := launchSim(t, "-start-delay", "500ms")
	p.mustTmux("send-keys", "-t", p.pane, "-l", "--", "early")
	p.mustTmux("send-keys", "-t", p.pane, "Enter")
	p.waitReady()
	p.waitScreen("> early", "")
	time.Sleep(enterGap)
	if got := p.log().Texts(); len(got) != 0 {
		t.Fatalf("accepted %q before a second Enter", got)
	}
	p.mustTmux("send-keys", "-t", p.pane, "Enter")
	p.waitPrompts("early\n")
}
