package spool_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/internal/embeddedtest"
	"github.com/tmux-orc/tmux-orc/internal/spool"
	"github.com/tmux-orc/tmux-orc/subjects"
)

func envelope(t *testing.T, id, body string) *subjects.Envelope {
	t.Helper()
	a, err := subjects.ParseTarget("h1.backend:1")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	return &subjects.Envelope{ID: id, Timestamp: now, Source: subjects.Source{Type: "cli", Identifier: "pm:1", Host: "h1"}, Target: a,
		Message: subjects.Message{Type: "notification", Priority: subjects.Normal,
			Content: subjects.Content{Subject: subjects.SubjectLine(body), Body: body}}}
}

// TestBrokenEntriesAreQuarantined spools good entries around an invalid message and a file
// that is not an entry: the good ones are imported, the broken ones moved to the
// quarantine and logged, and nothing is left to block the next start.
func TestBrokenEntriesAreQuarantined(t *testing.T) {
	cfg := embeddedtest.Config(t)
	embeddedtest.Start(t, cfg)
	c := embeddedtest.Connect(t, cfg)
	dir := cfg.Home
	// Sorted by name, the broken entries come first.
	if err := spool.Write(dir, spool.Entry{Envelope: envelope(t, "a-invalid", "   "), Receipt: bus.Receipt{Priority: subjects.Normal}}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir.SpoolDir(), "b-garbage.json"), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"c-good", "d-good"} {
		if err := spool.Write(dir, spool.Entry{Envelope: envelope(t, id, "spooled "+id), Receipt: bus.Receipt{Priority: subjects.Normal}}); err != nil {
			t.Fatal(err)
		}
	}
	core, logs := observer.New(zap.InfoLevel)
	n, err := spool.Import(context.Background(), dir, c, zap.New(core))
	if err != nil || n != 2 {
		t.Fatalf("Import = %d, %v; want the two good entries", n, err)
	}
	for _, id := range []string{"c-good", "d-good"} {
		if _, err := c.Get(context.Background(), id); err != nil {
			t.Errorf("%s not stored: %v", id, err)
		}
	}
	left, _ := filepath.Glob(filepath.Join(dir.SpoolDir(), "*.json"))
	if len(left) != 0 {
		t.Errorf("left in the spool: %v", left)
	}
	for _, f := range []string{"a-invalid.json", "b-garbage.json"} {
		if _, err := os.Stat(filepath.Join(spool.QuarantineDir(dir), f)); err != nil {
			t.Errorf("%s not quarantined: %v", f, err)
		}
	}
	if got := logs.FilterMessageSnippet("quarantine").Len(); got != 2 {
		t.Errorf("%d quarantine log lines, want 2", got)
	}
	// The next start imports nothing and fails on nothing.
	if n, err := spool.Import(context.Background(), dir, c, zap.NewNop()); err != nil || n != 0 {
		t.Errorf("second import = %d, %v", n, err)
	}
}
