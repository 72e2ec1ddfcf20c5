package bus

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
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
	defer m.close()
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

// walkers opens the walkers of q over the messages stored until now (and since q.Since):
// backwards, one per priority and subject filter; forwards, one per priority. It returns
// them with the cursor they end at.
func (c *Client) walkers(ctx context.Context, q Query, rev bool) ([]*walker, cursor, error) {
	var ws []*walker
	cur := cursor{}
	width := uint64(min(pageSize, max(16, 2*q.Tail)))
	for rank, p := range q.priorities() {
		st, err := c.openStream(ctx, p.Stream())
		if err != nil {
			return nil, nil, err
		}
		info := st.CachedInfo().State
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
		if !rev {
			ws = append(ws, &walker{stream: p.Stream(), st: st, filters: q.filters(p), rank: rank, lo: lo, hi: hi})
			continue
		}
		for _, f := range q.filters(p) {
			if f == subjects.StreamSubjects(p) {
				f = "" // the whole stream: batches by sequence, no subject matching
			}
			ws = append(ws, &walker{stream: p.Stream(), filter: f, rank: rank, lo: lo, hi: hi, width: width, rev: true})
		}
	}
	return ws, cur, nil
}

func (c *Client) openStream(ctx context.Context, name string) (jetstream.Stream, error) {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	st, err := c.js.Stream(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("opening stream %s: %w", name, err)
	}
	return st, nil
}

// walker reads the messages of one stream between two sequences, a page at a time,
// forwards or backwards (rev).
//
// Forwards, it reads with one ephemeral consumer on the priority's filters: the server
// counts what is pending once, and delivers a page per fetch.
//
// Backwards, on one filter, it reads windows of sequences from the end with direct gets. A
// window of up to a page of sequences is read with one batch request from its first
// sequence; a wider one (the filter was sparse so far) with single requests for the next
// message on the filter, which the server answers from its subject index without reading
// the sequences between, and a batch for the rest when it holds more than a few. A window
// that holds more than a batch is narrowed to its end (its start is read with the next
// window); one that holds few matches is doubled for the next. So a dense filter costs a
// request per page, and a sparse one a number of requests that grows with the logarithm
// of the store.
type walker struct {
	stream string
	rank   int
	lo, hi uint64 // the sequences still to read, lo..hi; none when lo > hi
	buf    []Record

	// Backwards.
	rev    bool
	filter string // "": every message
	width  uint64 // the next window's number of sequences
	// triedAll: asked for every message on the filter at once (see fill).
	triedAll bool

	// Forwards.
	st       jetstream.Stream
	filters  []string
	cons     jetstream.Consumer
	pending  uint64
	progress time.Time
	// failing is when reads began to fail in a way a new consumer may mend (see
	// fillForwards); zero while they succeed.
	failing time.Time
}

func (w *walker) done() bool { return len(w.buf) == 0 && w.lo > w.hi }

// sparseProbes is how many single requests a wide window starts with.
const sparseProbes = 8

// fill reads until the walker has a record or is done.
func (c *Client) fill(ctx context.Context, w *walker) error {
	if !w.rev {
		return c.fillForwards(ctx, w)
	}
	for len(w.buf) == 0 && w.lo <= w.hi {
		if w.width > pageSize && w.filter != "" && !w.triedAll {
			// The filter was sparse so far: ask for every message on it, which the
			// server answers from its subject index when they are few.
			w.triedAll = true
			msgs, _, err := c.directGet(ctx, w.stream, directReq{MultiLast: []string{w.filter}})
			if err != nil && !errors.Is(err, errTooManyResults) {
				return err
			}
			if err == nil {
				slices.SortFunc(msgs, func(a, b directMsg) int { return cmp.Compare(b.Seq, a.Seq) })
				for _, m := range msgs {
					if m.Seq < w.lo || m.Seq > w.hi {
						continue
					}
					if r, ok := decodeDirect(w.stream, m); ok {
						w.buf = append(w.buf, r)
					}
				}
				w.hi = w.lo - 1
				break
			}
		}
		from := w.lo
		if w.hi-w.lo+1 > w.width {
			from = w.hi - w.width + 1
		}
		var got []directMsg
		if w.width <= pageSize {
			// A window of up to a page: every message in it, matched here. The server
			// then looks at nothing but the window (with a subject filter it would count
			// the matches after it, a block at least).
			msgs, _, err := c.directGet(ctx, w.stream, directReq{Seq: from, Batch: int(w.hi - from + 1)})
			if err != nil {
				return err
			}
			for _, m := range msgs {
				if m.Seq <= w.hi && (w.filter == "" || subjectMatches(w.filter, m.Subject)) {
					got = append(got, m)
				}
			}
		} else {
			var err error
			if got, err = c.wideWindow(ctx, w, from); err != nil {
				return err
			}
			if got == nil {
				continue // narrowed
			}
		}
		// Fewer matches than half the window's sequences: a sparser filter, a wider window.
		if uint64(len(got)) < (w.hi-from+1)/2 && w.filter != "" {
			w.width *= 2
		}
		w.hi = from - 1
		for i := len(got) - 1; i >= 0; i-- {
			if r, ok := decodeDirect(w.stream, got[i]); ok {
				w.buf = append(w.buf, r)
			}
		}
	}
	return nil
}

// wideWindow reads the matches of a window wider than a page: single requests for the
// next match first, then a batch for the rest. It returns nil (and narrows the window)
// when the window holds more than a batch.
func (c *Client) wideWindow(ctx context.Context, w *walker, from uint64) ([]directMsg, error) {
	got := []directMsg{}
	seq, exhausted := from, false
	for len(got) < sparseProbes && !exhausted {
		msgs, _, err := c.directGet(ctx, w.stream, directReq{Seq: seq, NextFor: w.filter})
		if err != nil {
			return nil, err
		}
		if len(msgs) == 0 || msgs[0].Seq > w.hi {
			return got, nil
		}
		got = append(got, msgs[0])
		seq = msgs[0].Seq + 1
		exhausted = seq > w.hi
	}
	if exhausted {
		return got, nil
	}
	n := int(min(w.hi-seq+1, pageSize))
	msgs, _, err := c.directGet(ctx, w.stream, directReq{Seq: seq, NextFor: w.filter, Batch: n})
	if err != nil {
		return nil, err
	}
	kept := msgs
	for i, m := range msgs {
		if m.Seq > w.hi {
			kept = msgs[:i]
			break
		}
	}
	if len(kept) == n && kept[n-1].Seq < w.hi {
		// More matches in the window than a batch: read its end first.
		w.width = w.hi - kept[n-1].Seq
		return nil, nil
	}
	return append(got, kept...), nil
}

// subjectMatches reports whether subject subj matches filter (NATS wildcards: "*" one
// token, ">" the rest).
func subjectMatches(filter, subj string) bool {
	for {
		f, frest, fmore := strings.Cut(filter, ".")
		if f == ">" {
			return subj != ""
		}
		s, srest, smore := strings.Cut(subj, ".")
		if s == "" || (f != "*" && f != s) {
			return false
		}
		if !fmore || !smore {
			return fmore == smore
		}
		filter, subj = frest, srest
	}
}

// scanStall is how long a forward walker waits for a consumer that has messages pending
// but delivers none before it looks for damage: a message the store cannot read is never
// delivered, and the consumer waits for it for ever.
const scanStall = 500 * time.Millisecond

// anew reports whether a forward read that failed with err goes on with a new consumer
// from where it is: err is one a cluster gives while the consumer's node restarts, or
// before a consumer's creation is applied everywhere (no responders, a timeout), and such
// errors have not lasted PublishWithin. It drops the old consumer and pauses briefly.
func (c *Client) anew(ctx context.Context, w *walker, err error) bool {
	if !retryable(err) || ctx.Err() != nil || (!w.failing.IsZero() && time.Since(w.failing) > PublishWithin) {
		return false
	}
	if w.failing.IsZero() {
		w.failing = time.Now()
	}
	c.dropConsumer(w.st, w.cons)
	w.cons = nil
	select {
	case <-ctx.Done():
	case <-time.After(100 * time.Millisecond):
	}
	return true
}

// fillForwards reads the next page with the walker's consumer, creating it at w.lo. A
// message the store cannot read (a damaged block) is skipped and logged, so the read
// answers instead of timing out.
func (c *Client) fillForwards(ctx context.Context, w *walker) error {
	for len(w.buf) == 0 && w.lo <= w.hi {
		if w.cons == nil {
			var cons jetstream.Consumer
			err := c.retry(ctx, func(ctx context.Context) (err error) {
				cons, err = w.st.CreateConsumer(ctx, jetstream.ConsumerConfig{
					AckPolicy:         jetstream.AckNonePolicy,
					FilterSubjects:    w.filters,
					InactiveThreshold: 30 * time.Second,
					MemoryStorage:     true,
					DeliverPolicy:     jetstream.DeliverByStartSequencePolicy,
					OptStartSeq:       w.lo,
				})
				return err
			})
			if err != nil {
				return fmt.Errorf("querying %s: %w", w.stream, err)
			}
			w.cons, w.pending, w.progress = cons, cons.CachedInfo().NumPending, time.Now()
		}
		if w.pending == 0 {
			w.lo = w.hi + 1
			break
		}
		batch, err := w.cons.FetchNoWait(int(min(w.pending, pageSize)))
		if err != nil {
			if c.anew(ctx, w, err) {
				continue
			}
			return fmt.Errorf("reading %s: %w", w.stream, err)
		}
		n := 0
		for m := range batch.Messages() {
			n++
			meta, err := m.Metadata()
			if err != nil {
				return fmt.Errorf("reading %s: %w", w.stream, err)
			}
			if meta.Sequence.Stream > w.hi || w.lo > w.hi {
				w.lo = w.hi + 1 // stored after the read began
				continue
			}
			w.lo, w.pending = meta.Sequence.Stream+1, meta.NumPending
			if r, ok := decodeRecord(m.Subject(), m.Data(), meta); ok {
				w.buf = append(w.buf, r)
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) {
			if c.anew(ctx, w, err) {
				continue
			}
			return fmt.Errorf("reading %s: %w", w.stream, err)
		}
		if n > 0 {
			w.progress, w.failing = time.Now(), time.Time{}
			continue
		}
		// The consumer's pending count can run ahead of what a no-wait fetch returns;
		// wait briefly for the rest instead of spinning, but not for ever.
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("reading %s: %w", w.stream, err)
		}
		if time.Since(w.progress) <= scanStall {
			time.Sleep(time.Millisecond)
			continue
		}
		next, ok := c.nextReadable(ctx, w.st, w.filters, w.lo)
		c.log.Warn("a stored message cannot be read (store damage?); skipped", zap.String("stream", w.stream),
			zap.Uint64("from_seq", w.lo), zap.Uint64("next_readable", next))
		c.dropConsumer(w.st, w.cons)
		w.cons = nil
		if !ok {
			w.lo = w.hi + 1
		} else {
			w.lo = next
		}
	}
	if w.lo > w.hi && w.cons != nil {
		c.dropConsumer(w.st, w.cons)
		w.cons = nil
	}
	return nil
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

// close drops the walkers' consumers (a read that ended early).
func (m *merge) close() {
	for _, w := range m.ws {
		if w.cons != nil {
			m.c.dropConsumer(w.st, w.cons)
			w.cons = nil
		}
	}
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

// QueryAndFollow calls fn with what Query returns (a page at a time), then continues with
// new messages, without a gap or a repeat between the two.
func (c *Client) QueryAndFollow(ctx context.Context, q Query, fn func(Record) error) error {
	cur, err := c.queryEach(ctx, q, fn)
	if err != nil {
		return err
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
