package monitor_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/internal/agentsim"
	"github.com/tmux-orc/tmux-orc/internal/embeddedtest"
	"github.com/tmux-orc/tmux-orc/internal/monitor"
	"github.com/tmux-orc/tmux-orc/internal/tmuxtest"
	"github.com/tmux-orc/tmux-orc/subjects"
)

var simBinary string

func TestMain(m *testing.M) { tmuxtest.MainWithAgentsim(m, &simBinary) }

// world is a daemon, a private tmux server and a monitor with short thresholds.
type world struct {
	t      testing.TB
	c      *bus.Client
	srv    *tmuxtest.Server
	dir    string
	cfg    monitor.Config
	mon    *monitor.Monitor
	cancel context.CancelFunc
	done   chan error
}

func newWorld(t testing.TB) *world {
	t.Helper()
	cfg := embeddedtest.Config(t)
	embeddedtest.Start(t, cfg)
	c := embeddedtest.Connect(t, cfg)
	w := &world{t: t, c: c, srv: tmuxtest.NewServer(t, "orc-mon"), dir: t.TempDir()}
	w.cfg = monitor.DefaultConfig(w.srv.Socket, cfg.HostName)
	w.cfg.Poll = 100 * time.Millisecond
	w.cfg.BusyWindow = 500 * time.Millisecond
	w.cfg.IdleAfter = time.Hour
	w.cfg.LongIdleAfter = 2 * time.Hour
	w.cfg.StuckAfter = time.Hour
	w.cfg.Cooldown = time.Minute
	w.cfg.Grace = 0
	w.cfg.EscalateAfter = time.Hour
	return w
}

// start runs the monitor; call it after the panes exist (or not: it notices them).
func (w *world) start() {
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel, w.done = cancel, make(chan error, 1)
	w.mon = monitor.New(w.cfg, w.c, zaptest.NewLogger(w.t, zaptest.Level(zap.InfoLevel)).Named("monitor"))
	go func() { w.done <- w.mon.Run(ctx) }()
	w.t.Cleanup(w.stop)
	waitFor(w.t, "the monitor's first pass", func() bool { return w.mon.Status().Passes > 1 })
}

func (w *world) stop() {
	if w.cancel != nil {
		w.cancel()
		if err := <-w.done; err != nil {
			w.t.Errorf("monitor: %v", err)
		}
		w.cancel = nil
	}
}

func (w *world) tmux(args ...string) string {
	w.t.Helper()
	return w.srv.Tmux(args...)
}

// agent starts an agentsim in window target ("session:window") with @orc-role role (""
// leaves it unset) and returns its log path.
func (w *world) agent(target, role string, args ...string) string {
	w.t.Helper()
	session, window, _ := strings.Cut(target, ":")
	log := filepath.Join(w.dir, strings.NewReplacer(":", "_", "/", "_").Replace(target)+".log")
	cmd := strings.Join(append([]string{simBinary, "-log", log}, args...), " ")
	if !w.srv.HasSession(session) {
		w.tmux("new-session", "-d", "-s", session, "-n", window, "-x", "120", "-y", "30", cmd)
		w.tmux("set-option", "-g", "remain-on-exit", "on")
	} else {
		w.tmux("new-window", "-d", "-t", session+":", "-n", window, cmd)
	}
	if role != "" {
		w.tmux("set-option", "-w", "-t", "="+session+":"+window, "@orc-role", role)
	}
	waitFor(w.t, "agent "+target+" ready", func() bool { return w.pid(log) > 0 })
	return log
}

// pid is the agent's pid from the last ready event of its log, 0 before it is ready.
func (w *world) pid(log string) int {
	l, err := agentsim.ReadLog(log)
	if err != nil {
		return 0
	}
	pid := 0
	for _, e := range l.Events {
		if e.Kind == agentsim.EventReady {
			pid = e.PID
		}
	}
	return pid
}

// crash makes the agent exit with agentsim's crash code.
func (w *world) crash(log string) {
	w.t.Helper()
	if err := syscall.Kill(w.pid(log), syscall.SIGUSR2); err != nil {
		w.t.Fatal(err)
	}
}

// alerts returns every message published to the management group of session.
func (w *world) alerts(session string) []bus.Record {
	w.t.Helper()
	a, err := subjects.GroupAddress("management", session)
	if err != nil {
		w.t.Fatal(err)
	}
	recs, err := w.c.Query(context.Background(), bus.Query{Address: a})
	if err != nil {
		w.t.Fatal(err)
	}
	return recs
}

// all returns every stored message.
func (w *world) all() []bus.Record {
	w.t.Helper()
	recs, err := w.c.Query(context.Background(), bus.Query{})
	if err != nil {
		w.t.Fatal(err)
	}
	return recs
}

// tagged keeps the records that carry tag.
func tagged(recs []bus.Record, tag string) []bus.Record {
	var out []bus.Record
	for _, r := range recs {
		if r.HasTag(tag) {
			out = append(out, r)
		}
	}
	return out
}

// waitAlerts waits until session's management group holds n messages tagged tag.
func (w *world) waitAlerts(session, tag string, n int) []bus.Record {
	w.t.Helper()
	var got []bus.Record
	waitFor(w.t, fmt.Sprintf("%d %q alerts for %s", n, tag, session), func() bool {
		got = tagged(w.alerts(session), tag)
		return len(got) >= n
	})
	return got
}

// settle lets the monitor make a few more passes, for asserting that nothing more comes.
func (w *world) settle() { time.Sleep(8 * w.cfg.Poll) }

func describe(recs []bus.Record) string {
	var b strings.Builder
	for _, r := range recs {
		fmt.Fprintf(&b, "\n  %s %s %v %q", r.Message.Priority, r.Target, r.Metadata.Tags, r.Message.Content.Body)
	}
	return b.String()
}

// waitFor polls cond until it holds (see tmuxtest.WaitFor).
var waitFor = tmuxtest.WaitFor
