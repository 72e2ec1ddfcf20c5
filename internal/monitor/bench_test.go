package monitor

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/tmux-orc/tmux-orc/internal/embeddedtest"
	"github.com/tmux-orc/tmux-orc/internal/tmuxtest"
)

// BenchmarkQuietPanesCost measures what watching quiet panes costs, in one run: the tmux
// server's CPU (from /proc/<pid>/stat) for costWindow without a monitor, then with a monitor
// (default configuration, 1 s poll) running, plus the monitor's CPU (this process's CPU with
// the monitor minus without it; the embedded NATS server runs in both); at 100 and 1000 panes of
// `cat` spread over 10 sessions. Run it with -benchtime 1x.
func BenchmarkQuietPanesCost(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprintf("panes=%d", n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				quietPanesCost(b, n)
			}
		})
	}
}

// costWindow is how long each phase is measured.
const costWindow = 10 * time.Second

func quietPanesCost(b *testing.B, n int) {
	srv := tmuxtest.NewServer(b, "orc-mon-cost")
	const sessions = 10
	for s := 0; s < sessions; s++ {
		name := fmt.Sprintf("quiet%d", s)
		srv.Tmux("new-session", "-d", "-s", name, "-x", "120", "-y", "30", "cat")
		// Windows in batches: one tmux command line holds many commands.
		per := n/sessions - 1
		for done := 0; done < per; {
			k := min(100, per-done)
			args := []string{}
			for j := 0; j < k; j++ {
				args = append(args, "new-window", "-d", "-t", name+":", "cat", ";")
			}
			srv.Tmux(args[:len(args)-1]...)
			done += k
		}
	}
	if got := strings.Count(srv.Tmux("list-panes", "-a", "-F", "x"), "x"); got != n {
		b.Fatalf("%d panes, want %d", got, n)
	}
	pid, err := strconv.Atoi(srv.Tmux("display-message", "-p", "#{pid}"))
	if err != nil {
		b.Fatal(err)
	}
	ecfg := embeddedtest.Config(b)
	embeddedtest.Start(b, ecfg)
	c := embeddedtest.Connect(b, ecfg)
	time.Sleep(time.Second) // the panes settle
	idle0 := selfCPU()
	tmuxIdle := serverCPU(b, pid, costWindow)
	selfIdle := selfCPU() - idle0 // the NATS server and the test, without a monitor
	cfg := DefaultConfig(srv.Socket, ecfg.HostName)
	cfg.IdleAfter, cfg.LongIdleAfter, cfg.FreshAfter = time.Hour, 2*time.Hour, time.Hour
	m := New(cfg, c, zap.NewNop())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	defer func() { cancel(); <-done }()
	for len(m.Status().Agents) != n {
		time.Sleep(50 * time.Millisecond)
	}
	// Settle: the first reads of every pane, the one after, each agent's start-up counted as
	// busy for BusyWindow, and the stored view written.
	for settled := false; !settled; {
		time.Sleep(time.Second)
		settled = true
		for _, a := range m.Status().Agents {
			settled = settled && a.State == Idle
		}
	}
	time.Sleep(5 * time.Second)
	self0 := selfCPU()
	st0 := m.Status()
	tmuxWith := serverCPU(b, pid, costWindow)
	self := selfCPU() - self0 - selfIdle
	st1 := m.Status()

	perSec := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / costWindow.Seconds() }
	added := perSec(tmuxWith) - perSec(tmuxIdle) + perSec(self)
	b.ReportMetric(perSec(tmuxIdle), "tmux-ms/s-without")
	b.ReportMetric(perSec(tmuxWith), "tmux-ms/s-with")
	b.ReportMetric(perSec(self), "monitor-ms/s")
	b.ReportMetric(added/10, "%core-added")
	b.ReportMetric(float64(st1.Passes-st0.Passes)/costWindow.Seconds(), "passes/s")
	b.ReportMetric(float64(st1.Reads-st0.Reads)/costWindow.Seconds(), "reads/s")
}

// serverCPU is the CPU time process pid uses during d.
func serverCPU(b *testing.B, pid int, d time.Duration) time.Duration {
	read := func() time.Duration {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			b.Fatal(err)
		}
		// Fields after the command name (which is in parentheses): utime is the 14th field.
		f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+2:]))
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		return time.Duration(ut+st) * time.Second / 100 // clock ticks (USER_HZ 100)
	}
	start := read()
	time.Sleep(d)
	return read() - start
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
