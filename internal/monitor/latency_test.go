package monitor_test

import (
	"context"
	"testing"
	"time"
)

// BenchmarkCrashToAlert measures detection latency with the default 1 s poll: from the
// SIGUSR2 that crashes an agent to the publish time of its crash alert. Each iteration
// restarts the agent and crashes it again.
func BenchmarkCrashToAlert(b *testing.B) {
	w := newWorld(b)
	w.cfg.Poll = time.Second
	w.cfg.Cooldown = 0
	dev := w.agent("alpha:dev", "")
	w.start()
	var total, worst time.Duration
	for i := 0; i < b.N; i++ {
		if i > 0 {
			ready := readyCount(b, dev)
			if _, err := w.mon.Restart(context.Background(), "alpha:dev", true); err != nil {
				b.Fatal(err)
			}
			waitFor(b, "restarted", func() bool { return readyCount(b, dev) == ready+1 })
			waitFor(b, "resolved", func() bool { return len(tagged(w.alerts("alpha"), "resolved")) == i })
		}
		// A random phase against the poll, as a real crash has.
		time.Sleep(time.Duration(i%5) * 200 * time.Millisecond)
		at := time.Now()
		w.crash(dev)
		alerts := w.waitAlerts("alpha", "crash", 2*i+1)
		var got time.Time
		for _, a := range alerts {
			if !a.HasTag("resolved") {
				got = a.Timestamp
			}
		}
		d := got.Sub(at)
		total += d
		worst = max(worst, d)
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/crash")
	b.ReportMetric(float64(worst.Milliseconds()), "worst-ms")
}

// BenchmarkIdleAlertAfterThreshold measures, with the default 1 s poll, how long after the
// idle threshold (IdleAfter after the agent's screen last changed) the idle alert is
// published. Each iteration makes the screen change (a keystroke into the composer), which
// resolves the previous idle episode, and waits for the next alert.
func BenchmarkIdleAlertAfterThreshold(b *testing.B) {
	w := newWorld(b)
	w.cfg.Poll = time.Second
	w.cfg.IdleAfter = 2 * time.Second
	w.cfg.LongIdleAfter = time.Hour
	w.cfg.Cooldown = 0
	w.agent("alpha:pm", "pm")
	w.agent("alpha:dev", "agent")
	w.start()
	w.waitAlerts("alpha", "idle", 1) // the first episode, from the start
	var total, worst time.Duration
	for i := 0; i < b.N; i++ {
		time.Sleep(time.Duration(i%5) * 200 * time.Millisecond) // a random phase against the poll
		changed := time.Now()
		w.tmux("send-keys", "-t", "=alpha:dev", "-l", "x")
		var last time.Time
		waitFor(b, "the next idle alert", func() bool {
			for _, a := range tagged(w.alerts("alpha"), "idle") {
				if !a.HasTag("resolved") && !a.HasTag("team-idle") && a.Timestamp.After(changed) {
					last = a.Timestamp
					return true
				}
			}
			return false
		})
		d := last.Sub(changed.Add(w.cfg.IdleAfter))
		total += d
		worst = max(worst, d)
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms-after-threshold")
	b.ReportMetric(float64(worst.Milliseconds()), "worst-ms")
}
