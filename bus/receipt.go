package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/tmux-orc/tmux-orc/subjects"
)

// Outcome is what became of a message in one pane.
type Outcome string

// Delivery outcomes. A message for a pane goes through queued (waiting for the pane to be
// ready), typed and submitted (delivered), and received when the agent reports the prompt
// (Claude Code's UserPromptSubmit hook); unconfirmed and undeliverable end it otherwise.
const (
	// Queued: the bridge holds the message until the pane is ready (a dialog open, a draft in
	// the box, the agent starting or busy); Reason says why. Not final.
	Queued Outcome = "queued"
	// Delivered: the text became a prompt: it was typed and submitted and the agent took it
	// (its input box cleared, or it queued the input), or it was handed over as the agent's
	// next input by its Stop hook (Path "hook").
	Delivered Outcome = "delivered"
	// Received: the agent itself reported the prompt holding the message's id (Claude Code's
	// UserPromptSubmit hook, recorded by `tmux-orc hook claude-code`).
	Received Outcome = "received"
	// Unconfirmed: the text was typed but submission could not be confirmed (Enter was
	// swallowed, a dialog is open, or the bridge restarted mid-delivery).
	Unconfirmed Outcome = "unconfirmed"
	// Undeliverable: nothing was typed (the target never appeared, the pane is dead, runs a
	// shell, or was not ready within the wait).
	Undeliverable Outcome = "undeliverable"
)

// Final reports whether o ends the delivery to a pane (every outcome but queued).
func (o Outcome) Final() bool { return o != Queued && o != "" }

// OK reports whether o means the message reached the agent (delivered or received).
func (o Outcome) OK() bool { return o == Delivered || o == Received }

// Paths a message takes into a pane (Receipt.Path).
const (
	// PathTyped: typed into the pane and submitted with Enter.
	PathTyped = "typed"
	// PathHook: handed over by the agent's Stop hook as its next input, nothing typed.
	PathHook = "hook"
)

// claimState marks a receipt subject the bridge writes before it types.
const claimState = "claim"

// Receipt records what became of message ID in one pane.
type Receipt struct {
	ID       string            `json:"id"`
	Priority subjects.Priority `json:"priority"`
	Outcome  Outcome           `json:"outcome"`
	// Pane is the tmux pane ("%3") and PaneTarget where it was ("backend-dev:2.0").
	Pane       string `json:"pane,omitempty"`
	PaneTarget string `json:"pane_target,omitempty"`
	// Via is "bridge" or "fallback" (typed by the CLI while the daemon was unreachable).
	Via       string    `json:"via"`
	Host      string    `json:"host,omitempty"`
	Published time.Time `json:"published"`
	Typed     time.Time `json:"typed,omitempty"`
	Submitted time.Time `json:"submitted,omitempty"`
	// EnterPresses counts the Enter keys sent (1 + retries).
	EnterPresses int `json:"enter_presses,omitempty"`
	// Queued is true when the agent showed it queued the input (it was busy).
	Queued bool `json:"queued,omitempty"`
	// Path is how the message went in: PathTyped or PathHook ("" before it went in).
	Path   string `json:"path,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// PaneKey turns a tmux pane id ("%3") into the receipt subject token ("p3").
func PaneKey(pane string) string {
	if n, ok := strings.CutPrefix(pane, "%"); ok && n != "" {
		return "p" + n
	}
	return "none"
}

// ErrClaimed is returned by Claim when the message was already claimed for the pane.
var ErrClaimed = errors.New("delivery already claimed")

// Claim records, before typing, that the bridge is delivering message id into pane of the
// tmux server on host. Only the first claim for a message and pane succeeds; a second one (a
// redelivery after a bridge restart) gets ErrClaimed and must not type again. A claim whose
// answer was lost (a leader election) is retried and recognised as this call's own by a
// random token, so it is not mistaken for someone else's.
func (c *Client) Claim(ctx context.Context, p subjects.Priority, id, host, pane string) error {
	return c.ClaimAs(ctx, p, id, host, pane, NewClaimToken())
}

// NewClaimToken returns a new token for ClaimAs.
func NewClaimToken() string { return subjects.NewID(time.Now()) }

// ClaimAs is Claim with the caller's token. A caller whose claim of the same message and pane
// failed with an error other than ErrClaimed, and which typed nothing since, passes that
// call's token again: the failed call may have stored its claim (every answer lost), and the
// token makes it this caller's own instead of another's, so the message is still typed.
func (c *Client) ClaimAs(ctx context.Context, p subjects.Priority, id, host, pane, token string) error {
	subj := subjects.ReceiptSubjectFor(p, claimState, id, host, PaneKey(pane))
	data, _ := json.Marshal(claim{At: time.Now().UTC(), Token: token})
	var last uint64 // the claim subject's last sequence: 0, or a released claim's
	for {
		_, _, err := c.store(ctx, subj, data, jetstream.WithExpectLastSequencePerSubject(last))
		var apiErr *jetstream.APIError
		if errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence {
			cl, seq, rerr := c.lastClaim(ctx, subj)
			switch {
			case rerr != nil:
				// Not ErrClaimed: the claim there may be this one's own (an earlier attempt
				// stored, its answer lost), and a message taken for claimed by another is
				// never typed here.
				return fmt.Errorf("claiming delivery of %s: a claim is stored and could not be read: %w", id, rerr)
			case cl.Token == token:
				return nil
			case cl.Released && seq != last:
				last = seq // given back un-typed by a stopping bridge: take it over
				continue
			}
			return ErrClaimed
		}
		if err != nil {
			return fmt.Errorf("claiming delivery of %s: %w", id, err)
		}
		return nil
	}
}

// Release gives back a claim this bridge holds on message id in pane without having typed
// it (the bridge is stopping, or the pane was found not ready after the claim), so that the
// next claim of it succeeds and it is typed then.
func (c *Client) Release(ctx context.Context, p subjects.Priority, id, host, pane string) error {
	subj := subjects.ReceiptSubjectFor(p, claimState, id, host, PaneKey(pane))
	data, _ := json.Marshal(claim{At: time.Now().UTC(), Token: subjects.NewID(time.Now()), Released: true})
	if _, _, err := c.store(ctx, subj, data); err != nil {
		return fmt.Errorf("releasing the claim on %s: %w", id, err)
	}
	return nil
}

type claim struct {
	At    time.Time `json:"at"`
	Token string    `json:"token"`
	// Released: the claim was given back un-typed.
	Released bool `json:"released,omitempty"`
}

// lastClaim reads the last claim stored on subj and its sequence, from the stream's leader.
// Not with a direct get: with AllowDirect any replica may answer one, and a follower that has
// not applied the newest claim yet answers with an older one or none. Claim asks right after
// the leader refused a claim because one is there, and a stale answer made a bridge take its
// own claim (stored by an attempt whose answer was lost in a node's restart) for another's,
// so the message was never typed (a rolling restart in the compose test lost one so).
func (c *Client) lastClaim(ctx context.Context, subj string) (claim, uint64, error) {
	var m struct {
		Message *struct {
			Data []byte `json:"data"`
			Seq  uint64 `json:"seq"`
		} `json:"message"`
		Error *jetstream.APIError `json:"error"`
	}
	req, _ := json.Marshal(map[string]string{"last_by_subj": subj})
	err := c.retry(ctx, func(ctx context.Context) error {
		resp, err := c.nc.RequestWithContext(ctx, "$JS.API.STREAM.MSG.GET."+subjects.ReceiptStream, req)
		if err != nil {
			return err
		}
		m.Message, m.Error = nil, nil
		if err := json.Unmarshal(resp.Data, &m); err != nil {
			return fmt.Errorf("reading claim %s: %w", subj, err)
		}
		if m.Error != nil {
			return m.Error
		}
		if m.Message == nil {
			return fmt.Errorf("reading claim %s: an empty answer", subj)
		}
		return nil
	})
	if err != nil {
		return claim{}, 0, err
	}
	var cl claim
	if err := json.Unmarshal(m.Message.Data, &cl); err != nil {
		return claim{}, 0, fmt.Errorf("reading claim %s: %w", subj, err)
	}
	return cl, m.Message.Seq, nil
}

// Record stores a delivery outcome (in pane r.Pane of the tmux server on r.Host).
func (c *Client) Record(ctx context.Context, r Receipt) error {
	data, _ := json.Marshal(r)
	key := PaneKey(r.Pane)
	// The id makes a retried record (an answer lost in an election) a duplicate; one pane can
	// have several outcomes (queued, then delivered, then received).
	_, _, err := c.store(ctx, subjects.ReceiptSubjectFor(r.Priority, string(r.Outcome), r.ID, r.Host, key), data,
		jetstream.WithMsgID("r-"+string(r.Outcome)+"-"+r.ID+"-"+r.Host+"-"+key))
	if err != nil {
		return fmt.Errorf("recording %s of %s: %w", r.Outcome, r.ID, err)
	}
	return nil
}

// OutcomeFor returns the recorded outcome of message id in pane (of host's tmux server): nil
// when none was recorded, and claimed = true when a delivery was claimed but never finished.
func (c *Client) OutcomeFor(ctx context.Context, p subjects.Priority, id, host, pane string) (r *Receipt, claimed bool, err error) {
	st, err := c.js.Stream(ctx, subjects.ReceiptStream)
	if err != nil {
		return nil, false, fmt.Errorf("opening stream %s: %w", subjects.ReceiptStream, err)
	}
	for _, o := range []Outcome{Received, Delivered, Unconfirmed, Undeliverable} {
		m, err := st.GetLastMsgForSubject(ctx, subjects.ReceiptSubjectFor(p, string(o), id, host, PaneKey(pane)))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			return nil, false, fmt.Errorf("reading receipt of %s: %w", id, err)
		}
		var rec Receipt
		if err := json.Unmarshal(m.Data, &rec); err != nil {
			return nil, false, fmt.Errorf("receipt of %s is unreadable: %w", id, err)
		}
		return &rec, true, nil
	}
	m, err := st.GetLastMsgForSubject(ctx, subjects.ReceiptSubjectFor(p, claimState, id, host, PaneKey(pane)))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("reading claim of %s: %w", id, err)
	}
	var cl claim
	return nil, json.Unmarshal(m.Data, &cl) != nil || !cl.Released, nil
}

// Receipts returns every outcome recorded for message id (queued ones included), oldest first.
func (c *Client) Receipts(ctx context.Context, p subjects.Priority, id string) ([]Receipt, error) {
	return c.receiptsOf(ctx, p, id)
}

// receiptsOf reads the receipts of message id a batch (pageSize) at a time.
func (c *Client) receiptsOf(ctx context.Context, p subjects.Priority, id string) ([]Receipt, error) {
	var out []Receipt
	filter := subjects.ReceiptsOf(p, id)
	for seq := uint64(1); ; {
		msgs, pending, err := c.directGet(ctx, subjects.ReceiptStream, directReq{Seq: seq, NextFor: filter, Batch: pageSize})
		if err != nil {
			return nil, fmt.Errorf("reading receipts of %s: %w", id, err)
		}
		for _, m := range msgs {
			if strings.Contains(m.Subject, "."+claimState+".") {
				continue
			}
			var r Receipt
			if json.Unmarshal(m.Data, &r) == nil {
				out = append(out, r)
			}
		}
		if len(msgs) == 0 || pending == 0 {
			return out, nil
		}
		seq = msgs[len(msgs)-1].Seq + 1
	}
}

// attachReceipts fills in the delivery outcomes of each record. One request per
// receiptsChunk records finds which have any (the last message of each of their receipt
// subjects); only those are read in full.
func (c *Client) attachReceipts(ctx context.Context, recs []Record) error {
	for len(recs) > 0 {
		chunk := recs[:min(len(recs), receiptsChunk)]
		recs = recs[len(chunk):]
		filters := make([]string, len(chunk))
		for i, r := range chunk {
			filters[i] = subjects.ReceiptsOf(r.Message.Priority, r.ID)
		}
		msgs, _, mlErr := c.directGet(ctx, subjects.ReceiptStream, directReq{MultiLast: filters})
		some := map[string]bool{}
		for _, m := range msgs {
			// orc.receipt.<priority>.<state>.<id>.<host>.<pane>
			if t := strings.Split(m.Subject, "."); len(t) == 7 && t[3] != claimState {
				some[t[4]] = true
			}
		}
		for i := range chunk {
			if mlErr == nil && !some[chunk[i].ID] {
				continue // none recorded (after an error, such as too many, each is read in full)
			}
			var err error
			if chunk[i].Receipts, err = c.receiptsOf(ctx, chunk[i].Message.Priority, chunk[i].ID); err != nil {
				return err
			}
		}
	}
	return nil
}

// receiptsChunk is how many messages' receipts one request looks for: a message has a
// claim and two or three outcomes per pane, and the server answers up to 1024 subjects.
const receiptsChunk = 64

// WaitOutcome waits until at least one final outcome of message id is recorded (queued is
// not final) and returns the outcomes recorded by then. An ordered consumer brings the outcome at once; while it has
// nothing (or is being re-created after a node died) the outcomes are also read directly
// once a second, so an outcome recorded during a failover is not missed.
func (c *Client) WaitOutcome(ctx context.Context, p subjects.Priority, id string) ([]Receipt, error) {
	// Three ways to see the outcome, any of which suffices: the receipts the ordered
	// consumer delivers, and, on its signal and once a second whatever it does, the stored
	// receipts read in one batch and one by one. After a node died the consumer's reset
	// (which deletes the old consumer, a right agents do not have) can keep Next from
	// returning for the rest of the wait, and a batch read was seen to find nothing for a
	// minute where single reads answered (TestBridgeWithItsRoleFailsOver under load).
	signal := make(chan struct{}, 1)
	var mu sync.Mutex
	var seen []Receipt
	go func() {
		// Created here, each attempt bounded: creating a consumer is a request to the stream's
		// leader, which after a node died may go unanswered until an election ends; with the
		// whole wait as its deadline it held WaitOutcome for all of it.
		var cons jetstream.Consumer
		for cons == nil {
			cctx, cancel := context.WithTimeout(ctx, c.timeout)
			oc, err := c.js.OrderedConsumer(cctx, subjects.ReceiptStream, jetstream.OrderedConsumerConfig{
				FilterSubjects: []string{subjects.ReceiptsOf(p, id)}})
			cancel()
			if err == nil {
				cons = oc
				break
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
		}
		for ctx.Err() == nil {
			m, err := cons.Next(jetstream.FetchMaxWait(time.Second))
			if err != nil || strings.Contains(m.Subject(), "."+claimState+".") {
				continue // no message, or the bridge claimed it and is typing it
			}
			var r Receipt
			if json.Unmarshal(m.Data(), &r) == nil {
				mu.Lock()
				seen = append(seen, r)
				mu.Unlock()
			}
			select {
			case signal <- struct{}{}:
			default:
			}
		}
	}()
	final := func(rs []Receipt) bool {
		return slices.ContainsFunc(rs, func(r Receipt) bool { return r.Outcome.Final() })
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for the outcome of %s: %w", id, ctx.Err())
		case <-signal:
		case <-tick.C:
		}
		actx, cancel := context.WithTimeout(ctx, min(publishAttempt, c.timeout))
		rs, err := c.Receipts(actx, p, id)
		if err == nil && !final(rs) || err != nil && retryable(err) {
			one, oerr := c.receiptsOneByOne(actx, p, id)
			c.log.Debug("no outcome yet", zap.String("id", id), zap.Int("batch_read", len(rs)), zap.Error(err),
				zap.Int("single_reads", len(one)), zap.NamedError("single_error", oerr), zap.String("server", c.nc.ConnectedUrl()))
			if oerr == nil && final(one) {
				rs, err = one, nil
			}
		}
		cancel()
		if err == nil && final(rs) {
			return rs, nil
		}
		mu.Lock()
		got := slices.Clone(seen)
		mu.Unlock()
		if final(got) {
			return got, nil
		}
		if err != nil && !retryable(err) && ctx.Err() == nil {
			return nil, fmt.Errorf("waiting for the outcome of %s: %w", id, err)
		}
	}
}

// receiptsOneByOne reads the receipts of message id with one get each (WaitOutcome's
// second way).
func (c *Client) receiptsOneByOne(ctx context.Context, p subjects.Priority, id string) ([]Receipt, error) {
	st, err := c.js.Stream(ctx, subjects.ReceiptStream)
	if err != nil {
		return nil, fmt.Errorf("opening stream %s: %w", subjects.ReceiptStream, err)
	}
	var out []Receipt
	filter := subjects.ReceiptsOf(p, id)
	for seq := uint64(1); ; {
		m, err := st.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(filter))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading receipts of %s: %w", id, err)
		}
		seq = m.Sequence + 1
		if strings.Contains(m.Subject, "."+claimState+".") {
			continue
		}
		var r Receipt
		if json.Unmarshal(m.Data, &r) == nil {
			out = append(out, r)
		}
	}
}

// LatencyStats are delivery latencies from publish, in milliseconds.
type LatencyStats struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50_ms"`
	P95   float64 `json:"p95_ms"`
	P99   float64 `json:"p99_ms"`
	Max   float64 `json:"max_ms"`
}

// Percentiles summarises durations (nearest rank).
func Percentiles(d []time.Duration) LatencyStats {
	if len(d) == 0 {
		return LatencyStats{}
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	rank := func(p float64) float64 {
		i := int(p*float64(len(s))+0.999999) - 1
		i = max(0, min(len(s)-1, i))
		return float64(s[i].Microseconds()) / 1000
	}
	return LatencyStats{Count: len(s), P50: rank(0.50), P95: rank(0.95), P99: rank(0.99), Max: float64(s[len(s)-1].Microseconds()) / 1000}
}

// ownClaim reports whether the stored claim on subj carries token.
func (c *Client) ownClaim(ctx context.Context, subj, token string) bool {
	cl, _, err := c.lastClaim(ctx, subj)
	return err == nil && cl.Token == token
}
