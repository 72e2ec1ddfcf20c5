// Package chaostest runs the whole system under faults for a while and checks the one
// promise that matters: every publish that was acknowledged is stored once and typed into
// its pane at most once.
//
// Three daemons form a cluster on loopback (the third one's data directory on a small
// tmpfs), a standalone bridge serves a private tmux server whose panes run the fake agent,
// and publishers send all the while. Meanwhile, one fault at a time, at random: kill -9 of
// a node (restarted a few seconds later), kill -9 of the bridge (restarted), a restart of
// the tmux server (its agents started again), and the third node's disk filling up and
// emptying. At the end everything is brought back, the deliveries are given time to drain,
// and the store and the agents' logs are checked. The figures are printed.
//
// The duration is -chaos.duration or $TMUX_ORC_CHAOS_DURATION (default 2m, what CI runs;
// the full run is 10m):
//
//	TMUX_ORC_CHAOS_DURATION=10m go test ./internal/chaostest -v -timeout 30m
package chaostest_test

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/internal/agentsim"
	"github.com/tmux-orc/tmux-orc/internal/clustertest"
	"github.com/tmux-orc/tmux-orc/internal/tmuxtest"
	"github.com/tmux-orc/tmux-orc/subjects"
)

var duration = flag.Duration("chaos.duration", 0, "how long the faults go on (default $TMUX_ORC_CHAOS_DURATION, else 2m)")

func TestMain(m *testing.M) { clustertest.Main(m) }

func chaosDuration(t *testing.T) time.Duration {
	if *duration > 0 {
		return *duration
	}
	if v := os.Getenv("TMUX_ORC_CHAOS_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			t.Fatalf("TMUX_ORC_CHAOS_DURATION=%q: want a duration such as 10m", v)
		}
		return d
	}
	return 2 * time.Minute
}

const sessions = 4

// world is the system under test.
type world struct {
	t       *testing.T
	c       *clustertest.Cluster
	tmux    *tmuxtest.Server
	logDir  string
	gen     int // tmux server generation: each has its own agent logs
	bridge  *exec.Cmd
	bhome   string
	disk    string // node 3's data directory, on a tmpfs ("" when mounting is not allowed)
	figures map[string]int
}

// startAgents starts a tmux server with one agent per session. A server started while the
// previous one is still going away can die with its sessions: sessions are created until
// every agent has written its log.
func (w *world) startAgents() {
	w.gen++
	logOf := func(s int) string { return filepath.Join(w.logDir, fmt.Sprintf("g%d-chaos%d.log", w.gen, s)) }
	deadline := time.Now().Add(60 * time.Second)
	for {
		missing := 0
		for s := range sessions {
			if _, err := os.Stat(logOf(s)); err == nil {
				continue
			}
			missing++
			name := fmt.Sprintf("chaos%d", s)
			if !w.tmux.HasSession(name) {
				args := w.tmux.Socket.Args("new-session", "-d", "-s", name, "-x", "200", "-y", "50", clustertest.Bin+" agentsim --log "+logOf(s))
				_ = exec.Command("tmux", args...).Run()
			}
		}
		if missing == 0 {
			return
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("the agents of tmux server generation %d did not start within 60s", w.gen)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func (w *world) startBridge() {
	cmd := exec.Command(clustertest.Bin, "bridge", "--url", strings.Join(w.c.URLs(), ","), "--creds", w.c.AdminCreds,
		"--host", "h1", "--tmux-socket", w.tmux.Socket.Name, "--enter-delay", "50ms", "--no-monitor")
	cmd.Env = append(os.Environ(), "TMUX_ORC_HOME="+w.bhome, "TMUX_ORC_METRICS_LISTEN=off", "TMUX_ORC_URL=")
	f, err := os.OpenFile(filepath.Join(w.logDir, "bridge.out"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		w.t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	go func() { _ = cmd.Wait(); f.Close() }()
	w.bridge = cmd
}

func (w *world) killBridge() {
	if w.bridge != nil && w.bridge.Process != nil {
		_ = w.bridge.Process.Kill()
		for i := 0; i < 500 && syscall.Kill(w.bridge.Process.Pid, 0) == nil; i++ {
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// fillDisk fills node 3's disk, holds it full, and empties it again.
func (w *world) fillDisk(hold time.Duration) {
	path := filepath.Join(w.disk, "filler")
	f, err := os.Create(path)
	if err != nil {
		return
	}
	buf := make([]byte, 256<<10)
	for {
		if _, err := f.Write(buf); err != nil {
			break
		}
	}
	f.Close()
	time.Sleep(hold)
	_ = os.Remove(path)
}

// healthy waits until node i answers `pubsub status` as healthy, or gives up.
func (w *world) healthy(i int, within time.Duration) bool {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if out, err := w.c.Run(i, "pubsub", "status", "--url", w.c.Nodes[i].URL(), "--creds", w.c.AdminCreds); err == nil && strings.Contains(out, "healthy") {
			return true
		}
		time.Sleep(500 * time.Millisecond)
	}
	return false
}

func TestChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("the chaos suite runs for minutes")
	}
	d := chaosDuration(t)
	w := &world{t: t, c: clustertest.New(t, clustertest.Options{Nodes: 3}), tmux: tmuxtest.NewServer(t, "orc-chaos"),
		logDir: t.TempDir(), bhome: t.TempDir(), figures: map[string]int{}}
	// Node 3's data directory on a 64 MiB tmpfs, to fill and empty.
	home3 := string(w.c.Nodes[2].Home)
	if err := os.MkdirAll(home3, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", home3).CombinedOutput(); err != nil {
		t.Logf("no disk-full faults: cannot mount a tmpfs here (needs root): %v %s", err, out)
	} else {
		w.disk = home3
		// Node 3 is stopped before its disk goes: its pid is read from that disk.
		t.Cleanup(func() {
			w.c.Kill(2)
			_ = exec.Command("umount", "-l", home3).Run()
		})
	}
	w.c.Start()
	w.startAgents()
	w.startBridge()
	t.Cleanup(w.killBridge)

	pub := w.c.Connect(bus.Options{})
	var (
		mu       sync.Mutex
		acked    = map[string]subjects.Priority{}
		attempts atomic.Int64
		failures atomic.Int64
		seq      atomic.Int64
	)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for p := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				case <-time.After(200 * time.Millisecond):
				}
				n := seq.Add(1)
				id := fmt.Sprintf("cx%07d", n)
				target, _ := subjects.ParseTarget(fmt.Sprintf("h1.chaos%d:0", (int(n)+p)%sessions))
				pr := subjects.Normal
				if n%4 == 0 {
					pr = subjects.High
				}
				e := &subjects.Envelope{ID: id, Timestamp: time.Now().UTC(), Source: subjects.Source{Type: "cli", Identifier: "chaos"},
					Target: target, Message: subjects.Message{Type: "notification", Priority: pr,
						Content: subjects.Content{Subject: "chaos " + id, Body: "chaos <<" + id + ">>"}}}
				attempts.Add(1)
				ctx, cancel := context.WithTimeout(context.Background(), 35*time.Second)
				_, err := pub.Publish(ctx, e)
				cancel()
				if err != nil {
					failures.Add(1)
					continue
				}
				mu.Lock()
				acked[id] = pr
				mu.Unlock()
			}
		}()
	}

	start := time.Now()
	for time.Since(start) < d {
		time.Sleep(time.Duration(2+rand.IntN(4)) * time.Second)
		switch a := rand.IntN(4); {
		case a == 0:
			i := rand.IntN(3)
			w.c.Kill(i)
			w.figures["kill -9 of a node"]++
			time.Sleep(time.Duration(1+rand.IntN(4)) * time.Second)
			w.c.Start(i)
		case a == 1:
			w.killBridge()
			w.figures["kill -9 of the bridge"]++
			time.Sleep(time.Duration(rand.IntN(3)) * time.Second)
			w.startBridge()
		case a == 2:
			_ = exec.Command("tmux", w.tmux.Socket.Args("kill-server")...).Run()
			w.figures["tmux server restarts"]++
			time.Sleep(time.Second)
			w.startAgents()
		case a == 3 && w.disk != "":
			w.fillDisk(time.Duration(2+rand.IntN(3)) * time.Second)
			w.figures["disk filled and emptied"]++
			if !w.healthy(2, 30*time.Second) {
				// The node did not recover by itself: say so and restart it.
				w.figures["disk-full node that needed a restart"]++
				w.c.Kill(2)
				w.c.Start(2)
			}
		}
	}
	close(stop)
	wg.Wait()
	chaosEnd := time.Now()

	// Everything back, then the deliveries drain.
	for i := range w.c.Nodes {
		if w.c.PID(i) == 0 {
			w.c.Start(i)
		}
	}
	mu.Lock()
	ids := make([]string, 0, len(acked))
	for id := range acked {
		ids = append(ids, id)
	}
	mu.Unlock()
	check := w.c.Connect(bus.Options{})
	stored := map[string]int{}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	recs, err := check.Query(ctx, bus.Query{})
	if err != nil {
		t.Fatalf("reading the store: %v", err)
	}
	for _, r := range recs {
		if strings.HasPrefix(r.ID, "cx") {
			stored[r.ID]++
		}
	}
	lost, doubled := 0, 0
	for _, id := range ids {
		switch stored[id] {
		case 0:
			lost++
			if lost <= 10 {
				t.Errorf("acknowledged %s is not stored", id)
			}
		case 1:
		default:
			doubled++
			t.Errorf("acknowledged %s is stored %d times", id, stored[id])
		}
	}

	// Wait for the outcomes to settle (no new one for 15 s, at most 2 minutes).
	outcomes := func() int {
		n := 0
		for _, id := range ids {
			if rs, err := check.Receipts(ctx, acked[id], id); err == nil && len(rs) > 0 {
				n++
			}
		}
		return n
	}
	last, settled := -1, time.Now()
	for last < len(ids) && time.Since(settled) < 10*time.Second && time.Since(chaosEnd) < 90*time.Second {
		time.Sleep(2 * time.Second)
		if n := outcomes(); n != last {
			last, settled = n, time.Now()
		}
	}
	t.Logf("checked %v after the faults stopped", time.Since(chaosEnd).Round(time.Second))

	typed := map[string]int{}
	logs, _ := filepath.Glob(filepath.Join(w.logDir, "g*-chaos*.log"))
	for _, lf := range logs {
		l, err := agentsim.ReadLog(lf)
		if err != nil {
			continue
		}
		for _, text := range l.Texts() {
			for _, id := range ids {
				typed[id] += strings.Count(text, "<<"+id+">>")
			}
		}
	}
	once, twice := 0, 0
	for _, id := range ids {
		switch {
		case typed[id] == 1:
			once++
		case typed[id] > 1:
			twice++
			t.Errorf("%s was typed %d times", id, typed[id])
		}
	}
	t.Logf("chaos for %v: %v", d.Round(time.Second), w.figures)
	t.Logf("publishes: %d attempted, %d acknowledged, %d failed (not acknowledged: allowed)", attempts.Load(), len(ids), failures.Load())
	t.Logf("store: %d acknowledged messages stored once, %d lost, %d stored twice", len(ids)-lost-doubled, lost, doubled)
	t.Logf("panes: %d typed and accepted once, %d typed twice, %d never accepted (a pane restarted, or no outcome yet); %d with an outcome",
		once, twice, len(ids)-once-twice, last)
}
