package subjects

import (
	"fmt"
	"strings"
)

// Priority orders messages: a critical message overtakes queued high, normal and low ones.
type Priority int

// The four priorities, most urgent first. The zero value is invalid so that a forgotten
// priority is caught by Validate instead of silently becoming one of them.
const (
	Critical Priority = iota + 1
	High
	Normal
	Low
)

// Priorities lists every priority, most urgent first.
var Priorities = []Priority{Critical, High, Normal, Low}

var priorityNames = map[Priority]string{Critical: "critical", High: "high", Normal: "normal", Low: "low"}

// ParsePriority accepts a priority name in any letter case ("critical", "HIGH").
func ParsePriority(s string) (Priority, error) {
	name := strings.ToLower(strings.TrimSpace(s))
	for p, n := range priorityNames {
		if n == name {
			return p, nil
		}
	}
	return 0, fmt.Errorf("%w %q: want critical, high, normal or low", ErrPriority, s)
}

// ParsePriorityList parses a comma-separated list such as "critical,high".
// Duplicates are dropped; the result is ordered most urgent first.
func ParsePriorityList(s string) ([]Priority, error) {
	seen := map[Priority]bool{}
	for _, part := range strings.Split(s, ",") {
		p, err := ParsePriority(part)
		if err != nil {
			return nil, err
		}
		seen[p] = true
	}
	var out []Priority
	for _, p := range Priorities {
		if seen[p] {
			out = append(out, p)
		}
	}
	return out, nil
}

// Valid reports whether p is one of the four priorities.
func (p Priority) Valid() bool { _, ok := priorityNames[p]; return ok }

// String returns the lower-case name used in subjects and JSON ("high").
func (p Priority) String() string {
	if n, ok := priorityNames[p]; ok {
		return n
	}
	return fmt.Sprintf("priority(%d)", int(p))
}

// Label is the text the original guide prints before a message ("HIGH PRIORITY").
// read --filter matches against it, so `--filter "HIGH PRIORITY|CRITICAL"` works.
func (p Priority) Label() string {
	switch p {
	case Critical:
		return "CRITICAL"
	case High:
		return "HIGH PRIORITY"
	case Normal:
		return "NORMAL"
	case Low:
		return "LOW PRIORITY"
	}
	return p.String()
}

// Marker is the guide's emoji for the priority.
func (p Priority) Marker() string {
	switch p {
	case Critical:
		return "🚨"
	case High:
		return "⚠️"
	case Normal:
		return "📨"
	case Low:
		return "💤"
	}
	return ""
}

// Stream is the name of the JetStream stream that stores messages of this priority.
// Each priority has its own stream and limits, so a flood of one priority never
// evicts messages of another.
func (p Priority) Stream() string { return "ORC_" + strings.ToUpper(p.String()) }

// MarshalText encodes p as its name.
func (p Priority) MarshalText() ([]byte, error) {
	if !p.Valid() {
		return nil, fmt.Errorf("%w: %d", ErrPriority, int(p))
	}
	return []byte(p.String()), nil
}

// UnmarshalText decodes a priority name.
func (p *Priority) UnmarshalText(b []byte) error {
	v, err := ParsePriority(string(b))
	if err != nil {
		return err
	}
	*p = v
	return nil
}
