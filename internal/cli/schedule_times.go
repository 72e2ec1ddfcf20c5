package cli

import (
	"fmt"
	"time"

	"github.com/tmux-orc/tmux-orc/subjects"
)

// scheduleFlags are publish's --in, --at, --every, --count and --until.
type scheduleFlags struct {
	In    time.Duration
	At    string
	Every time.Duration
	Count int
	Until string
}

// DefaultEveryCount bounds --every when neither --count nor --until is given.
const DefaultEveryCount = 24

func (s scheduleFlags) set() bool {
	return s.In != 0 || s.At != "" || s.Every != 0 || s.Count != 0 || s.Until != ""
}

// times returns when each occurrence is due, or nil when nothing is scheduled.
func (s scheduleFlags) times(now time.Time) ([]time.Time, error) {
	if !s.set() {
		return nil, nil
	}
	if s.In < 0 {
		return nil, flagErrorf("--in %s: want a positive duration such as 30m", s.In)
	}
	if s.In != 0 && s.At != "" {
		return nil, flagErrorf("--in and --at do not go together: say when once")
	}
	if s.Every == 0 && (s.Count != 0 || s.Until != "") {
		return nil, flagErrorf("--count and --until bound --every: give --every too")
	}
	if s.Every != 0 && s.Every < time.Second {
		return nil, flagErrorf("--every %s: want 1s or more", s.Every)
	}
	if s.Count < 0 || s.Count > subjects.MaxOccurrences {
		return nil, flagErrorf("--count %d: want 1 to %d", s.Count, subjects.MaxOccurrences)
	}
	first := now.Add(s.Every)
	switch {
	case s.In > 0:
		first = now.Add(s.In)
	case s.At != "":
		t, err := parseAt(s.At, now)
		if err != nil {
			return nil, err
		}
		first = t
	}
	if s.Every == 0 {
		return []time.Time{first}, nil
	}
	var until time.Time
	if s.Until != "" {
		var err error
		if until, err = parseAt(s.Until, now); err != nil {
			return nil, flagErrorf("--until: %v", err)
		}
	}
	count := s.Count
	if count == 0 && until.IsZero() {
		count = DefaultEveryCount
	}
	var out []time.Time
	for t := first; (count == 0 || len(out) < count) && (until.IsZero() || !t.After(until)); t = t.Add(s.Every) {
		if len(out) == subjects.MaxOccurrences {
			return nil, flagErrorf("--every %s until %s is more than %d occurrences", s.Every, until.Format(time.RFC3339), subjects.MaxOccurrences)
		}
		out = append(out, t)
	}
	if len(out) == 0 {
		return nil, flagErrorf("--until %s is before the first occurrence (%s)", s.Until, first.Format(time.RFC3339))
	}
	return out, nil
}

// parseAt reads a wall-clock time today ("15:00", "15:00:30"; tomorrow when it has passed)
// or an RFC 3339 time, which must be in the future.
func parseAt(s string, now time.Time) (time.Time, error) {
	for _, layout := range []string{"15:04", "15:04:05"} {
		if c, err := time.ParseInLocation(layout, s, now.Location()); err == nil {
			t := time.Date(now.Year(), now.Month(), now.Day(), c.Hour(), c.Minute(), c.Second(), 0, now.Location())
			if !t.After(now) {
				t = t.AddDate(0, 0, 1)
			}
			return t, nil
		}
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, flagErrorf("--at %q: want HH:MM (today, or tomorrow once it has passed) or an RFC 3339 time such as 2026-12-01T15:00:00Z", s)
	}
	if !t.After(now) {
		return time.Time{}, flagErrorf("--at %s is in the past", s)
	}
	return t, nil
}

func describeTimes(ts []time.Time, every time.Duration) string {
	f := func(t time.Time) string { return t.Local().Format("2006-01-02 15:04:05") }
	if len(ts) == 1 {
		return "due " + f(ts[0])
	}
	return fmt.Sprintf("%d occurrences every %s, first %s, last %s", len(ts), every, f(ts[0]), f(ts[len(ts)-1]))
}
