package bridge

import "github.com/tmux-orc/tmux-orc/bus"

// Observer watches the bridge's deliveries, for metrics. Its methods are called on the
// delivery path: they must be quick and must not block.
type Observer interface {
	// Outcome is called once for each outcome recorded (per message and pane), with the
	// receipt as stored: its Published, Typed and Submitted times give the latencies.
	Outcome(r bus.Receipt)
	// Alert is called for each delivery alert published to a management group.
	Alert()
}

type noObserver struct{}

func (noObserver) Outcome(bus.Receipt) {}
func (noObserver) Alert()              {}

func (b *Bridge) observer() Observer {
	if b.cfg.Observer == nil {
		return noObserver{}
	}
	return b.cfg.Observer
}

// QueueDepths counts, per session, the messages waiting for their target to appear and the
// messages queued in its panes' writers (not yet being typed). A message queued for two panes
// counts twice. It is meant to be called at scrape time.
func (b *Bridge) QueueDepths() map[string]int {
	out := map[string]int{}
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.sessions {
		out[s] = 0
	}
	for t := range b.waiting {
		// Only served sessions (and "" for groups everywhere): a message for a session that
		// does not exist must not add a label per name it was sent to.
		if _, ok := out[t.session]; ok || t.session == "" {
			out[t.session]++
		}
	}
	for _, w := range b.writers {
		w.mu.Lock()
		for _, lane := range w.lanes {
			for _, it := range lane {
				out[it.t.session]++
			}
		}
		w.mu.Unlock()
	}
	return out
}
