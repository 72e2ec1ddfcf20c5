package bridge

// SkipGate makes a bridge type without its readiness check (for the benchmark that measures
// what the check costs).
func SkipGate(c *Config) { c.skipGate = true }
