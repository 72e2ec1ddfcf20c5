package monitor_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tmux-orc/tmux-orc/internal/agentsim"
	"github.com/tmux-orc/tmux-orc/internal/monitor"
	"github.com/tmux-orc/tmux-orc/subjects"
)

func readyCount(t testing.TB, log string) int {
	l, err := agentsim.ReadLog(log)
	if err != nil {
		t.Fatal(err)
	}
	return l.Count(agentsim.EventReady)
}

func TestRestartRespawnsWithTheSameCommandAndGraceHolds(t *testing.T) {
	w := newWorld(t)
	w.cfg.Grace = time.Minute
	dev := w.agent("alpha:dev", "")
	w.start()
	startCmd := w.tmux("display-message", "-p", "-t", "=alpha:dev", "#{pane_start_command}")
	w.crash(dev)
	w.waitAlerts("alpha", "crash", 1)
	res, err := w.mon.Restart(context.Background(), "alpha:dev", false)
	if err != nil {
		t.Fatal(err)
	}
	if res.Target != "alpha:0.0" {
		t.Fatalf("restarted %+v", res)
	}
	waitFor(t, "the agent ready again", func() bool { return readyCount(t, dev) == 2 })
	if got := w.tmux("display-message", "-p", "-t", "=alpha:dev", "#{pane_dead} #{pane_start_command}"); got != "0 "+startCmd {
		t.Fatalf("pane after restart: %q, want alive with %q", got, startCmd)
	}
	rec := w.waitAlerts("alpha", "recovery", 1)
	if rec[0].Message.Priority != subjects.Normal || !strings.HasPrefix(rec[0].Message.Content.Body, "Recovery: restarted agent alpha:0.0") {
		t.Fatalf("recovery%s", describe(rec))
	}
	w.waitAlerts("alpha", "resolved", 1)
	// A crash within the grace period is not flagged.
	waitFor(t, "the new pid", func() bool { return w.pid(dev) > 0 })
	w.crash(dev)
	waitFor(t, "the crash seen", func() bool { return w.mon.Status().Agents[0].State == monitor.Crashed })
	w.settle()
	if got := tagged(w.alerts("alpha"), "crash"); len(got) != 2 { // the alert and its resolution
		t.Fatalf("want no new crash alert in the grace period, got%s", describe(got))
	}
	if st := w.mon.Status().Agents[0]; st.GraceUntil == nil || st.Restarts != 1 {
		t.Fatalf("status %+v", st)
	}
}

func TestRestartRefusesABusyAgentUnlessForced(t *testing.T) {
	w := newWorld(t)
	dev := w.agent("alpha:dev", "", "-start-busy", "30s")
	w.start()
	_, err := w.mon.Restart(context.Background(), "alpha:dev", false)
	if !errors.Is(err, monitor.ErrBusy) {
		t.Fatalf("restart of a busy agent: %v, want ErrBusy", err)
	}
	if readyCount(t, dev) != 1 || len(w.all()) != 0 {
		t.Fatal("the busy agent was touched")
	}
	if _, err := w.mon.Restart(context.Background(), "alpha:dev", true); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the agent restarted", func() bool { return readyCount(t, dev) == 2 })
}

func TestAutoRestartsCrashedAgentsUpToTheMax(t *testing.T) {
	w := newWorld(t)
	w.cfg.AutoRestart = true
	w.cfg.MaxRestarts = 1
	w.cfg.RestartBackoff = 200 * time.Millisecond
	a := w.agent("alpha:a", "")
	b := w.agent("alpha:b", "")
	w.start()
	w.crash(a)
	w.crash(b)
	waitFor(t, "both restarted", func() bool { return readyCount(t, a) == 2 && readyCount(t, b) == 2 })
	if got := w.waitAlerts("alpha", "recovery", 2); len(got) != 2 {
		t.Fatalf("recoveries%s", describe(got))
	}
	// The second crash of a is past the maximum: it stays down.
	waitFor(t, "the new pid", func() bool { return w.pid(a) > 0 })
	time.Sleep(300 * time.Millisecond)
	w.crash(a)
	time.Sleep(1500 * time.Millisecond)
	if n := readyCount(t, a); n != 2 {
		t.Fatalf("a started %d times, want 2 (max one restart)", n)
	}
}
