// Package loadtest measures delivery end to end as a black-box client of the whole system:
// it starts (or connects to) a daemon, starts its own tmux server whose panes run the fake
// agent shipped in the binary (`tmux-orc agentsim`, which timestamps every read), publishes at
// a steady rate, and measures from the publish call to the bytes the pane read ("typed") and
// to the prompt the agent accepted ("submitted"). A broker-only mode measures publish to the
// bridge's consumer without tmux, to separate our overhead from tmux's; a simulated mode
// (SimHosts) keeps the bridges but replaces tmux with in-process panes, to drive thousands of
// panes over several bridges from one machine. Every run can also measure JetStream alone on
// the same server (Baseline), the yardstick of its figures.
package loadtest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/tmux-orc/tmux-orc/subjects"
)

// Config says what to run.
type Config struct {
	Sessions int
	Panes    int
	Messages int
	// Priority is "mix" or one priority name.
	Priority string
	// Rate is messages per second; 0 means as fast as the publishers go.
	Rate float64
	// BrokerOnly skips tmux: publish -> the bridge's consumers.
	BrokerOnly bool
	// URLs of an existing daemon; empty starts an embedded one in a temporary directory.
	URLs []string
	// Host is the host token of the bridge (and of the embedded daemon), decided by the
	// caller (the CLI: $TMUX_ORC_HOST, else the host name). Required with URLs and a bridge;
	// empty with an embedded daemon takes that daemon's default.
	Host string
	// Sync is the embedded daemon's fsync policy ("always" or an interval).
	Sync string
	// EnterDelay is the bridge's pause before Enter.
	EnterDelay time.Duration
	// Binary runs the fake agent (`<Binary> agentsim`).
	Binary string
	// Timeout bounds the wait for the last deliveries after the last publish.
	Timeout time.Duration
	// Publishers is the number of concurrent publishers.
	Publishers int
	// SimHosts > 0 replaces tmux with simulated panes (package internal/simtmux) served by
	// SimHosts bridges in this process, one per simulated host, the sessions spread over
	// them: the bus and the bridges measured without tmux, up to MaxSimPanes panes.
	SimHosts int
	// NoBaseline skips the measurement of JetStream alone (see Baseline).
	NoBaseline bool
}

// MaxTmuxPanes and MaxSimPanes bound the panes of a load test with tmux and with simulated
// panes.
const (
	MaxTmuxPanes = 2000
	MaxSimPanes  = 20000
)

// ErrConfig is returned for an invalid load test configuration.
var ErrConfig = errors.New("invalid load test")

// Validate checks the configuration.
func (c *Config) Validate() error {
	if len(c.URLs) > 0 && !c.BrokerOnly && c.Host == "" {
		return fmt.Errorf("%w: a bridge for the daemon at %s needs a host", ErrConfig, strings.Join(c.URLs, ","))
	}
	if c.Sessions < 1 || c.Panes < 1 || c.Messages < 1 {
		return fmt.Errorf("%w: --sessions, --panes and --messages must be at least 1", ErrConfig)
	}
	switch {
	case c.SimHosts < 0:
		return fmt.Errorf("%w: --sim-hosts must not be negative", ErrConfig)
	case c.SimHosts > 0 && c.BrokerOnly:
		return fmt.Errorf("%w: --sim-hosts and --broker-only exclude each other", ErrConfig)
	case c.SimHosts > c.Sessions:
		return fmt.Errorf("%w: --sim-hosts %d is more than the %d sessions", ErrConfig, c.SimHosts, c.Sessions)
	case c.SimHosts > 0 && c.Sessions*c.Panes > MaxSimPanes:
		return fmt.Errorf("%w: %d simulated panes; the limit is %d", ErrConfig, c.Sessions*c.Panes, MaxSimPanes)
	case c.SimHosts == 0 && c.Sessions*c.Panes > MaxTmuxPanes:
		return fmt.Errorf("%w: %d panes; the limit is %d with tmux (--sim-hosts simulates up to %d)", ErrConfig, c.Sessions*c.Panes, MaxTmuxPanes, MaxSimPanes)
	}
	if c.Priority != "mix" {
		if _, err := subjects.ParsePriority(c.Priority); err != nil {
			return fmt.Errorf("%w: --priority %q: want mix, critical, high, normal or low", ErrConfig, c.Priority)
		}
	}
	if c.Rate < 0 {
		return fmt.Errorf("%w: --rate must not be negative", ErrConfig)
	}
	if c.Publishers < 1 {
		c.Publishers = 8
	}
	if c.Timeout <= 0 {
		c.Timeout = 60 * time.Second
	}
	return nil
}

// ParseRate accepts "200/s", "200", "12000/s", or "max" (0: full speed).
func ParseRate(s string) (float64, error) {
	if s == "max" || s == "0" {
		return 0, nil
	}
	v, err := strconv.ParseFloat(strings.TrimSuffix(s, "/s"), 64)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("%w: --rate %q: want messages per second such as 200/s, or max", ErrConfig, s)
	}
	return v, nil
}

// priorityFor picks the priority of message i: the fixed one, or the mix
// (10% critical, 20% high, 50% normal, 20% low), deterministic per seed.
func (c *Config) priorityFor(r *rand.Rand) subjects.Priority {
	if c.Priority != "mix" {
		p, _ := subjects.ParsePriority(c.Priority)
		return p
	}
	switch x := r.IntN(10); {
	case x == 0:
		return subjects.Critical
	case x <= 2:
		return subjects.High
	case x <= 7:
		return subjects.Normal
	default:
		return subjects.Low
	}
}

// sent is one published message.
type sent struct {
	id       string
	priority subjects.Priority
	target   int // index of the pane
	at       time.Time
}
