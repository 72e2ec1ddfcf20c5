package bridge

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/subjects"
	"github.com/tmux-orc/tmux-orc/tmux"
)

// AlertTag marks the bridge's own alerts; their failures are not alerted again.
const AlertTag = "delivery"

// tracked is one consumed message on its way to one or more panes. It is acknowledged
// when every pane has an outcome.
type tracked struct {
	d *bus.Delivery
	// session is the session whose consumer delivered it; "" for a group everywhere, which
	// goes to the group's panes in every session of this tmux server.
	session   string
	remaining int
}

func (t *tracked) env() *subjects.Envelope { return t.d.Envelope }

// item is a tracked message queued for one pane.
type item struct {
	t       *tracked
	pane    tmux.Pane
	arrived time.Time
}

func (b *Bridge) accept(ctx context.Context, session string, d *bus.Delivery) {
	t := &tracked{d: d, session: session}
	b.mu.Lock()
	b.inflight[t] = true
	b.mu.Unlock()
	b.routeMu.Lock()
	defer b.routeMu.Unlock()
	b.route(ctx, t)
}

// byStored orders messages as the server stored them.
func byStored(x, y *tracked) int {
	if c := x.d.Stored.Compare(y.d.Stored); c != 0 {
		return c
	}
	return strings.Compare(x.env().ID, y.env().ID)
}

// route hands t to the writers of its panes, or parks it until they appear or it expires.
func (b *Bridge) route(ctx context.Context, t *tracked) {
	panes, skipped := withoutSender(Resolve(b.snapshot(), t.session, t.env().Target), t.env(), b.cfg.Host)
	if len(panes) == 0 && skipped {
		// The sender was the group's only pane: nothing to type.
		b.mu.Lock()
		delete(b.waiting, t)
		b.mu.Unlock()
		b.ack(ctx, t)
		return
	}
	b.mu.Lock()
	if len(panes) == 0 || b.closing {
		// Parked until its pane appears; a closing bridge gives parked messages back.
		b.waiting[t] = true
		b.mu.Unlock()
		return
	}
	delete(b.waiting, t)
	t.remaining = len(panes)
	ws := make([]*paneWriter, len(panes))
	for i, p := range panes {
		ws[i] = b.writerLocked(ctx, p.ID)
	}
	b.mu.Unlock()
	now := time.Now()
	for i, p := range panes {
		ws[i].enqueue(&item{t: t, pane: p, arrived: now})
	}
}

func (b *Bridge) rerouteWaiting(ctx context.Context) {
	b.routeMu.Lock()
	defer b.routeMu.Unlock()
	b.rerouteWaitingLocked(ctx)
}

// rerouteWaitingLocked routes or expires the parked messages; the caller holds routeMu.
func (b *Bridge) rerouteWaitingLocked(ctx context.Context) {
	b.mu.Lock()
	var ts []*tracked
	for t := range b.waiting {
		ts = append(ts, t)
	}
	b.mu.Unlock()
	// In the order they were stored, so that messages parked for a pane reach its writer
	// (and, within a priority, the agent) in publication order.
	slices.SortFunc(ts, byStored)
	for _, t := range ts {
		b.mu.Lock()
		still := b.waiting[t] // not dropped meanwhile with its session
		b.mu.Unlock()
		if !still {
			continue
		}
		if time.Since(t.d.Stored) > b.cfg.Expiry {
			b.expire(ctx, t)
			continue
		}
		b.route(ctx, t)
	}
}

// withoutSender leaves the sender's own pane out of a group message's panes: a PM's
// message to management is not typed back into the PM. The sender is known by the pane id
// its envelope names, on this host (its source host), or in the window its identifier
// names ("pm:1", as the CLI writes it) when the sender's host name differs from the bridge's.
func withoutSender(panes []tmux.Pane, e *subjects.Envelope, host string) ([]tmux.Pane, bool) {
	if e.Target.Kind != subjects.KindGroup || e.Source.Pane == "" {
		return panes, false
	}
	out := panes[:0:0]
	for _, p := range panes {
		sender := p.ID == e.Source.Pane &&
			(e.Source.Host == host || e.Source.Identifier == p.Session+":"+strconv.Itoa(p.WindowIndex))
		if !sender {
			out = append(out, p)
		}
	}
	return out, len(out) < len(panes)
}

// expire records that no pane for t appeared within the expiry. A message for a group in
// every session is undeliverable only if no session delivered it.
func (b *Bridge) expire(ctx context.Context, t *tracked) {
	b.mu.Lock()
	delete(b.waiting, t)
	b.mu.Unlock()
	e := t.env()
	if e.Target.Kind == subjects.KindGroup && e.Target.Session == "" {
		if rs, err := b.bus.Receipts(ctx, e.Message.Priority, e.ID); err == nil && len(rs) > 0 {
			b.ack(ctx, t)
			return
		}
	}
	t.remaining = 1
	where := fmt.Sprintf("in session %q", t.session)
	if t.session == "" {
		where = "in any session of host " + b.cfg.Host
	}
	b.settle(ctx, &item{t: t}, bus.Receipt{Outcome: bus.Undeliverable,
		Reason: fmt.Sprintf("no pane for %s appeared %s within %s", e.Target, where, b.cfg.Expiry)})
}

func (b *Bridge) ack(ctx context.Context, t *tracked) {
	if err := t.d.Ack(ctx); err != nil {
		b.log.Warn("acknowledging a delivered message failed; it will be redelivered and skipped", zap.String("id", t.env().ID), zap.Error(err))
	}
	b.mu.Lock()
	delete(b.inflight, t)
	b.mu.Unlock()
}

// settle records the outcome of one item, alerts on failure, and acknowledges the message
// once every pane has an outcome.
func (b *Bridge) settle(ctx context.Context, it *item, r bus.Receipt) {
	e := it.t.env()
	r.ID, r.Priority, r.Via, r.Host, r.Published = e.ID, e.Message.Priority, "bridge", b.cfg.Host, e.Timestamp
	if it.pane.ID != "" {
		r.Pane, r.PaneTarget = it.pane.ID, PaneTarget(it.pane)
	}
	if err := b.bus.Record(ctx, r); err != nil {
		// Without a recorded outcome the message stays unacknowledged and is redelivered;
		// the claim then keeps it from being typed twice.
		b.log.Error("recording an outcome failed", zap.String("id", e.ID), zap.Error(err))
		return
	}
	b.observer().Outcome(r)
	b.log.Info("outcome", zap.String("id", e.ID), zap.String("outcome", string(r.Outcome)),
		zap.String("pane", r.PaneTarget), zap.String("reason", r.Reason))
	if r.Outcome != bus.Delivered && !e.HasTag(AlertTag) {
		session := it.t.session
		if session == "" && it.pane.ID != "" {
			session = it.pane.Session
		}
		b.alert(ctx, session, r)
	}
	b.mu.Lock()
	it.t.remaining--
	done := it.t.remaining <= 0
	b.mu.Unlock()
	if done {
		b.ack(ctx, it.t)
	}
}

// alert tells the management group of the session (on this host: no registry lookup) that
// a delivery failed; with no session, the management group everywhere.
func (b *Bridge) alert(ctx context.Context, session string, r bus.Receipt) {
	target, err := subjects.GroupAddress("management", "")
	if err != nil {
		return
	}
	if session != "" {
		target.Host, target.Session = b.cfg.Host, session
	}
	where := r.PaneTarget
	if where == "" {
		where = "session " + session
	}
	now := time.Now()
	body := fmt.Sprintf("Message %s (%s) %s in %s: %s", r.ID, r.Priority, r.Outcome, where, r.Reason)
	env := &subjects.Envelope{ID: subjects.NewID(now), Timestamp: now.UTC(),
		Source: subjects.Source{Type: "bridge", Identifier: "bridge@" + b.cfg.Host, Host: b.cfg.Host}, Target: target,
		Message: subjects.Message{Type: "alert", Category: "delivery", Priority: subjects.High,
			Content: subjects.Content{Subject: subjects.SubjectLine(body), Body: body,
				Context: map[string]any{"message_id": r.ID, "outcome": string(r.Outcome), "pane": r.PaneTarget}}},
		Metadata: subjects.Metadata{RequiresAck: true, Tags: []string{AlertTag, string(r.Outcome)}, CorrelationID: r.ID}}
	if _, err := b.bus.Publish(ctx, env); err != nil {
		b.log.Error("publishing a delivery alert failed", zap.Error(err))
		return
	}
	b.observer().Alert()
}

// paneWriter is the one writer of a pane: it serializes injections and orders them by
// priority.
type paneWriter struct {
	id    string
	mu    sync.Mutex
	lanes [subjects.Low + 1][]*item
	wake  chan struct{}
	done  chan struct{}
	once  sync.Once
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
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *paneWriter) close() { w.once.Do(func() { close(w.done) }) }

// next takes the most urgent work: the oldest message of the highest non-empty priority, or
// every queued low message once the first has waited LowBatch. It returns when to look again
// if only low messages wait.
func (w *paneWriter) next(lowBatch time.Duration) ([]*item, time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for p := subjects.Critical; p < subjects.Low; p++ {
		if len(w.lanes[p]) > 0 {
			it := w.lanes[p][0]
			w.lanes[p] = w.lanes[p][1:]
			return []*item{it}, time.Time{}
		}
	}
	if low := w.lanes[subjects.Low]; len(low) > 0 {
		due := low[0].arrived.Add(lowBatch)
		if time.Now().Before(due) {
			return nil, due
		}
		w.lanes[subjects.Low] = nil
		return low, time.Time{}
	}
	return nil, time.Time{}
}

func (b *Bridge) write(ctx context.Context, w *paneWriter) {
	for {
		items, due := w.next(b.cfg.LowBatch)
		if len(items) > 0 {
			// An injection in progress finishes even when the bridge is stopping, so a
			// typed message always gets its Enter and its outcome.
			ictx, cancel := context.WithTimeout(context.WithoutCancel(ctx), b.cfg.TypingWait+time.Minute)
			b.deliver(ictx, w, items)
			cancel()
			continue
		}
		var timer <-chan time.Time
		if !due.IsZero() {
			timer = time.After(time.Until(due))
		}
		select {
		case <-ctx.Done():
			return
		case <-w.done:
			return
		case <-w.wake:
		case <-timer:
		}
	}
}

// deliver types one message, or a batch of low ones, into the writer's pane.
func (b *Bridge) deliver(ctx context.Context, w *paneWriter, items []*item) {
	// Claiming (a stored write) and reading the pane (a tmux round trip) are independent:
	// do them at once, and type only what was claimed.
	claimed := make(chan []*item, 1)
	go func() { claimed <- b.claimAll(ctx, w.id, items) }()
	p, ok := b.pane(w.id)
	var reason string
	var err error
	if ok && !p.Dead {
		reason, err = b.inj.WaitReady(ctx, w.id)
	}
	todo := <-claimed
	if len(todo) == 0 {
		return
	}
	fail := func(o bus.Outcome, reason string) {
		for _, it := range todo {
			b.settle(ctx, it, bus.Receipt{Outcome: o, Reason: reason})
		}
	}
	switch {
	case !ok:
		fail(bus.Undeliverable, "the pane closed before the message could be typed")
		return
	case p.Dead:
		fail(bus.Undeliverable, "the pane is dead (its program exited)")
		return
	case err != nil:
		fail(bus.Undeliverable, "the pane could not be read: "+err.Error())
		return
	case reason != "":
		fail(bus.Undeliverable, reason)
		return
	}
	envs := make([]*subjects.Envelope, len(todo))
	for i, it := range todo {
		envs[i] = it.t.env()
	}
	res := b.inj.Inject(ctx, w.id, RenderBatch(envs, b.cfg.MaxInline))
	for _, it := range todo {
		it.pane = p
		b.settle(ctx, it, bus.Receipt{Outcome: res.Outcome, Typed: res.Typed, Submitted: res.Submitted,
			EnterPresses: res.EnterPresses, Queued: res.Queued, Reason: res.Reason})
	}
}

// claimAll claims items for pane and returns those this bridge may type. Items claimed
// before (a redelivery) are settled here: skipped when their outcome is recorded, resumed
// otherwise.
func (b *Bridge) claimAll(ctx context.Context, pane string, items []*item) []*item {
	var todo []*item
	for _, it := range items {
		e := it.t.env()
		err := b.bus.Claim(ctx, e.Message.Priority, e.ID, b.cfg.Host, pane)
		switch {
		case err == nil:
			todo = append(todo, it)
		case errors.Is(err, bus.ErrClaimed):
			r, _, oerr := b.bus.OutcomeFor(ctx, e.Message.Priority, e.ID, b.cfg.Host, pane)
			if oerr == nil && r != nil {
				b.mu.Lock()
				it.t.remaining--
				done := it.t.remaining <= 0
				b.mu.Unlock()
				if done {
					b.ack(ctx, it.t)
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

// resume finishes a delivery that a previous bridge claimed but did not record (it was
// stopped or killed mid-delivery). If the text sits unsubmitted in the input line, Enter is
// pressed now; otherwise it may have been submitted already, and it is not typed again.
func (b *Bridge) resume(ctx context.Context, pane string, it *item) {
	text := Render(it.t.env(), b.cfg.MaxInline)
	if held, err := b.inj.Holds(ctx, pane, text); err == nil && held {
		res := b.inj.Submit(ctx, pane, text, time.Time{})
		res.Reason = strings.TrimSpace(res.Reason + " (submitted after a bridge restart)")
		b.settle(ctx, it, bus.Receipt{Outcome: res.Outcome, Submitted: res.Submitted,
			EnterPresses: res.EnterPresses, Queued: res.Queued, Reason: res.Reason})
		return
	}
	b.settle(ctx, it, bus.Receipt{Outcome: bus.Unconfirmed,
		Reason: "the bridge stopped while delivering this message and its text is not in the input line: it may have been submitted already; it is not typed again, to avoid a duplicate"})
}
