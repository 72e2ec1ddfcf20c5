package bridge

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/subjects"
	"github.com/tmux-orc/tmux-orc/tmux"
)

// AlertTag marks the bridge's own alerts; their failures are not alerted again.
const AlertTag = "delivery"

// tracked is one consumed message on its way to one or more panes. It is settled with the
// server (Delivery.Done) when every pane has an outcome.
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
	// claimed: this bridge holds the claim (it was given back to the queue after the pane
	// stopped being ready between the claim and the typing).
	claimed bool
	// queued: a queued receipt says why it waits.
	queued bool
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
		b.unparkLocked(t)
		b.mu.Unlock()
		b.finish(ctx, t)
		return
	}
	b.mu.Lock()
	if len(panes) == 0 || b.closing {
		// Parked until its pane appears; a closing bridge gives parked messages back.
		b.parkLocked(t)
		var over []*tracked
		if !b.closing {
			over = b.overflowLocked(t)
		}
		b.mu.Unlock()
		for _, o := range over {
			b.expire(ctx, o, fmt.Sprintf("more than %d messages of priority %s waited for a pane to appear on host %s; the oldest is given up before its expiry (%s)",
				b.cfg.MaxWaiting, o.env().Message.Priority, b.cfg.Host, b.cfg.Expiry))
		}
		return
	}
	b.unparkLocked(t)
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
			b.expire(ctx, t, "")
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

// expire records that no pane for t appeared within the expiry (or, with why, that it was
// given up before). A message that already has a final outcome is only acknowledged: a
// group everywhere delivered by another session, or a message a new consumer (starting
// Expiry back) handed out again after it had been settled.
func (b *Bridge) expire(ctx context.Context, t *tracked, why string) {
	b.mu.Lock()
	b.unparkLocked(t)
	b.mu.Unlock()
	e := t.env()
	if rs, err := b.bus.Receipts(ctx, e.Message.Priority, e.ID); err == nil && slices.ContainsFunc(rs, func(r bus.Receipt) bool { return r.Outcome.Final() }) {
		b.finish(ctx, t)
		return
	}
	t.remaining = 1
	where := fmt.Sprintf("in session %q", t.session)
	if t.session == "" {
		where = "in any session of host " + b.cfg.Host
	}
	reason := fmt.Sprintf("no pane for %s appeared %s within %s", e.Target, where, b.cfg.Expiry)
	if why != "" {
		reason = fmt.Sprintf("no pane for %s appeared %s: %s", e.Target, where, why)
	}
	b.settle(ctx, &item{t: t}, bus.Receipt{Outcome: bus.Undeliverable, Reason: reason})
}

// waitClass is what a parked message counts against: the consumer that handed it out (this
// host's or the groups everywhere's) at its priority.
type waitClass struct {
	p          subjects.Priority
	everywhere bool
}

func classOf(t *tracked) waitClass {
	return waitClass{p: t.env().Message.Priority, everywhere: t.session == ""}
}

// parkLocked puts t among the messages waiting for their pane; the caller holds mu.
func (b *Bridge) parkLocked(t *tracked) {
	if !b.waiting[t] {
		b.waiting[t] = true
		b.waitingBy[classOf(t)]++
	}
}

// unparkLocked takes t out of the waiting messages; the caller holds mu.
func (b *Bridge) unparkLocked(t *tracked) {
	if b.waiting[t] {
		delete(b.waiting, t)
		b.waitingBy[classOf(t)]--
	}
}

// overflowLocked returns the oldest waiting messages of t's class beyond MaxWaiting (to be
// given up), taking them out of the waiting ones; the caller holds mu.
func (b *Bridge) overflowLocked(t *tracked) []*tracked {
	c := classOf(t)
	n := b.waitingBy[c] - b.cfg.MaxWaiting
	if n <= 0 {
		return nil
	}
	var same []*tracked
	for w := range b.waiting {
		if classOf(w) == c {
			same = append(same, w)
		}
	}
	slices.SortFunc(same, byStored)
	same = same[:n]
	for _, w := range same {
		b.unparkLocked(w)
	}
	return same
}

// finish tells the server that t is done with (Delivery.Done) and forgets it.
func (b *Bridge) finish(ctx context.Context, t *tracked) {
	if err := t.d.Done(ctx); err != nil {
		b.log.Warn("telling the server a delivered message is done failed; it will be redelivered and skipped", zap.String("id", t.env().ID), zap.Error(err))
	}
	b.mu.Lock()
	delete(b.inflight, t)
	// The tokens of failed claims of t (usually none) are not needed any more.
	for key := range b.claimTokens {
		if strings.HasPrefix(key, t.env().ID+" ") {
			delete(b.claimTokens, key)
		}
	}
	b.mu.Unlock()
}

// record stores a receipt for one item (with the message's id, priority and pane filled
// in) and tells the observer. It does not settle the message with the server.
func (b *Bridge) record(ctx context.Context, it *item, r *bus.Receipt) error {
	e := it.t.env()
	r.ID, r.Priority, r.Via, r.Host, r.Published = e.ID, e.Message.Priority, "bridge", b.cfg.Host, e.Timestamp
	if it.pane.ID != "" {
		r.Pane, r.PaneTarget = it.pane.ID, PaneTarget(it.pane)
	}
	if err := b.bus.Record(ctx, *r); err != nil {
		b.log.Error("recording an outcome failed", zap.String("id", e.ID), zap.String("outcome", string(r.Outcome)), zap.Error(err))
		return err
	}
	b.observer().Outcome(*r)
	b.log.Info("outcome", zap.String("id", e.ID), zap.String("outcome", string(r.Outcome)),
		zap.String("pane", r.PaneTarget), zap.String("path", r.Path), zap.String("reason", r.Reason))
	return nil
}

// settle records the final outcome of one item, alerts on failure, and tells the server
// the message is done (finish) once every pane has an outcome.
func (b *Bridge) settle(ctx context.Context, it *item, r bus.Receipt) {
	e := it.t.env()
	if err := b.record(ctx, it, &r); err != nil {
		// Without a recorded outcome the message is not done and is redelivered;
		// the claim then keeps it from being typed twice.
		return
	}
	if !r.Outcome.OK() && !e.HasTag(AlertTag) {
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
		b.finish(ctx, it.t)
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
