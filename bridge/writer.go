package bridge

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/internal/agentstate"
	"github.com/tmux-orc/tmux-orc/subjects"
	"github.com/tmux-orc/tmux-orc/tmux"
)

// benchHooks let the benchmark that measures what the readiness check costs switch the
// check off (skipGate) and learn how long each check on the delivery path took (gate), and
// let a test act on a pane while a claim is written (claimed: called after the claim).
type benchHooks struct {
	skipGate atomic.Bool
	gate     func(time.Duration)
	claimed  func()
}

// paneWriter is the one writer of a pane: it serializes injections, orders them by
// priority, and holds them until the pane is ready.
type paneWriter struct {
	id    string
	mu    sync.Mutex
	lanes [subjects.Low + 1][]*item
	// left is text this bridge typed that stayed in the input box (Enter was not taken); it
	// is submitted before the pane's next message, once the pane is otherwise ready.
	left *leftover
	// blocker is what kept the pane from typing at the last look, since when; a message
	// waits the wait of the current blocker from when it began (or from its arrival).
	blocker agentstate.Blocker
	since   time.Time
	wake    chan struct{}
	done    chan struct{}
	once    sync.Once
}

type leftover struct {
	items []*item
	text  string
	// next is when Enter may be tried again; until is when the bridge stops trying.
	next, until time.Time
}

func (b *Bridge) writerLocked(ctx context.Context, id string) *paneWriter {
	if w, ok := b.writers[id]; ok {
		return w
	}
	w := &paneWriter{id: id, wake: make(chan struct{}, 1), done: make(chan struct{})}
	b.writers[id] = w
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		b.write(ctx, w)
	}()
	return w
}

func (w *paneWriter) enqueue(it *item) {
	p := it.t.env().Message.Priority
	w.mu.Lock()
	w.lanes[p] = append(w.lanes[p], it)
	w.mu.Unlock()
	w.poke()
}

func (w *paneWriter) poke() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// requeue puts items back at the front of their lanes (they keep their place).
func (w *paneWriter) requeue(items []*item) {
	w.mu.Lock()
	for i := len(items) - 1; i >= 0; i-- {
		p := items[i].t.env().Message.Priority
		w.lanes[p] = append([]*item{items[i]}, w.lanes[p]...)
	}
	w.mu.Unlock()
}

func (w *paneWriter) close() { w.once.Do(func() { close(w.done) }) }

// due reports whether work is queued and, when only low messages wait within their
// batching window, when they are due (zero: now).
func (w *paneWriter) due(lowBatch time.Duration) (bool, time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for p := subjects.Critical; p < subjects.Low; p++ {
		if len(w.lanes[p]) > 0 {
			return true, time.Time{}
		}
	}
	if low := w.lanes[subjects.Low]; len(low) > 0 {
		if due := low[0].arrived.Add(lowBatch); time.Now().Before(due) {
			return true, due
		}
		return true, time.Time{}
	}
	return false, time.Time{}
}

// next takes the most urgent work: the oldest message of the highest non-empty priority, or
// every queued low message.
func (w *paneWriter) next() []*item {
	w.mu.Lock()
	defer w.mu.Unlock()
	for p := subjects.Critical; p < subjects.Low; p++ {
		if len(w.lanes[p]) > 0 {
			it := w.lanes[p][0]
			w.lanes[p] = w.lanes[p][1:]
			return []*item{it}
		}
	}
	low := w.lanes[subjects.Low]
	w.lanes[subjects.Low] = nil
	return low
}

// take removes the queued items that match keep (all with nil), in priority order, at
// most max of them (0: no limit).
func (w *paneWriter) take(keep func(*item) bool, max int) []*item {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []*item
	for p := range w.lanes {
		var rest []*item
		for _, it := range w.lanes[p] {
			if (keep == nil || keep(it)) && (max == 0 || len(out) < max) {
				out = append(out, it)
			} else {
				rest = append(rest, it)
			}
		}
		w.lanes[p] = rest
	}
	return out
}

// queued returns the queued items, in priority order.
func (w *paneWriter) queued() []*item {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []*item
	for _, lane := range w.lanes {
		out = append(out, lane...)
	}
	return out
}

func (b *Bridge) write(ctx context.Context, w *paneWriter) {
	for {
		work, due := w.due(b.cfg.LowBatch)
		if !work && w.left != nil {
			work = true // this bridge's own text waits in the box for its Enter
		}
		var timer <-chan time.Time
		var changed <-chan struct{}
		switch {
		case work && due.IsZero():
			// An injection in progress finishes even when the bridge is stopping, so a
			// typed message always gets its Enter and its outcome.
			ictx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
			progressed := b.step(ictx, w)
			cancel()
			if progressed {
				continue
			}
			// Not ready: look again shortly, or at once when a hook reports.
			timer = time.After(gatePoll)
			if b.cfg.Tracker != nil {
				changed = b.cfg.Tracker.Changed()
			}
		case work:
			timer = time.After(time.Until(due))
		}
		select {
		case <-ctx.Done():
			return
		case <-w.done:
			return
		case <-w.wake:
		case <-timer:
		case <-changed:
		}
	}
}

// step looks at the pane once: if it is ready, the most urgent queued work is typed; if not,
// the queued messages are told why they wait (a queued receipt) and those that waited too
// long are recorded undeliverable. It reports whether anything left the queue.
func (b *Bridge) step(ctx context.Context, w *paneWriter) bool {
	p, ok := b.pane(w.id)
	if !ok {
		w.left = nil
		b.giveUp(ctx, w, w.take(nil, 0), "the pane closed before the message could be typed")
		return true
	}
	if b.cfg.bench != nil && b.cfg.bench.skipGate.Load() {
		w.left = nil
		items := w.next()
		for _, it := range items {
			it.pane = p
		}
		if todo := b.claimAll(ctx, w.id, items); len(todo) > 0 {
			b.typeInto(ctx, w, p, todo)
		}
		return true
	}
	if w.blocker == "" && w.left == nil {
		// The pane was ready at its last look (or was never looked at): claim first and read
		// the pane once, right before typing.
		if done, rd, s := b.claimThenGate(ctx, w, p); done {
			return true
		} else if rd.Blocker != "" {
			return b.notReady(ctx, w, p, rd, s)
		}
		// Nothing was queued after all; look at the pane the usual way.
	}
	rd, s, err := b.inj.Gate(ctx, p)
	if err != nil {
		rd = agentstate.Readiness{Blocker: agentstate.BlockNoPrompt, Reason: "the pane could not be read: " + err.Error()}
	}
	if rd.Ready {
		w.blocker = ""
		items := w.next()
		if len(items) == 0 {
			w.left = nil // the box is empty: the text left it after all
			return false
		}
		b.deliver(ctx, w, p, items)
		return true
	}
	return b.notReady(ctx, w, p, rd, s)
}

// claimThenGate is the delivery of a pane that was ready at its last look: the most urgent
// queued work is claimed while the pane is read (the two round trips overlap, so the check
// costs the delivery path only what the read takes longer than the claim), and it is typed
// if the pane is ready. The screen the decision rests on is as fresh as one read after the
// claim, give or take gateSlack: when the read's answer came more than gateSlack before the
// claim was written (a slow claim, or one that resumed a redelivery), the pane is read once
// more, after the claim. If the pane is not ready, the claims are given back (so that a bridge
// killed meanwhile leaves nothing claimed that was never typed), the work is queued again in
// its place, and rd says why; done reports whether anything left the queue.
func (b *Bridge) claimThenGate(ctx context.Context, w *paneWriter, p tmux.Pane) (done bool, rd agentstate.Readiness, s agentstate.Screen) {
	items := w.next()
	if len(items) == 0 {
		return false, rd, s
	}
	for _, it := range items {
		it.pane = p
	}
	type look struct {
		rd  agentstate.Readiness
		s   agentstate.Screen
		err error
		at  time.Time // when the answer came
	}
	read := make(chan look, 1)
	go func() {
		rd, s, err := b.inj.Gate(ctx, p)
		read <- look{rd, s, err, time.Now()}
	}()
	todo := b.claimAll(ctx, w.id, items)
	if b.cfg.bench != nil && b.cfg.bench.claimed != nil {
		b.cfg.bench.claimed()
	}
	claimed := time.Now()
	l := <-read
	if len(todo) == 0 {
		return true, rd, s // already delivered, or resumed (a redelivery)
	}
	if claimed.Sub(l.at) > gateSlack {
		l.rd, l.s, l.err = b.inj.Gate(ctx, p)
	}
	rd, s = l.rd, l.s
	if l.err != nil {
		rd = agentstate.Readiness{Blocker: agentstate.BlockNoPrompt, Reason: "the pane could not be read: " + l.err.Error()}
	}
	if rd.Ready {
		if b.cfg.bench != nil && b.cfg.bench.gate != nil {
			b.cfg.bench.gate(time.Since(claimed))
		}
		b.typeInto(ctx, w, p, todo)
		return true, rd, s
	}
	for _, it := range todo {
		e := it.t.env()
		if err := b.bus.Release(ctx, e.Message.Priority, e.ID, b.cfg.Host, w.id); err != nil {
			b.log.Warn("giving back a claim failed; the message stays claimed until it is typed", zap.String("id", e.ID), zap.Error(err))
			it.claimed = true
			continue
		}
		it.claimed = false
	}
	w.requeue(todo)
	return false, rd, s
}

// gateSlack is how long before the claim was written the answer of the pane read that
// decides the typing may have come; an older one is read again after the claim.
const gateSlack = time.Millisecond

// notReady handles a pane that is not ready (rd says why, s is what it shows): this bridge's
// own text left in the box gets its Enter, a queued message's own text typed by a stopped
// bridge is resumed, and otherwise the queued messages wait (see hold).
func (b *Bridge) notReady(ctx context.Context, w *paneWriter, p tmux.Pane, rd agentstate.Readiness, s agentstate.Screen) bool {
	if rd.Blocker == agentstate.BlockDraft {
		prof := agentstate.ProfileOf(agentstate.KindOf(p))
		if w.left != nil && prof.Holds(s, w.left.text) {
			// The draft is this bridge's own text, typed while the agent was not taking Enter.
			if time.Now().Before(w.left.next) {
				rd.Reason = "this bridge's earlier message is still in the input box, waiting for the agent to take its Enter"
				return b.hold(ctx, w, p, rd)
			}
			b.submitLeftover(ctx, w, p)
			return true
		}
		// The draft may be a queued message's own text, typed by a bridge that was stopped
		// before its Enter: the claim then says so, and Enter is pressed for it (resume).
		if its := w.take(func(it *item) bool { return prof.Holds(s, Render(it.t.env(), b.cfg.MaxInline)) }, 1); len(its) > 0 {
			its[0].pane = p
			for _, it := range b.claimAll(ctx, w.id, its) {
				res := b.inj.Submit(ctx, p, Render(it.t.env(), b.cfg.MaxInline), time.Time{})
				b.settle(ctx, it, bus.Receipt{Outcome: res.Outcome, Submitted: res.Submitted, EnterPresses: res.EnterPresses,
					Queued: res.Queued, Path: bus.PathTyped, Reason: res.Reason})
			}
			return true
		}
	}
	return b.hold(ctx, w, p, rd)
}

// hold records why the queued messages wait and gives up on those that waited longer than
// the wait for this blocker. It reports whether any left the queue.
func (b *Bridge) hold(ctx context.Context, w *paneWriter, p tmux.Pane, rd agentstate.Readiness) bool {
	for _, it := range w.queued() {
		if !it.queued {
			it.queued = true
			it.pane = p
			_ = b.record(ctx, it, &bus.Receipt{Outcome: bus.Queued, Reason: "waiting for the pane to be ready: " + rd.Reason})
		}
	}
	limit := waitFor(rd.Blocker, b.cfg.ReadyWait)
	now := time.Now()
	if rd.Blocker != w.blocker {
		w.blocker, w.since = rd.Blocker, now
	}
	old := func(it *item) bool {
		from := it.arrived
		if w.since.After(from) {
			from = w.since
		}
		return now.Sub(from) >= limit
	}
	if rd.Blocker == agentstate.BlockMode {
		for _, it := range w.queued() {
			if old(it) {
				b.log.Info("leaving copy mode to deliver", zap.String("pane", p.ID))
				if err := tmux.CancelMode(ctx, b.runner(), p.ID); err != nil {
					b.log.Warn("cannot leave copy mode", zap.String("pane", p.ID), zap.Error(err))
				}
				return false
			}
		}
		return false
	}
	expired := w.take(old, 0)
	if len(expired) == 0 {
		return false
	}
	b.giveUp(ctx, w, expired, notReady(rd, limit))
	return true
}

// giveUp records items undeliverable with reason (claiming them first, so that two bridges
// never record different fates for one message and pane).
func (b *Bridge) giveUp(ctx context.Context, w *paneWriter, items []*item, reason string) {
	if p, ok := b.pane(w.id); ok {
		for _, it := range items {
			it.pane = p
		}
	}
	for _, it := range b.claimAll(ctx, w.id, items) {
		b.settle(ctx, it, bus.Receipt{Outcome: bus.Undeliverable, Reason: reason})
	}
}

// deliver types one message, or a batch of low ones, into pane p, which was just found
// ready.
func (b *Bridge) deliver(ctx context.Context, w *paneWriter, p tmux.Pane, items []*item) {
	if len(items) == 0 {
		return
	}
	for _, it := range items {
		it.pane = p
	}
	todo := b.claimAll(ctx, w.id, items)
	if len(todo) == 0 {
		return
	}
	// The claim took a store round trip: look once more right before typing (a person may
	// have started typing, a dialog may have opened).
	if rd, _, err := b.inj.Gate(ctx, p); err != nil || !rd.Ready {
		for _, it := range todo {
			it.claimed = true
		}
		w.requeue(todo)
		return
	}
	b.typeInto(ctx, w, p, todo)
}

// typeInto types the claimed items todo into pane p, which was just found ready, and records
// their outcomes.
func (b *Bridge) typeInto(ctx context.Context, w *paneWriter, p tmux.Pane, todo []*item) {
	envs := make([]*subjects.Envelope, len(todo))
	for i, it := range todo {
		envs[i] = it.t.env()
	}
	text := RenderBatch(envs, b.cfg.MaxInline)
	res := b.inj.Inject(ctx, p, text)
	if res.Outcome == bus.Unconfirmed && res.Left {
		now := time.Now()
		w.left = &leftover{items: todo, text: text, next: now.Add(leftoverRetry), until: now.Add(max(b.cfg.ReadyWait, time.Minute))}
	}
	for _, it := range todo {
		b.settle(ctx, it, bus.Receipt{Outcome: res.Outcome, Typed: res.Typed, Submitted: res.Submitted,
			EnterPresses: res.EnterPresses, Queued: res.Queued, Path: typedPath(res), Reason: res.Reason})
	}
}

func typedPath(res Injection) string {
	if res.Typed.IsZero() {
		return ""
	}
	return bus.PathTyped
}

// submitLeftover presses Enter for this bridge's own text left in the input box, now that
// the pane is otherwise ready, and records the late submission.
func (b *Bridge) submitLeftover(ctx context.Context, w *paneWriter, p tmux.Pane) {
	left := w.left
	w.left = nil
	once := *b.inj
	once.EnterRetries = 0 // one Enter per try: an agent that turns Enter into a newline gets no more
	res := once.Submit(ctx, p, left.text, time.Time{})
	if res.Outcome != bus.Delivered {
		if now := time.Now(); res.Left && now.Before(left.until) {
			left.next = now.Add(leftoverRetry)
			w.left = left // tried again later
			return
		}
		b.log.Warn("this bridge's own text is still in the input box; it is left there", zap.String("pane", p.ID), zap.String("reason", res.Reason))
		return
	}
	for _, it := range left.items {
		it.pane = p
		_ = b.record(ctx, it, &bus.Receipt{Outcome: bus.Delivered, Submitted: res.Submitted, EnterPresses: res.EnterPresses,
			Queued: res.Queued, Path: bus.PathTyped, Reason: "submitted late: the text had stayed in the input box until the agent took Enter"})
	}
}

// claimAll claims items for pane and returns those this bridge may type. Items claimed
// before (a redelivery) are settled here: skipped when their outcome is recorded, resumed
// otherwise.
func (b *Bridge) claimAll(ctx context.Context, pane string, items []*item) []*item {
	var todo []*item
	for _, it := range items {
		if it.claimed {
			todo = append(todo, it)
			continue
		}
		e := it.t.env()
		err := b.claim(ctx, e, pane)
		switch {
		case err == nil:
			it.claimed = true
			todo = append(todo, it)
		case errors.Is(err, bus.ErrClaimed):
			r, _, oerr := b.bus.OutcomeFor(ctx, e.Message.Priority, e.ID, b.cfg.Host, pane)
			if oerr == nil && r != nil {
				b.mu.Lock()
				it.t.remaining--
				done := it.t.remaining <= 0
				b.mu.Unlock()
				if done {
					b.finish(ctx, it.t)
				}
				continue
			}
			b.resume(ctx, pane, it)
		default:
			b.log.Error("claiming a delivery failed; the message will be redelivered", zap.String("id", e.ID), zap.Error(err))
		}
	}
	return todo
}

// claim claims message e for pane. After a claim that failed (it may have been stored with
// every answer lost, in a leader election that outlasted the retries), the redelivered
// message is claimed again with the failed call's token, so that a stored claim of this
// bridge's own is recognised and the message typed, instead of being taken for another's
// (which is never typed, to avoid a duplicate). Nothing is typed after a failed claim, so the
// token's claim can only be an untyped one.
func (b *Bridge) claim(ctx context.Context, e *subjects.Envelope, pane string) error {
	key := e.ID + " " + pane
	b.mu.Lock()
	token, retried := b.claimTokens[key]
	b.mu.Unlock()
	if !retried {
		token = bus.NewClaimToken()
	}
	err := b.bus.ClaimAs(ctx, e.Message.Priority, e.ID, b.cfg.Host, pane, token)
	b.mu.Lock()
	if err == nil || errors.Is(err, bus.ErrClaimed) {
		delete(b.claimTokens, key)
	} else {
		b.claimTokens[key] = token
	}
	b.mu.Unlock()
	return err
}

// resume finishes a delivery that a previous bridge claimed but did not record (it was
// stopped or killed mid-delivery). If the text sits unsubmitted in the input box, Enter is
// pressed now (only while nothing else could take it); otherwise it may have been
// submitted already, and it is not typed again.
func (b *Bridge) resume(ctx context.Context, pane string, it *item) {
	text := Render(it.t.env(), b.cfg.MaxInline)
	p, ok := b.pane(pane)
	if ok {
		it.pane = p
		if held, err := b.inj.Holds(ctx, p, text); err == nil && held {
			res := b.inj.Submit(ctx, p, text, time.Time{})
			res.Reason = strings.TrimSpace(res.Reason + " (submitted after a bridge restart)")
			b.settle(ctx, it, bus.Receipt{Outcome: res.Outcome, Submitted: res.Submitted,
				EnterPresses: res.EnterPresses, Queued: res.Queued, Path: bus.PathTyped, Reason: res.Reason})
			return
		}
	}
	b.settle(ctx, it, bus.Receipt{Outcome: bus.Unconfirmed,
		Reason: "the bridge stopped while delivering this message and its text is not in the input line: it may have been submitted already; it is not typed again, to avoid a duplicate"})
}

// leftoverRetry is how long after a failed Enter this bridge presses Enter again for its own
// text left in the input box.
const leftoverRetry = 2 * time.Second
