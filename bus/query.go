package bus

import (
	"context"
	"fmt"
	"regexp"
	"slices"
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

// Query returns the matching messages, oldest first. With Tail it reads the streams
// backwards and stops at the Tail-th match; without, it returns every match (QueryEach
// streams them instead of holding them all).
func (c *Client) Query(ctx context.Context, q Query) ([]Record, error) {
	recs, _, err := c.query(ctx, q)
	return recs, err
}

// QueryEach calls fn with each matching message, oldest first, a page at a time: only a
// page of messages (pageSize) is held at once, or the Tail last matches with Tail.
func (c *Client) QueryEach(ctx context.Context, q Query, fn func(Record) error) error {
	_, err := c.queryEach(ctx, q, fn)
	return err
}

func (c *Client) query(ctx context.Context, q Query) ([]Record, cursor, error) {
	var all []Record
	cur, err := c.queryEach(ctx, q, func(r Record) error {
		all = append(all, r)
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return all, cur, nil
}

// queryEach runs q and returns, per stream, the last sequence it covered (for Follow).
func (c *Client) queryEach(ctx context.Context, q Query, fn func(Record) error) (cursor, error) {
	rev := q.Tail > 0
	ws, cur, err := c.walkers(ctx, q, rev)
	if err != nil {
		return nil, err
	}
	m := &merge{c: c, ws: ws, rev: rev}
	if !rev {
		for {
			page, err := c.page(ctx, q, m, pageSize)
			if err != nil {
				return nil, err
			}
			if page == nil {
				return cur, nil
			}
			for _, r := range page {
				if err := fn(r); err != nil {
					return nil, err
				}
			}
		}
	}
	// Backwards, newest first, until Tail matches.
	var out []Record
	for len(out) < q.Tail {
		want := min(pageSize, max(16, q.Tail-len(out)))
		page, err := c.page(ctx, q, m, want)
		if err != nil {
			return nil, err
		}
		if page == nil {
			break
		}
		out = append(out, page[:min(len(page), q.Tail-len(out))]...)
	}
	slices.Reverse(out)
	for _, r := range out {
		if err := fn(r); err != nil {
			return nil, err
		}
	}
	return cur, nil
}

// page returns the next up to n messages of the merge that q keeps, with their
// acknowledgements and receipts; nil when the merge is exhausted. It reads at least n
// messages from the merge (fewer only at its end), so that the acknowledgements and
// receipts are read in batches.
func (c *Client) page(ctx context.Context, q Query, m *merge, n int) ([]Record, error) {
	for {
		var cand []Record
		for len(cand) < n {
			r, ok, err := m.next(ctx)
			if err != nil {
				return nil, err
			}
			if !ok {
				break
			}
			if q.matches(r.Envelope) {
				cand = append(cand, r)
			}
		}
		if len(cand) == 0 && m.exhausted() {
			return nil, nil
		}
		if q.Inbox != nil {
			var err error
			if cand, err = c.keepInbox(ctx, q.Inbox, cand); err != nil {
				return nil, err
			}
		}
		if err := c.attachAcks(ctx, cand); err != nil {
			return nil, err
		}
		if q.Unacked {
			kept := cand[:0]
			for _, r := range cand {
				if r.Ack == nil {
					kept = append(kept, r)
				}
			}
			cand = kept
		}
		if q.Inbox == nil { // keepInbox attached them
			if err := c.attachReceipts(ctx, cand); err != nil {
				return nil, err
			}
		}
		if len(cand) > 0 {
			return cand, nil
		}
	}
}

// walkers opens one walker per priority of q and subject filter, over the messages stored
// until now (and since q.Since), and returns them with the cursor they end at.
func (c *Client) walkers(ctx context.Context, q Query, rev bool) ([]*walker, cursor, error) {
	var ws []*walker
	cur := cursor{}
	width := uint64(pageSize)
	if rev {
		width = uint64(min(pageSize, max(16, 2*q.Tail)))
	}
	for rank, p := range q.priorities() {
		info, err := c.streamState(ctx, p.Stream())
		if err != nil {
			return nil, nil, err
		}
		cur[p.Stream()] = info.LastSeq
		lo, hi := max(info.FirstSeq, 1), info.LastSeq
		if !q.Since.IsZero() && lo <= hi {
			since := q.Since
			msgs, _, err := c.directGet(ctx, p.Stream(), directReq{StartTime: &since})
			if err != nil {
				return nil, nil, err
			}
			if len(msgs) == 0 {
				continue // nothing stored since
			}
			lo = max(lo, msgs[0].Seq)
		}
		if lo > hi {
			continue
		}
		for _, f := range q.filters(p) {
			ws = append(ws, &walker{stream: p.Stream(), filter: f, rank: rank, lo: lo, hi: hi, width: width, rev: rev})
		}
	}
	return ws, cur, nil
}

// streamState returns the first and last sequence of a stream.
func (c *Client) streamState(ctx context.Context, name string) (jetstream.StreamState, error) {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	st, err := c.js.Stream(ctx, name)
	if err != nil {
		return jetstream.StreamState{}, fmt.Errorf("opening stream %s: %w", name, err)
	}
	return st.CachedInfo().State, nil
}

// walker reads the messages of one stream on one subject filter between two sequences, a
// batch at a time, forwards or backwards (rev).
//
// Backwards, it reads windows of sequences from the end: a batch of the messages on its
// filter from the window's first sequence. A window that holds more than a batch is
// narrowed to its end (its start is read with the next window); one that holds few
// matches is doubled for the next, so a sparse filter takes a number of requests that
// grows with the logarithm of the store, a dense one a request per page.
type walker struct {
	stream, filter string
	rank           int
	lo, hi         uint64 // the sequences still to read, lo..hi; none when lo > hi
	width          uint64 // backwards: the next window's number of sequences
	rev            bool
	buf            []Record // read, in walking order
}

func (w *walker) done() bool { return len(w.buf) == 0 && w.lo > w.hi }

// fill reads until the walker has a record or is done.
func (c *Client) fill(ctx context.Context, w *walker) error {
	for len(w.buf) == 0 && w.lo <= w.hi {
		from, n := w.lo, pageSize
		if w.rev {
			if w.hi-w.lo+1 > w.width {
				from = w.hi - w.width + 1
			}
			n = int(min(w.hi-from+1, pageSize))
		}
		msgs, pending, err := c.directGet(ctx, w.stream, directReq{Seq: from, NextFor: w.filter, Batch: n})
		if err != nil {
			return err
		}
		kept := msgs
		for i, m := range msgs {
			if m.Seq > w.hi {
				kept = msgs[:i]
				break
			}
		}
		switch {
		case !w.rev:
			switch {
			case len(kept) < len(msgs) || len(msgs) == 0:
				w.lo = w.hi + 1
			case len(msgs) < n && pending > 0:
				// The batch stopped short of its size with matches left: the next
				// message cannot be read (store damage). Skip it.
				last := msgs[len(msgs)-1].Seq
				c.log.Warn("a stored message cannot be read (store damage?); skipped",
					zap.String("stream", w.stream), zap.Uint64("after_seq", last))
				w.lo = last + 2
			default:
				w.lo = msgs[len(msgs)-1].Seq + 1
			}
		case len(kept) == n && kept[n-1].Seq < w.hi:
			// More matches in the window than a batch: read its end first.
			w.width = w.hi - kept[n-1].Seq
			continue
		default:
			w.hi = from - 1
			if len(kept) < pageSize/2 {
				w.width *= 2
			}
			slices.Reverse(kept)
		}
		for _, m := range kept {
			if r, ok := decodeDirect(w.stream, m); ok {
				w.buf = append(w.buf, r)
			}
		}
	}
	return nil
}

func decodeRecord(subject string, data []byte, meta *jetstream.MsgMetadata) (Record, bool) {
	env, err := subjects.Decode(data)
	if err != nil {
		return Record{}, false // not a tmux-orc envelope (see decodeDirect)
	}
	return Record{Envelope: env, Stream: meta.Stream, Seq: meta.Sequence.Stream, Subject: subject, Stored: meta.Timestamp}, true
}

func decodeDirect(stream string, m directMsg) (Record, bool) {
	env, err := subjects.Decode(m.Data)
	if err != nil {
		// Something that is not a tmux-orc envelope was published on an orc subject (with
		// the nats CLI, say). It is skipped, not fatal.
		return Record{}, false
	}
	return Record{Envelope: env, Stream: stream, Seq: m.Seq, Subject: m.Subject, Stored: m.Time.Local()}, true
}

// merge interleaves walkers by the time their messages were stored (then by the query's
// priority order and sequence), oldest first or, backwards, newest first. The filters of
// one priority are disjoint (subjects.Filters, Recipient.filters), so no message comes twice.
type merge struct {
	c   *Client
	ws  []*walker
	rev bool
}

func (m *merge) exhausted() bool {
	for _, w := range m.ws {
		if !w.done() {
			return false
		}
	}
	return true
}

// before reports whether a comes before b in the order of an oldest-first result.
func before(a Record, ra int, b Record, rb int) bool {
	if !a.Stored.Equal(b.Stored) {
		return a.Stored.Before(b.Stored)
	}
	if ra != rb {
		return ra < rb
	}
	return a.Seq < b.Seq
}

func (m *merge) next(ctx context.Context) (Record, bool, error) {
	var best *walker
	for _, w := range m.ws {
		if err := m.c.fill(ctx, w); err != nil {
			return Record{}, false, err
		}
		if len(w.buf) == 0 {
			continue
		}
		if best == nil || before(w.buf[0], w.rank, best.buf[0], best.rank) != m.rev {
			best = w
		}
	}
	if best == nil {
		return Record{}, false, nil
	}
	r := best.buf[0]
	best.buf = best.buf[1:]
	return r, true, nil
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
