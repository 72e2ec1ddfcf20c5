package agentstate

import (
	"crypto/sha256"
	"encoding/json"
	"strings"
	"sync"
	"time"
)

// HookSubject carries agent hook events (published by `tmux-orc hook claude-code`) for the
// host's bridge and monitor: HookSubject + "." + host. Not stored.
const HookSubject = "orc.sys.monitor.hook"

// What a hook says about an agent. Hook state wins over reading the screen.
const (
	// HookBusy: a prompt was submitted or a tool runs.
	HookBusy = "busy"
	// HookIdle: the agent finished its turn.
	HookIdle = "idle"
	// HookWaiting: the agent waits for the user (a permission dialog).
	HookWaiting = "waiting"
)

// HookState is the last hook event of one pane, as published on HookSubject.
type HookState struct {
	Pane    string    `json:"pane"`
	State   string    `json:"state"`
	Event   string    `json:"event"`
	Message string    `json:"message,omitempty"`
	At      time.Time `json:"at"`
}

// ParseHook decodes a hook event as published on HookSubject.
func ParseHook(data []byte) (HookState, bool) {
	var h HookState
	if json.Unmarshal(data, &h) != nil || h.Pane == "" {
		return HookState{}, false
	}
	return h, true
}

// Tracker keeps, per pane, what one process knows beyond a single screen: the last hook
// event, whether the pane's agent reports through hooks at all, and when its screen last
// changed. One Tracker is shared by the bridge and the monitor of a process. It is safe for
// concurrent use.
type Tracker struct {
	mu    sync.Mutex
	panes map[string]*tracked
	// wake is closed and replaced when a hook event arrives, so waiters look again at once.
	wake chan struct{}
}

type tracked struct {
	pid        int
	hook       *HookState
	hooked     bool // a hook event came from the pane's current process
	hash       [32]byte
	lastChange time.Time
}

// NewTracker returns an empty tracker.
func NewTracker() *Tracker { return &Tracker{panes: map[string]*tracked{}, wake: make(chan struct{})} }

func (t *Tracker) get(pane string) *tracked {
	p := t.panes[pane]
	if p == nil {
		p = &tracked{}
		t.panes[pane] = p
	}
	return p
}

// Hook records a hook event.
func (t *Tracker) Hook(h HookState) {
	t.mu.Lock()
	p := t.get(h.Pane)
	if p.hook == nil || !h.At.Before(p.hook.At) {
		p.hook = &h
	}
	p.hooked = true
	close(t.wake)
	t.wake = make(chan struct{})
	t.mu.Unlock()
}

// Changed returns a channel closed at the next hook event.
func (t *Tracker) Changed() <-chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.wake
}

// Observe folds a screen read of pane into the tracker and returns the pane's hook state
// (nil when none) and when its screen last changed. A new process in the pane (its pid
// changed: respawned) forgets the hook state of the old one.
func (t *Tracker) Observe(pane string, s Screen, now time.Time) (hook *HookState, lastChange time.Time) {
	h := sha256.Sum256([]byte(strings.Join(s.Lines, "\n")))
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.get(pane)
	if s.PID != 0 && p.pid != 0 && s.PID != p.pid {
		p.hook, p.hooked = nil, false
	}
	if s.PID != 0 {
		p.pid = s.PID
	}
	if h != p.hash || p.lastChange.IsZero() {
		p.hash, p.lastChange = h, now
	}
	if p.hook != nil {
		c := *p.hook
		hook = &c
	}
	return hook, p.lastChange
}

// Hooked reports whether the pane's agent reports through hooks (an event came from it).
func (t *Tracker) Hooked(pane string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.panes[pane]
	return p != nil && p.hooked
}

// Forget drops a pane that closed.
func (t *Tracker) Forget(pane string) {
	t.mu.Lock()
	delete(t.panes, pane)
	t.mu.Unlock()
}
