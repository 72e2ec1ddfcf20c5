package bridge_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/tmux-orc/tmux-orc/bridge"
	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/internal/agentsim"
	"github.com/tmux-orc/tmux-orc/subjects"
	"github.com/tmux-orc/tmux-orc/tmux"
)

// benchEnvelope builds a message like the ones agents get (about 70 bytes typed).
func benchEnvelope(b *testing.B, target subjects.Address, p subjects.Priority, body string) *subjects.Envelope {
	now := time.Now()
	return &subjects.Envelope{ID: subjects.NewID(now), Timestamp: now.UTC(),
		Source: subjects.Source{Type: "bench", Identifier: b.Name()}, Target: target,
		Message: subjects.Message{Type: "notification", Category: "bench", Priority: p,
			Content: subjects.Content{Subject: subjects.SubjectLine(body), Body: body}}}
}

// firstRead returns the arrival time of the first read in raw at or after index from that
// contains id, and the index after it.
func firstRead(raw []agentsim.RawRead, from int, id string) (time.Time, int, bool) {
	for i := from; i < len(raw); i++ {
		if bytes.Contains(raw[i].Bytes(), []byte(id)) {
			return raw[i].Time(), i + 1, true
		}
	}
	return time.Time{}, from, false
}

func poll(b *testing.B, what string, cond func() bool) {
	b.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			b.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func reportLatencies(b *testing.B, name string, d []time.Duration) {
	s := bus.Percentiles(d)
	b.ReportMetric(s.P50, name+"-p50-ms")
	b.ReportMetric(s.P95, name+"-p95-ms")
	b.ReportMetric(s.P99, name+"-p99-ms")
}

// BenchmarkEndToEnd measures, per priority, one message at a time into an idle agentsim
// pane with the default EnterDelay, VerifyDelay and LowBatch, as in production (the
// readiness gate on):
//
//   - typed: from the publish call to the read() in the agent that holds the text (for low
//     priority this includes the LowBatch window);
//   - submitted: from the publish call to the agent accepting the prompt (EnterDelay after
//     the text, since the agent takes an Enter that follows typed text too fast as a newline).
//
// ns/op is the whole cycle, up to the recorded receipt.
func BenchmarkEndToEnd(b *testing.B) { benchEndToEnd(b, false) }

// BenchmarkGateCost measures what the readiness gate costs the delivery path: the same as
// BenchmarkEndToEnd, one bridge, but every other message is typed without the gate
// (gate-off) and the others with it (gate-on), so that both see the same machine. The
// typed-on and typed-off percentiles are over b.N/2 messages each; gate is the readiness
// check itself on the delivery path (reading the pane, assessing it), timed in the bridge.
func BenchmarkGateCost(b *testing.B) { benchEndToEnd(b, true) }

func benchEndToEnd(b *testing.B, alternate bool) {
	w := newWorld(b)
	w.quietLog = true
	raws := map[subjects.Priority]string{}
	logs := map[subjects.Priority]string{}
	for _, p := range subjects.Priorities {
		raws[p] = filepath.Join(w.dir, p.String()+".raw")
		logs[p] = w.agent("bench:"+p.String(), "-raw", raws[p])
	}
	var off *atomic.Bool
	var gateMu sync.Mutex
	var gate []time.Duration
	if alternate {
		off = bridge.BenchGate(&w.cfg, func(d time.Duration) {
			gateMu.Lock()
			gate = append(gate, d)
			gateMu.Unlock()
		})
	}
	w.startBridge()
	ctx := context.Background()
	for _, p := range subjects.Priorities {
		b.Run(p.String(), func(b *testing.B) {
			target, err := subjects.ParseTarget("bench:" + p.String())
			if err != nil {
				b.Fatal(err)
			}
			// [0]: with the gate, [1]: without it.
			var typed, submitted [2][]time.Duration
			rawFrom := 0
			gateMu.Lock()
			gate = gate[:0]
			gateMu.Unlock()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				k := 0
				if alternate {
					k = i % 2
					off.Store(k == 1)
				}
				e := benchEnvelope(b, target, p, fmt.Sprintf("Agent backend-dev:%d idle 15min, please pick up the next task", i))
				start := time.Now()
				if _, err := w.c.Publish(ctx, e); err != nil {
					b.Fatal(err)
				}
				var prompt agentsim.Prompt
				size := fileSize(logs[p])
				poll(b, "the prompt accepted", func() bool {
					// Parse only when the log grew: the poll must not compete for the CPU
					// with the delivery it measures.
					if n := fileSize(logs[p]); n == size {
						return false
					} else {
						size = n
					}
					l, err := agentsim.ReadLog(logs[p])
					if err != nil || len(l.Prompts) == 0 {
						return false
					}
					prompt = l.Prompts[len(l.Prompts)-1]
					return strings.Contains(prompt.Text, e.ID)
				})
				raw, err := agentsim.ReadRaw(raws[p])
				if err != nil {
					b.Fatal(err)
				}
				at, next, ok := firstRead(raw, rawFrom, e.ID)
				if !ok {
					b.Fatalf("no read holds %s", e.ID)
				}
				rawFrom = next
				typed[k] = append(typed[k], at.Sub(start))
				submitted[k] = append(submitted[k], prompt.Time.Sub(start))
				// The writer is idle again once the outcome is recorded.
				poll(b, "the receipt", func() bool {
					rs, err := w.c.Receipts(ctx, p, e.ID)
					return err == nil && len(rs) > 0
				})
			}
			b.StopTimer()
			if !alternate {
				reportLatencies(b, "typed", typed[0])
				reportLatencies(b, "submitted", submitted[0])
				return
			}
			gateMu.Lock()
			g := bus.Percentiles(gate)
			gateMu.Unlock()
			b.ReportMetric(g.P50, "gate-p50-ms")
			b.ReportMetric(g.P99, "gate-p99-ms")
			for k, name := range []string{"on", "off"} {
				t, s := bus.Percentiles(typed[k]), bus.Percentiles(submitted[k])
				b.ReportMetric(t.P50, "typed-"+name+"-p50-ms")
				b.ReportMetric(t.P99, "typed-"+name+"-p99-ms")
				b.ReportMetric(s.P50, "submitted-"+name+"-p50-ms")
			}
		})
	}
}

// BenchmarkFanOut100 sends one group message to 100 agentsim panes (10 sessions of 10
// windows, all in group "fan") and measures the time from the publish call until the last
// pane has read the text (last-typed) and until the last pane accepted it (last-submitted).
func BenchmarkFanOut100(b *testing.B) {
	const sessions, windows = 10, 10
	w := newWorld(b)
	w.quietLog = true
	var raws, logs []string
	for s := range sessions {
		for win := range windows {
			target := fmt.Sprintf("s%d:w%d", s, win)
			raw := filepath.Join(w.dir, strings.ReplaceAll(target, ":", "_")+".raw")
			raws = append(raws, raw)
			logs = append(logs, w.agent(target, "-raw", raw))
		}
	}
	w.tmux("set-option", "-g", "@orc-group", "fan")
	w.startBridge()
	ctx := context.Background()
	target, err := subjects.GroupAddress("fan", "")
	if err != nil {
		b.Fatal(err)
	}
	rawFrom := make([]int, len(raws))
	var lastTyped, lastSubmitted []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e := benchEnvelope(b, target, subjects.High, fmt.Sprintf("Everyone: release freeze starts now (%d)", i))
		start := time.Now()
		if _, err := w.c.Publish(ctx, e); err != nil {
			b.Fatal(err)
		}
		poll(b, "100 receipts", func() bool {
			rs, err := w.c.Receipts(ctx, subjects.High, e.ID)
			return err == nil && len(rs) >= len(raws)
		})
		b.StopTimer()
		var typed, submitted time.Time
		for k := range raws {
			raw, err := agentsim.ReadRaw(raws[k])
			if err != nil {
				b.Fatal(err)
			}
			at, next, ok := firstRead(raw, rawFrom[k], e.ID)
			if !ok {
				b.Fatalf("%s never read %s", filepath.Base(raws[k]), e.ID)
			}
			rawFrom[k] = next
			typed = later(typed, at)
			l, err := agentsim.ReadLog(logs[k])
			if err != nil || len(l.Prompts) == 0 || !strings.Contains(l.Prompts[len(l.Prompts)-1].Text, e.ID) {
				b.Fatalf("%s did not accept %s: %v", filepath.Base(logs[k]), e.ID, err)
			}
			submitted = later(submitted, l.Prompts[len(l.Prompts)-1].Time)
		}
		lastTyped = append(lastTyped, typed.Sub(start))
		lastSubmitted = append(lastSubmitted, submitted.Sub(start))
		b.StartTimer()
	}
	b.StopTimer()
	t, s := bus.Percentiles(lastTyped), bus.Percentiles(lastSubmitted)
	b.ReportMetric(t.P50, "last-typed-p50-ms")
	b.ReportMetric(t.Max, "last-typed-max-ms")
	b.ReportMetric(s.P50, "last-submitted-p50-ms")
	b.ReportMetric(s.Max, "last-submitted-max-ms")
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return -1
	}
	return fi.Size()
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// BenchmarkGate measures the readiness check itself, as the bridge runs it before typing: one
// tmux round trip over a control connection (the pane's facts and capture-pane -e) and the
// screen profile, on an idle agent pane (agentsim drawing Claude Code's box, read with the
// claude-code profile, and the classic agentsim read with the generic one).
func BenchmarkGate(b *testing.B) {
	w := newWorld(b)
	w.agent("g:generic")
	w.agent("g:claude", "-style", "claude")
	w.tmux("set-option", "-p", "-t", "g:claude", "@orc-agent", "claude-code")
	ctx := context.Background()
	ctrl, err := tmux.Dial(ctx, w.srv.Socket, tmux.Options{NoOutput: true})
	if err != nil {
		b.Fatal(err)
	}
	defer ctrl.Close()
	panes, err := tmux.ListPanes(ctx, ctrl)
	if err != nil {
		b.Fatal(err)
	}
	inj := bridge.NewInjector(w.cfg, func() tmux.Runner { return ctrl }, zap.NewNop())
	for _, p := range panes {
		b.Run(p.Window, func(b *testing.B) {
			d := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				start := time.Now()
				rd, _, err := inj.Gate(ctx, p)
				d = append(d, time.Since(start))
				if err != nil || !rd.Ready {
					b.Fatalf("%s not ready: %+v %v", p.Window, rd, err)
				}
			}
			b.StopTimer()
			reportLatencies(b, "gate", d)
		})
	}
}

// BenchmarkStop500Sessions measures how long a bridge serving 500 tmux sessions (each a
// trivial program; its 8 durable consumers do not grow with them) takes to stop: its
// consumers, its 500 registry entries and its writers. Run with -benchtime=1x (setting up
// takes a while).
func BenchmarkStop500Sessions(b *testing.B) {
	const sessions = 500
	w := newWorld(b)
	w.quietLog = true
	for i := 0; i < sessions; i += 25 {
		var args []string
		for j := i; j < i+25; j++ {
			if j > i {
				args = append(args, ";")
			}
			args = append(args, "new-session", "-d", "-s", fmt.Sprintf("s%03d", j), "sleep 100000")
		}
		w.tmux(args...)
	}
	ctx := context.Background()
	var total time.Duration
	for i := 0; i < b.N; i++ {
		setup := time.Now()
		w.startBridge()
		deadline := time.Now().Add(5 * time.Minute)
		for {
			es, err := w.c.Sessions(ctx)
			if err == nil && len(es) >= sessions {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("the bridge serves %d sessions after 5 minutes", len(es))
			}
			time.Sleep(100 * time.Millisecond)
		}
		b.Logf("the bridge served %d sessions after %s", sessions, time.Since(setup).Round(time.Millisecond))
		start := time.Now()
		w.stopBridge()
		took := time.Since(start)
		total += took
		b.Logf("stopping took %s", took.Round(time.Millisecond))
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "stop-s")
}
