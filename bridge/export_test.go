package bridge

import (
	"sync/atomic"
	"time"
)

// BenchGate makes a bridge with configuration c call took with the duration of each
// readiness check on its delivery path (a pane ready at its last look), and returns a switch
// that, while set, makes it type without the check (for the benchmark that measures what the
// check costs).
func BenchGate(c *Config, took func(time.Duration)) *atomic.Bool {
	c.bench = &benchHooks{gate: took}
	return &c.bench.skipGate
}

// WhileClaiming makes a bridge with configuration c call f after it wrote a claim on a pane
// that it read at the same time (the fast path), before it decides to type.
func WhileClaiming(c *Config, f func()) {
	if c.bench == nil {
		c.bench = &benchHooks{}
	}
	c.bench.claimed = f
}

// SetClaimToken makes b claim message id in pane with token, as after a claim with that
// token that failed.
func SetClaimToken(b *Bridge, id, pane, token string) {
	b.mu.Lock()
	b.claimTokens[id+" "+pane] = token
	b.mu.Unlock()
}

// ClaimTokens returns how many tokens of failed claims b keeps.
func ClaimTokens(b *Bridge) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.claimTokens)
}
