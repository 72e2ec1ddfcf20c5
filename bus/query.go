package bus

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/tmux-orc/tmux-orc/subjects"
)

// Query selects stored messages. Every set field narrows the result.
type Query struct {
	// Address selects a session, window or group (see subjects.Filters); zero = all.
	Address subjects.Address
	// Priorities to include; empty = all.
	Priorities []subjects.Priority
	// Tags that must all be present.
	Tags []string
	// Filter is matched against Envelope.FilterText (priority label, subject, body).
	Filter *regexp.Regexp
	// Since drops messages stored before it.
	Since time.Time
	// Tail keeps only the last N matches; 0 = all.
	Tail int
	// Unacked keeps only messages that have no acknowledgement.
	Unacked bool
	// CorrelationID keeps only messages whose correlation id is this one.
	CorrelationID string
	// Inbox, when set, replaces Address: what one pane or window was sent (see Recipient).
	Inbox *Recipient
}

// Record is a stored message with its place in the store and its acknowledgement.
type Record struct {
	*subjects.Envelope
	Stream  string     `json:"stream"`
	Seq     uint64     `json:"seq"`
	Subject string     `json:"nats_subject"`
	Stored  time.Time  `json:"stored"`
	Ack     *AckRecord `json:"ack"`
	// Receipts are the delivery outcomes, one per pane the message was for.
	Receipts []Receipt `json:"receipts"`
}

// cursor remembers, per stream, the last sequence a query has seen, so Follow can continue
// exactly after it.
type cursor map[string]uint64

func (q *Query) priorities() []subjects.Priority {
	if len(q.Priorities) == 0 {
		return subjects.Priorities
	}
	return q.Priorities
}

func (q *Query) matches(e *subjects.Envelope) bool {
	if q.CorrelationID != "" && e.Metadata.CorrelationID != q.CorrelationID {
		return false
	}
	for _, t := range q.Tags {
		if !e.HasTag(t) {
			return false
		}
	}
	return q.Filter == nil || q.Filter.MatchString(e.FilterText())
}

// Query returns the matching messages, oldest first.
func (c *Client) Query(ctx context.Context, q Query) ([]Record, error) {
	recs, _, err := c.query(ctx, q)
	return recs, err
}

func (c *Client) query(ctx context.Context, q Query) ([]Record, cursor, error) {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	var all []Record
	cur := cursor{}
	for _, p := range q.priorities() {
		recs, last, err := c.scan(ctx, p, q)
		if err != nil {
			return nil, nil, err
		}
		cur[p.Stream()] = last
		all = append(all, recs...)
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].Stored.Before(all[j].Stored) })
	if q.Inbox != nil {
		var err error
		if all, err = c.keepInbox(ctx, q.Inbox, all); err != nil {
			return nil, nil, err
		}
	}
	if q.Unacked {
		if err := c.attachAcks(ctx, all); err != nil {
			return nil, nil, err
		}
		kept := all[:0]
		for _, r := range all {
			if r.Ack == nil {
				kept = append(kept, r)
			}
		}
		all = kept
	}
	if q.Tail > 0 && len(all) > q.Tail {
		all = all[len(all)-q.Tail:]
	}
	if !q.Unacked {
		if err := c.attachAcks(ctx, all); err != nil {
			return nil, nil, err
		}
	}
	if q.Inbox == nil { // keepInbox attached them
		if err := c.attachReceipts(ctx, all); err != nil {
			return nil, nil, err
		}
	}
	return all, cur, nil
}

// scanStall is how long a scan waits for a consumer that has messages pending but
// delivers none before it looks for damage: a message the store cannot read is never
// delivered, and the consumer waits for it for ever.
const scanStall = 500 * time.Millisecond

// scan reads every message of priority p that matches q and returns them with the last
// stream sequence known to be covered. A message the store cannot read (a damaged block)
// is skipped and logged, so the read answers instead of timing out.
func (c *Client) scan(ctx context.Context, p subjects.Priority, q Query) ([]Record, uint64, error) {
	st, err := c.js.Stream(ctx, p.Stream())
	if err != nil {
		return nil, 0, fmt.Errorf("opening stream %s: %w", p.Stream(), err)
	}
	last := st.CachedInfo().State.LastSeq
	filters := q.filters(p)
	var out []Record
	var from uint64 // 0: from the start (or q.Since); else from this sequence
	for {
		recs, delivered, stalled, err := c.scanFrom(ctx, st, p, q, filters, from)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, recs...)
		if delivered > 0 {
			last = max(last, delivered)
		}
		if !stalled {
			return out, last, nil
		}
		next, ok := c.nextReadable(ctx, st, filters, max(delivered+1, from))
		c.log.Warn("a stored message cannot be read (store damage?); skipped", zap.String("stream", p.Stream()),
			zap.Uint64("after_seq", max(delivered, from)), zap.Uint64("next_readable", next))
		if !ok {
			return out, last, nil
		}
		from = next
	}
}

// scanFrom reads with one ephemeral consumer from sequence from (0: the start, or
// q.Since). It returns the records, the last stream sequence delivered, and whether the
// consumer stalled with messages pending.
func (c *Client) scanFrom(ctx context.Context, st jetstream.Stream, p subjects.Priority, q Query, filters []string, from uint64) ([]Record, uint64, bool, error) {
	cfg := jetstream.ConsumerConfig{
		AckPolicy:         jetstream.AckNonePolicy,
		FilterSubjects:    filters,
		InactiveThreshold: 30 * time.Second,
		MemoryStorage:     true,
		DeliverPolicy:     jetstream.DeliverAllPolicy,
	}
	switch {
	case from > 0:
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, from
	case !q.Since.IsZero():
		since := q.Since
		cfg.DeliverPolicy, cfg.OptStartTime = jetstream.DeliverByStartTimePolicy, &since
	}
	cons, err := st.CreateConsumer(ctx, cfg)
	if err != nil {
		return nil, 0, false, fmt.Errorf("querying %s: %w", p.Stream(), err)
	}
	defer c.dropConsumer(st, cons)
	pending := cons.CachedInfo().NumPending
	var out []Record
	var delivered uint64
	progress := time.Now()
	for pending > 0 {
		batch, err := cons.FetchNoWait(int(min(pending, 1000)))
		if err != nil {
			return nil, 0, false, fmt.Errorf("reading %s: %w", p.Stream(), err)
		}
		n := 0
		for m := range batch.Messages() {
			n++
			meta, err := m.Metadata()
			if err != nil {
				return nil, 0, false, fmt.Errorf("reading %s: %w", p.Stream(), err)
			}
			delivered = max(delivered, meta.Sequence.Stream)
			pending = meta.NumPending
			if r, ok := decodeRecord(m.Subject(), m.Data(), meta); ok && q.matches(r.Envelope) {
				out = append(out, r)
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) {
			return nil, 0, false, fmt.Errorf("reading %s: %w", p.Stream(), err)
		}
		if n > 0 {
			progress = time.Now()
			continue
		}
		// The consumer's pending count can run ahead of what a no-wait fetch returns;
		// wait briefly for the rest instead of spinning, but not for ever.
		if err := ctx.Err(); err != nil {
			return nil, 0, false, fmt.Errorf("reading %s: %w", p.Stream(), err)
		}
		if time.Since(progress) > scanStall {
			return out, delivered, true, nil
		}
		time.Sleep(time.Millisecond)
	}
	return out, delivered, false, nil
}

// nextReadable finds the first message at or after sequence from on one of filters that
// the store can read, by direct gets (which fail fast on a damaged message, where a
// consumer waits). The sequence after an unreadable one is tried next.
func (c *Client) nextReadable(ctx context.Context, st jetstream.Stream, filters []string, from uint64) (uint64, bool) {
	lastSeq := st.CachedInfo().State.LastSeq
	if info, err := st.Info(ctx); err == nil {
		lastSeq = info.State.LastSeq
	}
	for seq := from; seq <= lastSeq && ctx.Err() == nil; {
		best, found, failed := uint64(0), false, false
		for _, f := range filters {
			m, err := st.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(f))
			switch {
			case err == nil:
				if !found || m.Sequence < best {
					best, found = m.Sequence, true
				}
			case errors.Is(err, jetstream.ErrMsgNotFound):
			default:
				failed = true
			}
		}
		if found && (!failed || best == seq) {
			return best, true
		}
		if !failed {
			return 0, false // nothing readable left on these filters
		}
		seq++
	}
	return 0, false
}

func decodeRecord(subject string, data []byte, meta *jetstream.MsgMetadata) (Record, bool) {
	env, err := subjects.Decode(data)
	if err != nil {
		// Something that is not a tmux-orc envelope was published on an orc subject (with
		// the nats CLI, say). It is skipped, not fatal.
		return Record{}, false
	}
	return Record{Envelope: env, Stream: meta.Stream, Seq: meta.Sequence.Stream, Subject: subject, Stored: meta.Timestamp}, true
}

// Follow calls fn for every new message matching q (Tail and Unacked are ignored) until ctx
// ends or fn returns an error. Messages stored after the moment Follow starts are seen
// exactly once.
func (c *Client) Follow(ctx context.Context, q Query, fn func(Record) error) error {
	cur := cursor{}
	for _, p := range q.priorities() {
		st, err := c.js.Stream(ctx, p.Stream())
		if err != nil {
			return fmt.Errorf("opening stream %s: %w", p.Stream(), err)
		}
		cur[p.Stream()] = st.CachedInfo().State.LastSeq
	}
	return c.follow(ctx, q, cur, fn)
}

// QueryAndFollow prints what Query returns, then continues with new messages, without a gap
// or a repeat between the two.
func (c *Client) QueryAndFollow(ctx context.Context, q Query, fn func(Record) error) error {
	recs, cur, err := c.query(ctx, q)
	if err != nil {
		return err
	}
	for _, r := range recs {
		if err := fn(r); err != nil {
			return err
		}
	}
	return c.follow(ctx, q, cur, fn)
}

func (c *Client) follow(ctx context.Context, q Query, cur cursor, fn func(Record) error) error {
	if q.Inbox != nil {
		return c.followInbox(ctx, q, cur, fn)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	recs := make(chan Record, 256)
	stop, err := c.followStreams(ctx, q, cur, nil, recs)
	if err != nil {
		return err
	}
	defer stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case r := <-recs:
			if err := fn(r); err != nil {
				return err
			}
		}
	}
}

// followStreams starts one ordered consumer per priority of q from cur on, and sends each
// stored message that q matches (and keep, when given, keeps) to recs until ctx ends.
func (c *Client) followStreams(ctx context.Context, q Query, cur cursor, keep func(*subjects.Envelope) bool, recs chan<- Record) (stop func(), err error) {
	var stops []func()
	stop = func() {
		for _, s := range stops {
			s()
		}
	}
	for _, p := range q.priorities() {
		cons, err := c.js.OrderedConsumer(ctx, p.Stream(), jetstream.OrderedConsumerConfig{
			FilterSubjects: q.filters(p),
			DeliverPolicy:  jetstream.DeliverByStartSequencePolicy,
			OptStartSeq:    cur[p.Stream()] + 1,
		})
		if err != nil {
			stop()
			return nil, fmt.Errorf("following %s: %w", p.Stream(), err)
		}
		cc, err := cons.Consume(func(m jetstream.Msg) {
			meta, err := m.Metadata()
			if err != nil {
				return
			}
			r, ok := decodeRecord(m.Subject(), m.Data(), meta)
			if !ok || !q.matches(r.Envelope) || (keep != nil && !keep(r.Envelope)) {
				return
			}
			select {
			case recs <- r:
			case <-ctx.Done():
			}
		}, jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
			c.log.Debug("follow: consumer error, the ordered consumer recovers by itself", zap.Error(err))
		}))
		if err != nil {
			stop()
			return nil, fmt.Errorf("following %s: %w", p.Stream(), err)
		}
		stops = append(stops, cc.Stop)
	}
	return stop, nil
}

// dropConsumer asks the server to delete an ephemeral consumer of this client's, without
// waiting for the answer: a user whose role may not delete consumers (agents) is refused,
// and the consumer then expires by its inactive threshold.
func (c *Client) dropConsumer(st jetstream.Stream, cons jetstream.Consumer) {
	subj := "$JS.API.CONSUMER.DELETE." + st.CachedInfo().Config.Name + "." + cons.CachedInfo().Name
	_ = c.nc.PublishRequest(subj, c.nc.NewRespInbox(), nil)
}
