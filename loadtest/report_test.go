package loadtest

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"
	"time"

	"github.com/tmux-orc/tmux-orc/subjects"
)

func ms(v ...float64) []time.Duration {
	var out []time.Duration
	for _, f := range v {
		out = append(out, time.Duration(f*float64(time.Millisecond)))
	}
	return out
}

func TestSummarizeKnownInputs(t *testing.T) {
	// 1..100 ms: nearest-rank p50 = 50, p95 = 95, p99 = 99.
	var d []time.Duration
	for i := 100; i >= 1; i-- { // unsorted on purpose
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	s := Summarize(d, 75*time.Millisecond)
	want := Summary{Count: 100, Min: 1, P50: 50, P95: 95, P99: 99, Max: 100, WithinTarget: 0.75}
	if s != want {
		t.Fatalf("got %+v\nwant %+v", s, want)
	}
	for _, tc := range []struct {
		in     []time.Duration
		target time.Duration
		want   Summary
	}{
		{ms(7), time.Millisecond, Summary{Count: 1, Min: 7, P50: 7, P95: 7, P99: 7, Max: 7, WithinTarget: 0}},
		{ms(1, 2), 2 * time.Millisecond, Summary{Count: 2, Min: 1, P50: 1, P95: 2, P99: 2, Max: 2, WithinTarget: 1}},
		{ms(0.25, 0.5, 0.75, 10), time.Millisecond, Summary{Count: 4, Min: 0.25, P50: 0.5, P95: 10, P99: 10, Max: 10, WithinTarget: 0.75}},
		{nil, time.Millisecond, Summary{}},
	} {
		if got := Summarize(tc.in, tc.target); got != tc.want {
			t.Errorf("Summarize(%v) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

func TestReportText(t *testing.T) {
	r := &Report{Mode: "tmux", Sessions: 2, Panes: 2, Messages: 4, Rate: 100, Sync: "always", Duration: 1, Throughput: 4,
		Priorities: []PriorityReport{{Priority: subjects.Critical, Target: 50, Published: 4,
			Typed: Summarize(ms(1, 2, 3, 60), 50*time.Millisecond), Submitted: Summarize(ms(151, 152, 153, 210), 50*time.Millisecond)}}}
	var b bytes.Buffer
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"lost 0, duplicated 0", "typed into the pane", "critical      4  1.00    2.00  60.00  60.00  60.00      50   75.0%",
		"submitted (Enter taken)", "0.0%"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, b.String())
		}
	}
}

func TestSVGIsWellFormed(t *testing.T) {
	var b bytes.Buffer
	err := WriteSVG(&b, "typed <latency>", map[subjects.Priority][]time.Duration{subjects.Critical: ms(0.3, 1.2, 4), subjects.Low: ms(300, 2000)})
	if err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(&b)
	rects := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "rect" {
			rects++
		}
	}
	if rects != 16*2+2 {
		t.Fatalf("%d rects, want %d", rects, 16*2+2)
	}
}
