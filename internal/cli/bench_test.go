package cli_test

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/internal/home"
	"github.com/tmux-orc/tmux-orc/subjects"
)

// BenchmarkPublishProcess runs `tmux-orc publish` and `nats pub --jetstream` (natscli, when
// on PATH) as whole processes against the same daemon, alternating, and reports both medians
// and their ratio. Both wait for the server's storage acknowledgement.
func BenchmarkPublishProcess(b *testing.B) {
	dir := home.Dir(b.TempDir())
	xdg := b.TempDir()
	env := append(os.Environ(), "TMUX_ORC_HOME="+string(dir), "TMUX_ORC_PORT=0", "XDG_CONFIG_HOME="+xdg)
	start := exec.Command(binary(), "daemon", "start")
	start.Env = env
	if out, err := start.CombinedOutput(); err != nil {
		b.Fatalf("daemon start: %v\n%s", err, out)
	}
	b.Cleanup(func() { stopDaemon(dir) })
	natsBin, natsErr := exec.LookPath("nats")
	run := func(name string, args ...string) time.Duration {
		cmd := exec.Command(name, args...)
		cmd.Env = env
		t0 := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("%s: %v\n%s", name, err, out)
		}
		return time.Since(t0)
	}
	var ours, theirs []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ours = append(ours, run(binary(), "publish", "--session", "backend-dev:2", "--priority", "high",
			"--tag", "monitoring", "--tag", "idle", "--from", "bench", fmt.Sprintf("Agent backend-dev:2 idle 15min (%d)", i)))
		if natsErr == nil {
			id := subjects.NewID(time.Now())
			body := fmt.Sprintf(`{"id":%q,"timestamp":"2026-01-01T00:00:00Z","source":{"type":"cli","identifier":"bench"},`+
				`"target":{"kind":"session","session":"backend-dev","window":"2"},"message":{"type":"notification","category":"general",`+
				`"priority":"high","content":{"subject":"Agent backend-dev:2 idle 15min","body":"Agent backend-dev:2 idle 15min (%d)"}},`+
				`"metadata":{"requires_ack":true,"tags":["monitoring","idle"]}}`, id, i)
			theirs = append(theirs, run(natsBin, "--context", "tmux-orc", "pub", "--jetstream", "-H", "Nats-Msg-Id:"+id,
				"orc.high."+subjects.LocalHost()+".backend-dev.2."+id, body))
		}
	}
	b.StopTimer()
	med := func(d []time.Duration) float64 { return bus.Percentiles(d).P50 }
	b.ReportMetric(med(ours), "tmux-orc-p50-ms")
	if len(theirs) > 0 {
		b.ReportMetric(med(theirs), "nats-pub-p50-ms")
		b.ReportMetric(med(ours)/med(theirs), "ratio")
	}
}
