package cli

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// parseSince accepts a duration ("30m", "2h", "3d") meaning that long ago, an RFC 3339
// time, or a date (2025-01-15, midnight UTC). A time in the future is an error (nothing can
// have been stored since); one before 1970, or a duration longer than the clock goes back,
// means everything.
func parseSince(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	var t time.Time
	var err error
	if t, err = time.Parse(time.RFC3339Nano, s); err != nil {
		t, err = time.Parse(time.DateOnly, s)
	}
	if err != nil {
		t, err = sinceAgo(s, now)
	}
	if err != nil {
		return time.Time{}, flagErrorf("--since %q: want a duration such as 30m, 2h or 1d, or an RFC 3339 time such as 2025-01-15T10:30:45Z", s)
	}
	if t.After(now) {
		return time.Time{}, flagErrorf("--since %q is in the future (now is %s): nothing can have been stored since", s, now.UTC().Format(time.RFC3339))
	}
	if t.Before(time.Unix(0, 0)) {
		return time.Time{}, nil
	}
	return t, nil
}

func sinceAgo(s string, now time.Time) (time.Time, error) {
	const maxDays = float64(math.MaxInt64) / float64(24*time.Hour)
	if days, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.ParseFloat(days, 64); err == nil && n >= 0 && !math.IsInf(n, 0) {
			if n >= maxDays {
				return time.Time{}, nil // longer ago than the clock goes: everything
			}
			return now.Add(-time.Duration(n * 24 * float64(time.Hour))), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("not a duration")
}
