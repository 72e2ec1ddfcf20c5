package loadtest

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/subjects"
)

// Targets are the original guide's delivery targets per priority.
var Targets = map[subjects.Priority]time.Duration{
	subjects.Critical: 50 * time.Millisecond,
	subjects.High:     75 * time.Millisecond,
	subjects.Normal:   100 * time.Millisecond,
	subjects.Low:      500 * time.Millisecond,
}

// Summary describes a set of latencies.
type Summary struct {
	Count int     `json:"count"`
	Min   float64 `json:"min_ms"`
	P50   float64 `json:"median_ms"`
	P95   float64 `json:"p95_ms"`
	P99   float64 `json:"p99_ms"`
	Max   float64 `json:"max_ms"`
	// WithinTarget is the share (0..1) at or under the priority's target.
	WithinTarget float64 `json:"within_target"`
}

// Summarize computes the percentiles of d (bus.Percentiles: nearest rank, as pubsub stats
// reports them) and the share within target.
func Summarize(d []time.Duration, target time.Duration) Summary {
	if len(d) == 0 {
		return Summary{}
	}
	least, within := d[0], 0
	for _, v := range d {
		least = min(least, v)
		if v <= target {
			within++
		}
	}
	ps := bus.Percentiles(d)
	return Summary{Count: ps.Count, Min: msf(least), P50: ps.P50, P95: ps.P95, P99: ps.P99, Max: ps.Max,
		WithinTarget: float64(within) / float64(len(d))}
}

func msf(d time.Duration) float64 { return math.Round(float64(d.Microseconds())) / 1000 }

// PriorityReport holds the figures of one priority.
type PriorityReport struct {
	Priority  subjects.Priority `json:"priority"`
	Target    float64           `json:"target_ms"`
	Published int               `json:"published"`
	// Typed is publish -> the pane program read the text; Submitted -> it accepted the prompt.
	// In broker-only mode Typed is publish -> the bridge's consumer received it.
	Typed     Summary `json:"typed"`
	Submitted Summary `json:"submitted"`
}

// Report is what a load test measured.
type Report struct {
	Mode string `json:"mode"`
	// Hosts is the number of simulated hosts (bridges) in mode "simulated".
	Hosts      int              `json:"simulated_hosts,omitempty"`
	Sessions   int              `json:"sessions"`
	Panes      int              `json:"panes_per_session"`
	Messages   int              `json:"messages"`
	Rate       float64          `json:"rate_per_s"`
	Publishers int              `json:"publishers"`
	Sync       string           `json:"sync"`
	Duration   float64          `json:"duration_s"`
	Throughput float64          `json:"throughput_per_s"`
	Lost       int              `json:"lost"`
	Duplicates int              `json:"duplicates"`
	Priorities []PriorityReport `json:"priorities"`
	// ReceivedAtPublishEnd (broker-only) is how many messages had reached the consumers when
	// the last publish returned: all of them when consuming keeps up with publishing.
	ReceivedAtPublishEnd int `json:"received_at_publish_end,omitempty"`
	// DaemonRSS is the peak resident memory of the process running daemon and bridge.
	DaemonRSS int64 `json:"daemon_bridge_rss_bytes"`
	// Baseline is JetStream alone in the same run (nil when skipped or failed:
	// BaselineError says why it failed).
	Baseline      *Baseline `json:"jetstream_baseline,omitempty"`
	BaselineError string    `json:"jetstream_baseline_error,omitempty"`
	// ThroughputRatio is Throughput over the baseline's publish-only rate, and
	// ConsumedRatio over its publish -> consumer throughput (both at --rate max).
	ThroughputRatio float64 `json:"throughput_ratio,omitempty"`
	ConsumedRatio   float64 `json:"consumed_ratio,omitempty"`
}

func (r *Report) setBaseline(b *Baseline, err error) {
	if err != nil {
		r.BaselineError = err.Error()
		return
	}
	r.Baseline = b
	if b != nil && b.PublishOnly > 0 {
		r.ThroughputRatio = r.Throughput / b.PublishOnly
		if b.Throughput > 0 {
			r.ConsumedRatio = r.Throughput / b.Throughput
		}
	}
}

func (r *Report) writeBaseline(w io.Writer) {
	switch {
	case r.BaselineError != "":
		fmt.Fprintf(w, "\nJetStream alone: not measured: %s\n", r.BaselineError)
		return
	case r.Baseline == nil:
		return
	}
	b := r.Baseline
	fmt.Fprintf(w, "\nJetStream alone, same server and run (stream %s with ORC_NORMAL's settings, %d-byte messages):\n", b.Stream, b.MessageBytes)
	if b.PublishOnly > 0 {
		fmt.Fprintf(w, "  publish only (sync, %d publishers): %.0f msg/s (%.0f before this run's measurement, %.0f after); this run's throughput is %.2f of it\n",
			r.Publishers, b.PublishOnly, b.PublishOnlyBefore, b.PublishOnlyAfter, r.ThroughputRatio)
	}
	l := b.Latency
	fmt.Fprintf(w, "  publish -> consumer at %s: median %.2f, p95 %.2f, p99 %.2f, max %.2f ms; %.0f msg/s", rateText(r.Rate), l.P50, l.P95, l.P99, l.Max, b.Throughput)
	if r.ConsumedRatio > 0 {
		fmt.Fprintf(w, "; this run's throughput is %.2f of it", r.ConsumedRatio)
	}
	fmt.Fprintln(w)
}

// WriteText prints the report in the shape of the original guide's performance report.
func (r *Report) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "PERFORMANCE TEST RESULTS (%s)\n", r.Mode)
	fmt.Fprintln(w, strings.Repeat("=", 26))
	fmt.Fprintf(w, "%d messages to %d sessions x %d panes", r.Messages, r.Sessions, r.Panes)
	if r.Hosts > 0 {
		fmt.Fprintf(w, " (%d panes, simulated, over %d hosts' bridges)", r.Sessions*r.Panes, r.Hosts)
	}
	fmt.Fprintf(w, " at %s, sync %s\n", rateText(r.Rate), r.Sync)
	fmt.Fprintf(w, "duration %.2fs, throughput %.0f msg/s, lost %d, duplicated %d", r.Duration, r.Throughput, r.Lost, r.Duplicates)
	if r.DaemonRSS > 0 {
		fmt.Fprintf(w, ", daemon+bridge peak RSS %.1f MiB", float64(r.DaemonRSS)/(1<<20))
	}
	fmt.Fprintln(w)
	if r.Mode == "broker-only" {
		fmt.Fprintf(w, "when the last publish returned, %d of %d messages had reached the consumers\n", r.ReceivedAtPublishEnd, r.Messages)
	}
	stages := []struct {
		name string
		get  func(PriorityReport) Summary
	}{{"typed into the pane", func(p PriorityReport) Summary { return p.Typed }},
		{"submitted (Enter taken)", func(p PriorityReport) Summary { return p.Submitted }}}
	if r.Mode == "broker-only" {
		stages = stages[:1]
		stages[0].name = "publish -> bridge consumer"
	}
	for _, st := range stages {
		fmt.Fprintf(w, "\n%s (ms):\n", st.name)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "priority\tcount\tmin\tmedian\tp95\tp99\tmax\ttarget\twithin\t")
		for _, p := range r.Priorities {
			s := st.get(p)
			if s.Count == 0 {
				continue
			}
			fmt.Fprintf(tw, "%s\t%d\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%.0f\t%.1f%%\t\n", p.Priority, s.Count, s.Min, s.P50, s.P95, s.P99, s.Max,
				p.Target, 100*s.WithinTarget)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	r.writeBaseline(w)
	return nil
}

func rateText(r float64) string {
	if r <= 0 {
		return "full speed"
	}
	return fmt.Sprintf("%.0f/s", r)
}

// WriteSVG draws a latency histogram of the typed stage per priority (log-scaled buckets).
func WriteSVG(w io.Writer, title string, samples map[subjects.Priority][]time.Duration) error {
	edges := []float64{0.25, 0.5, 1, 2, 3, 5, 7.5, 10, 20, 50, 75, 100, 200, 500, 1000}
	const width, height, left, bottom = 760, 360, 50, 40
	colors := map[subjects.Priority]string{subjects.Critical: "#d62728", subjects.High: "#ff7f0e", subjects.Normal: "#1f77b4", subjects.Low: "#7f7f7f"}
	counts := map[subjects.Priority][]int{}
	maxCount := 1
	for p, ds := range samples {
		c := make([]int, len(edges)+1)
		for _, d := range ds {
			ms := float64(d.Microseconds()) / 1000
			i := sort.SearchFloat64s(edges, ms)
			c[i]++
		}
		for _, n := range c {
			maxCount = max(maxCount, n)
		}
		counts[p] = c
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="11">`+"\n", width, height)
	fmt.Fprintf(&b, `<text x="%d" y="16" font-size="13">%s</text>`+"\n", left, escapeXML(title))
	nb := len(edges) + 1
	bw := float64(width-left-10) / float64(nb)
	ps := []subjects.Priority{}
	for _, p := range subjects.Priorities {
		if _, ok := counts[p]; ok {
			ps = append(ps, p)
		}
	}
	for i := 0; i < nb; i++ {
		for j, p := range ps {
			n := counts[p][i]
			h := float64(height-bottom-30) * float64(n) / float64(maxCount)
			x := float64(left) + float64(i)*bw + float64(j)*bw/float64(len(ps)+1)
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s: %d</title></rect>`+"\n",
				x, float64(height-bottom)-h, bw/float64(len(ps)+1), h, colors[p], p, n)
		}
		label := "≤" + trimFloat(edges[min(i, len(edges)-1)])
		if i == len(edges) {
			label = ">" + trimFloat(edges[len(edges)-1])
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", float64(left)+float64(i)*bw+bw/2, height-bottom+14, label)
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d">latency, ms (bucket upper bounds)</text>`+"\n", left, height-8)
	for j, p := range ps {
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="10" height="10" fill="%s"/><text x="%d" y="%d">%s (%d)</text>`+"\n",
			width-150, 30+16*j, colors[p], width-135, 39+16*j, p, len(samples[p]))
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func trimFloat(f float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", f), "0"), ".")
}

func escapeXML(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
