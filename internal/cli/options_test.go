package cli

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tmux-orc/tmux-orc/subjects"
)

func TestParseSince(t *testing.T) {
	now := time.Date(2026, 1, 2, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Time
	}{
		{"30m", now.Add(-30 * time.Minute)},
		{"2h", now.Add(-2 * time.Hour)},
		{"1d", now.Add(-24 * time.Hour)},
		{"1.5d", now.Add(-36 * time.Hour)},
		{"2025-01-15T10:30:45Z", time.Date(2025, 1, 15, 10, 30, 45, 0, time.UTC)},
		{"2025-01-15", time.Date(2025, 1, 15, 0, 0, 0, 0, time.UTC)},
		// Longer ago than the clock goes, or before 1970: everything.
		{"1e300d", time.Time{}},
		{"200000d", time.Time{}},
		{"1000-01-01", time.Time{}},
	} {
		got, err := parseSince(tc.in, now)
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("parseSince(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"yesterday", "-5m", "2025-13-01", "d", "NaNd", "Infd",
		// The future (3000 is also past what nanoseconds since 1970 can hold).
		"3000-01-01", "3000-01-01T00:00:00Z", "2026-01-02T12:00:01Z"} {
		if _, err := parseSince(bad, now); err == nil {
			t.Errorf("parseSince(%q) accepted", bad)
		}
	}
	if _, err := parseSince("3000-01-01", now); err == nil || !strings.Contains(err.Error(), "in the future") {
		t.Errorf("parseSince(3000-01-01): %v, want an error saying the future", err)
	}
}

func TestCompileFilter(t *testing.T) {
	for _, tc := range []struct {
		expr, text string
		match      bool
	}{
		{`HIGH PRIORITY|CRITICAL`, "CRITICAL PM crash", true},
		{`HIGH PRIORITY\|CRITICAL`, "HIGH PRIORITY agent idle", true},
		{`HIGH PRIORITY\|CRITICAL`, "NORMAL status", false},
		{`a\\|b`, `a\`, true},
		{`(?i)recovery`, "NORMAL Recovery done", true},
		{`\d+ idle`, "3 idle", true},
	} {
		re, err := compileFilter(tc.expr)
		if err != nil {
			t.Fatalf("%q: %v", tc.expr, err)
		}
		if re.MatchString(tc.text) != tc.match {
			t.Errorf("%q on %q: want match=%v", tc.expr, tc.text, tc.match)
		}
	}
}

func TestPublishOptionsBuildEnvelope(t *testing.T) {
	f := newFactory(IO{})
	o := &PublishOptions{f: f, Session: "backend-dev:2", Priority: "HIGH", Tags: []string{"idle"},
		RequiresAck: "auto", Type: "notification", Category: "health", From: "monitor",
		Context: []string{"agent=backend-dev:2", "idle_duration=900"}, Args: []string{"Agent", "idle"}}
	e, err := o.buildEnvelope(context.Background(), strings.NewReader(""), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if e.Message.Priority != subjects.High || !e.Metadata.RequiresAck || e.Message.Content.Body != "Agent idle" ||
		e.Message.Content.Context["idle_duration"] != "900" || e.Target.Window != "2" || e.Source.Identifier != "monitor" {
		t.Fatalf("envelope %+v", e)
	}
	o.Group, o.Session = "management", "be:1"
	if _, err := o.buildEnvelope(context.Background(), nil, time.Now()); err == nil || !strings.Contains(err.Error(), "not a window") {
		t.Fatalf("group scoped to a window: %v", err)
	}
	o.Group, o.Session, o.Context = "", "pm:1", []string{"novalue"}
	if _, err := o.buildEnvelope(context.Background(), nil, time.Now()); err == nil || !strings.Contains(err.Error(), "KEY=VALUE") {
		t.Fatalf("bad context: %v", err)
	}
}
