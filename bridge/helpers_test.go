package bridge_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/tmux-orc/tmux-orc/bridge"
	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/internal/agentsim"
	"github.com/tmux-orc/tmux-orc/internal/embeddedtest"
	"github.com/tmux-orc/tmux-orc/internal/tmuxtest"
	"github.com/tmux-orc/tmux-orc/subjects"
)

var simBinary string

func TestMain(m *testing.M) { tmuxtest.MainWithAgentsim(m, &simBinary) }

// world is a daemon, a private tmux server and a running bridge.
type world struct {
	t      testing.TB
	c      *bus.Client
	srv    *tmuxtest.Server
	dir    string
	cancel context.CancelFunc
	done   chan error
	cfg    bridge.Config
	// quietLog logs only the bridge's warnings and errors (benchmarks always print logs).
	quietLog bool
	// home is the daemon's data directory (for commands run in panes, such as hooks).
	home string
	// beforeRun, if set, is called with the bridge startBridge made, before it runs.
	beforeRun func(*bridge.Bridge)
}

func newWorld(t testing.TB, mutate ...func(*bridge.Config)) *world {
	t.Helper()
	cfg := embeddedtest.Config(t)
	embeddedtest.Start(t, cfg)
	c := embeddedtest.Connect(t, cfg)
	w := &world{t: t, c: c, srv: tmuxtest.NewServer(t, "orc-bridge"), dir: t.TempDir(), home: string(cfg.Home)}
	w.cfg = bridge.DefaultConfig(w.srv.Socket, cfg.HostName)
	w.cfg.Rescan = 200 * time.Millisecond
	w.cfg.ReadyWait = 2 * time.Second
	for _, m := range mutate {
		m(&w.cfg)
	}
	return w
}

func (w *world) startBridge() {
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel, w.done = cancel, make(chan error, 1)
	level := zap.InfoLevel
	if w.quietLog {
		level = zap.WarnLevel
	}
	b := bridge.New(w.cfg, w.c, zaptest.NewLogger(w.t, zaptest.Level(level)).Named("bridge"))
	if w.beforeRun != nil {
		w.beforeRun(b)
	}
	go func() { w.done <- b.Run(ctx) }()
	w.t.Cleanup(w.stopBridge)
}

func (w *world) stopBridge() {
	if w.cancel != nil {
		w.cancel()
		<-w.done
		w.cancel = nil
	}
}

func (w *world) tmux(args ...string) string {
	w.t.Helper()
	return w.srv.Tmux(args...)
}

// agent starts an agentsim in a new window (or session) and returns its log path.
func (w *world) agent(target string, args ...string) string {
	w.t.Helper()
	session, window, _ := strings.Cut(target, ":")
	log := filepath.Join(w.dir, strings.NewReplacer(":", "_", "/", "_").Replace(target)+".log")
	cmd := strings.Join(append([]string{simBinary, "-log", log}, args...), " ")
	if !w.srv.HasSession(session) {
		w.tmux("new-session", "-d", "-s", session, "-n", window, "-x", "200", "-y", "50", cmd)
	} else {
		w.tmux("new-window", "-d", "-t", session+":", "-n", window, cmd)
	}
	waitFor(w.t, "agent "+target+" ready", func() bool {
		l, err := agentsim.ReadLog(log)
		return err == nil && l.Count("ready") > 0
	})
	// The bridge never interrupts an agent: no C-c (which kills Claude Code) and no lone
	// Esc (which interrupts it) may ever reach one. Checked before the server is killed.
	w.t.Cleanup(func() { w.checkNoInterrupts(log) })
	return log
}

func (w *world) publish(target string, p subjects.Priority, body string, tags ...string) *subjects.Envelope {
	w.t.Helper()
	e := w.envelope(target, p, body, tags...)
	if _, err := w.c.Publish(context.Background(), e); err != nil {
		w.t.Fatal(err)
	}
	return e
}

// envelope makes a message for target ("session[:window]", "host.session[:window]",
// "group:G" or "group:G@[host.]session").
func (w *world) envelope(target string, p subjects.Priority, body string, tags ...string) *subjects.Envelope {
	w.t.Helper()
	var a subjects.Address
	var err error
	if g, ok := strings.CutPrefix(target, "group:"); ok {
		name, session, _ := strings.Cut(g, "@")
		a, err = subjects.GroupAddress(name, session)
	} else {
		a, err = subjects.ParseTarget(target)
	}
	if err != nil {
		w.t.Fatal(err)
	}
	now := time.Now()
	e := &subjects.Envelope{ID: subjects.NewID(now), Timestamp: now.UTC(),
		Source: subjects.Source{Type: "test", Identifier: w.t.Name()}, Target: a,
		Message: subjects.Message{Type: "notification", Category: "test", Priority: p,
			Content: subjects.Content{Subject: subjects.SubjectLine(body), Body: body}},
		Metadata: subjects.Metadata{Tags: tags}}
	return e
}

// peer is a second tmux server with its own bridge of host, on w's daemon: another host.
func (w *world) peer(host string) *world {
	w.t.Helper()
	p := &world{t: w.t, c: w.c, srv: tmuxtest.NewServer(w.t, "orc-peer"), dir: w.t.TempDir()}
	p.cfg = w.cfg
	p.cfg.Socket = p.srv.Socket
	p.cfg.Host = host
	return p
}

// accepted returns the prompts an agent accepted.
func accepted(t testing.TB, log string) []string {
	l, err := agentsim.ReadLog(log)
	if err != nil {
		t.Fatal(err)
	}
	return l.Texts()
}

// outcome waits for the outcome of e.
func (w *world) outcome(e *subjects.Envelope) []bus.Receipt {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rs, err := w.c.WaitOutcome(ctx, e.Message.Priority, e.ID)
	if err != nil {
		w.t.Fatal(err)
	}
	return rs
}

// waitFor polls cond until it holds (see tmuxtest.WaitFor).
var waitFor = tmuxtest.WaitFor

// checkNoInterrupts fails the test if the agent logging to log saw a C-c or a lone Esc.
func (w *world) checkNoInterrupts(log string) {
	w.t.Helper()
	l, err := agentsim.ReadLog(log)
	if err != nil {
		w.t.Errorf("reading %s: %v", log, err)
		return
	}
	if n := l.Count(agentsim.EventCtrlC); n > 0 {
		w.t.Errorf("agent %s received C-c %d times", filepath.Base(log), n)
	}
	if n := l.Count(agentsim.EventInterrupt); n > 0 {
		w.t.Errorf("agent %s received a lone Esc (interrupt) %d times", filepath.Base(log), n)
	}
}

// agentLog returns the parsed log of an agent.
func agentLog(t testing.TB, log string) agentsim.Log {
	t.Helper()
	l, err := agentsim.ReadLog(log)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// waitAccepted waits until the agent accepted at least n prompts and returns them all.
func waitAccepted(t testing.TB, log string, n int) []string {
	t.Helper()
	var got []string
	waitFor(t, fmt.Sprintf("%d prompts accepted by %s", n, filepath.Base(log)), func() bool {
		got = accepted(t, log)
		return len(got) >= n
	})
	return got
}

// receipts waits until n outcomes of e are recorded and returns them.
func (w *world) receipts(e *subjects.Envelope, n int) []bus.Receipt {
	w.t.Helper()
	var rs []bus.Receipt
	waitFor(w.t, fmt.Sprintf("%d receipts of %s", n, e.ID), func() bool {
		var err error
		all, err := w.c.Receipts(context.Background(), e.Message.Priority, e.ID)
		if err != nil {
			w.t.Fatal(err)
		}
		rs = final(all)
		return len(rs) >= n
	})
	return rs
}

// final drops the queued receipts (which only say why a message waited).
func final(rs []bus.Receipt) []bus.Receipt {
	var out []bus.Receipt
	for _, r := range rs {
		if r.Outcome.Final() {
			out = append(out, r)
		}
	}
	return out
}

// queuedReceipts returns the queued receipts of e recorded so far.
func (w *world) queuedReceipts(e *subjects.Envelope) []bus.Receipt {
	w.t.Helper()
	rs, err := w.c.Receipts(context.Background(), e.Message.Priority, e.ID)
	if err != nil {
		w.t.Fatal(err)
	}
	var out []bus.Receipt
	for _, r := range rs {
		if r.Outcome == bus.Queued {
			out = append(out, r)
		}
	}
	return out
}

// only returns the single final receipt of e, failing if there is not exactly one.
func (w *world) only(e *subjects.Envelope) bus.Receipt {
	w.t.Helper()
	rs := final(w.outcome(e))
	if len(rs) != 1 {
		w.t.Fatalf("want one receipt of %s, got %+v", e.ID, rs)
	}
	return rs[0]
}

// alerts returns the delivery alerts published to the management group of session about
// message id.
func (w *world) alerts(session, id string) []bus.Record {
	w.t.Helper()
	a, err := subjects.GroupAddress("management", session)
	if err != nil {
		w.t.Fatal(err)
	}
	recs, err := w.c.Query(context.Background(), bus.Query{Address: a, Tags: []string{bridge.AlertTag}})
	if err != nil {
		w.t.Fatal(err)
	}
	var out []bus.Record
	for _, r := range recs {
		if r.Metadata.CorrelationID == id {
			out = append(out, r)
		}
	}
	return out
}

// waitAlert waits for the one delivery alert about id in session's management group.
func (w *world) waitAlert(session, id string) bus.Record {
	w.t.Helper()
	var recs []bus.Record
	waitFor(w.t, "an alert about "+id, func() bool {
		recs = w.alerts(session, id)
		return len(recs) > 0
	})
	if len(recs) != 1 {
		w.t.Fatalf("want one alert about %s, got %d", id, len(recs))
	}
	return recs[0]
}

// format expands a tmux format for target.
func (w *world) format(target, f string) string {
	w.t.Helper()
	return w.tmux("display-message", "-p", "-t", target, "--", f)
}

// capture returns the visible screen of target.
func (w *world) capture(target string) string {
	w.t.Helper()
	return w.tmux("capture-pane", "-p", "-t", target)
}

// quiet waits d and then checks nothing more arrived: used after the expected deliveries
// to catch duplicates or strays, which by nature cannot be polled for.
func quiet(d time.Duration) { time.Sleep(d) }
