package monitor

import (
	"testing"
	"time"
)

func TestEdgeRaisesOncePerEpisodeWithCooldownAndGrace(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	cool := 60 * time.Second
	var e edge
	steps := []struct {
		sec     int
		active  bool
		allowed bool
		want    action
	}{
		{0, true, false, noAction}, // in grace
		{1, true, true, raise},
		{2, true, true, noAction}, // still active: announced already
		{3, false, true, resolve},
		{4, true, true, noAction},   // back within the cooldown
		{30, false, true, noAction}, // ended unannounced: nothing to resolve
		{50, true, true, noAction},
		{61, true, true, raise}, // cooldown over, still active
	}
	for _, s := range steps {
		got := e.step(at(s.sec), s.active, s.allowed, cool)
		if got != s.want {
			t.Fatalf("t=%ds: %v, want %v", s.sec, got, s.want)
		}
		switch got {
		case raise:
			e.announced, e.lastAlert = true, at(s.sec)
		case resolve:
			e.resolved()
		}
	}
}
