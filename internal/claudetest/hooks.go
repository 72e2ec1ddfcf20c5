package claudetest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"
)

// HookRecorder is a hook command that records the JSON each hook event hands it, one file per
// event, so a test can assert which hooks fired with what.
type HookRecorder struct {
	t testing.TB
	// Dir holds the recorded payloads; Command is the absolute path of the hook script.
	Dir, Command string
}

// HookEvent is one recorded hook payload.
type HookEvent struct {
	// Name is hook_event_name; Fields the whole payload.
	Name   string
	Fields map[string]any
}

// NewHookRecorder writes the hook script into a temporary directory.
func NewHookRecorder(t testing.TB) *HookRecorder {
	t.Helper()
	dir := t.TempDir()
	h := &HookRecorder{t: t, Dir: filepath.Join(dir, "events"), Command: filepath.Join(dir, "record-hook")}
	if err := os.Mkdir(h.Dir, 0o755); err != nil {
		t.Fatal(err)
	}
	script := "#!/bin/sh\n# Records the hook's stdin JSON, one file per event, named so that they sort in order.\n" +
		"f=$(mktemp \"" + h.Dir + "/$(date +%s%N)-XXXXXX\")\ncat > \"$f.tmp\" && mv \"$f.tmp\" \"$f.json\" && rm -f \"$f\"\n"
	if err := os.WriteFile(h.Command, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return h
}

// Hooks returns an Options.Hooks value that runs the recorder for each of events.
func (h *HookRecorder) Hooks(events ...string) map[string]string {
	m := make(map[string]string, len(events))
	for _, e := range events {
		m[e] = h.Command
	}
	return m
}

// Events returns the payloads recorded so far, oldest first.
func (h *HookRecorder) Events() []HookEvent {
	h.t.Helper()
	files, err := filepath.Glob(filepath.Join(h.Dir, "*.json"))
	if err != nil {
		h.t.Fatal(err)
	}
	sort.Strings(files)
	var out []HookEvent
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			h.t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			h.t.Fatalf("hook payload %s: %v\n%s", f, err, b)
		}
		name, _ := m["hook_event_name"].(string)
		out = append(out, HookEvent{Name: name, Fields: m})
	}
	return out
}

// Wait waits until an event named name for which match holds (nil matches any) has been
// recorded, and returns it; it fails the test after 30 s.
func (h *HookRecorder) Wait(name string, match func(HookEvent) bool) HookEvent {
	h.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		for _, e := range h.Events() {
			if e.Name == name && (match == nil || match(e)) {
				return e
			}
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for the %s hook; recorded: %v", name, h.Events())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// String returns field key of the payload as a string ("" if absent or not a string).
func (e HookEvent) String(key string) string {
	s, _ := e.Fields[key].(string)
	return s
}
