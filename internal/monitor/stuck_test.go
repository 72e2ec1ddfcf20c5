package monitor_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tmux-orc/tmux-orc/subjects"
)

func TestPermissionDialogIsStuck(t *testing.T) {
	w := newWorld(t)
	w.cfg.StuckAfter = 300 * time.Millisecond
	w.agent("alpha:dev", "", "-modal")
	w.start()
	w.waitAlerts("alpha", "stuck", 1)
	w.settle()
	got := tagged(w.alerts("alpha"), "stuck")
	if len(got) != 1 {
		t.Fatalf("want one stuck alert, got%s", describe(got))
	}
	if got[0].Message.Priority != subjects.High || !strings.HasPrefix(got[0].Message.Content.Body, "Agent alpha:0.0 stuck: permission dialog waiting") {
		t.Fatalf("stuck alert%s", describe(got))
	}
}

func TestUnsubmittedTextIsStuck(t *testing.T) {
	w := newWorld(t)
	w.cfg.StuckAfter = 300 * time.Millisecond
	w.agent("alpha:dev", "")
	w.start()
	w.tmux("send-keys", "-t", "=alpha:dev", "-l", "left here")
	got := w.waitAlerts("alpha", "stuck", 1)
	if !strings.Contains(got[0].Message.Content.Body, `text left unsubmitted`) || !strings.Contains(got[0].Message.Content.Body, `"left here"`) {
		t.Fatalf("stuck alert%s", describe(got))
	}
}

func TestUnackedAlertEscalatesOnce(t *testing.T) {
	w := newWorld(t)
	w.cfg.EscalateAfter = 500 * time.Millisecond
	dev := w.agent("alpha:dev", "")
	w.start()
	w.crash(dev)
	got := w.waitAlerts("alpha", "escalated", 1)
	w.settle()
	all := w.all()
	if len(all) != 2 {
		t.Fatalf("want the alert and one escalation, got%s", describe(all))
	}
	esc := got[0]
	if esc.Message.Priority != subjects.Critical || esc.Metadata.CorrelationID != all[0].ID ||
		!strings.HasPrefix(esc.Message.Content.Body, "ESCALATED (no acknowledgement in 500ms): Agent alpha:0.0 crashed") {
		t.Fatalf("escalation%s", describe(all))
	}
}

func TestAckedAlertDoesNotEscalate(t *testing.T) {
	w := newWorld(t)
	w.cfg.EscalateAfter = 700 * time.Millisecond
	dev := w.agent("alpha:dev", "")
	w.start()
	w.crash(dev)
	got := w.waitAlerts("alpha", "crash", 1)
	if _, _, err := w.c.Ack(context.Background(), got[0].ID, "alpha:0", "on it"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(w.cfg.EscalateAfter + 8*w.cfg.Poll)
	if all := w.all(); len(all) != 1 {
		t.Fatalf("want no escalation of an acknowledged alert, got%s", describe(all))
	}
}

func TestRateLimitScreenIsStuck(t *testing.T) {
	w := newWorld(t)
	w.cfg.StuckAfter = 300 * time.Millisecond
	w.agent("alpha:dev", "")
	w.tmux("new-window", "-d", "-t", "alpha:", "-n", "limited", "printf 'working on it\\nRate limit reached, retrying in 5 minutes\\n'; exec sleep 600")
	w.start()
	w.waitAlerts("alpha", "stuck", 1)
	w.settle()
	if got := tagged(w.alerts("alpha"), "stuck"); len(got) != 1 ||
		!strings.HasPrefix(got[0].Message.Content.Body, "Agent alpha:1.0 stuck: rate limited") {
		t.Fatalf("stuck alerts%s", describe(got))
	}
}
