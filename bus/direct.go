package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
)

// The read path fetches stored messages with JetStream's direct get API (the streams have
// AllowDirect), in batches: a batch of the next messages on a subject filter from a
// sequence, or the last message of each of a list of subjects. One request answers up to
// a page of messages, so a read costs requests in proportion to what it returns, not to
// the size of the store.

// pageSize is the most messages one batch request asks for.
const pageSize = 256

// multiLastMax is the most subjects one multi-last request names (the server answers at
// most 1024 messages to one).
const multiLastMax = 256

// multiLastAnswers is the most messages the server answers to one multi-last request.
const multiLastAnswers = 1024

// errTooManyResults: a multi-last request matched more than multiLastAnswers subjects.
var errTooManyResults = errors.New("too many results")

// directMsg is a stored message as a direct get returns it.
type directMsg struct {
	Subject string
	Seq     uint64
	Time    time.Time
	Data    []byte
}

// directReq is the server's JSApiMsgGetRequest, as far as the read path uses it.
type directReq struct {
	Seq       uint64     `json:"seq,omitempty"`
	NextFor   string     `json:"next_by_subj,omitempty"`
	Batch     int        `json:"batch,omitempty"`
	StartTime *time.Time `json:"start_time,omitempty"`
	MultiLast []string   `json:"multi_last,omitempty"`
}

// directGet sends one direct get request to stream and returns the messages of the answer
// and, for a batch, how many more match after the last one (the end-of-batch count). A
// request that finds nothing returns no messages and no error.
func (c *Client) directGet(ctx context.Context, stream string, req directReq) ([]directMsg, uint64, error) {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	body, _ := json.Marshal(req)
	// An asynchronous subscription: a synchronous one allocates a channel of the
	// connection's full pending length (64k entries) each time.
	got := make(chan *nats.Msg, multiLastAnswers+2)
	inbox := c.nc.NewInbox()
	sub, err := c.nc.Subscribe(inbox, func(m *nats.Msg) {
		select {
		case got <- m:
		default: // more than asked for: dropped, the request then times out
		}
	})
	if err != nil {
		return nil, 0, fmt.Errorf("reading %s: %w", stream, err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	if err := c.nc.PublishRequest("$JS.API.DIRECT.GET."+stream, inbox, body); err != nil {
		return nil, 0, fmt.Errorf("reading %s: %w", stream, err)
	}
	batch := req.Batch > 0 || len(req.MultiLast) > 0
	var out []directMsg
	for {
		var m *nats.Msg
		select {
		case m = <-got:
		case <-ctx.Done():
			return nil, 0, fmt.Errorf("reading %s: %w", stream, ctx.Err())
		}
		if st := m.Header.Get("Status"); st != "" {
			switch st {
			case "204": // end of a batch
				pending, _ := strconv.ParseUint(m.Header.Get("Nats-Num-Pending"), 10, 64)
				return out, pending, nil
			case "404":
				return out, 0, nil
			case "413":
				return nil, 0, fmt.Errorf("reading %s: %w", stream, errTooManyResults)
			case "503":
				return nil, 0, fmt.Errorf("reading %s: %w", stream, nats.ErrNoResponders)
			default:
				return nil, 0, fmt.Errorf("reading %s: the server answered %s %s", stream, st, m.Header.Get("Description"))
			}
		}
		seq, err := strconv.ParseUint(m.Header.Get("Nats-Sequence"), 10, 64)
		if err != nil {
			return nil, 0, fmt.Errorf("reading %s: a direct get answer without a sequence: %w", stream, err)
		}
		ts, err := time.Parse(time.RFC3339Nano, m.Header.Get("Nats-Time-Stamp"))
		if err != nil {
			return nil, 0, fmt.Errorf("reading %s: a direct get answer without a time: %w", stream, err)
		}
		out = append(out, directMsg{Subject: m.Header.Get("Nats-Subject"), Seq: seq, Time: ts, Data: m.Data})
		if !batch {
			return out, 0, nil
		}
	}
}

// lastOf returns the last message stored on each of subjs (literal subjects), by subject,
// in requests of multiLastMax subjects.
func (c *Client) lastOf(ctx context.Context, stream string, subjs []string) (map[string]directMsg, error) {
	out := make(map[string]directMsg, len(subjs))
	for len(subjs) > 0 {
		n := min(len(subjs), multiLastMax)
		msgs, _, err := c.directGet(ctx, stream, directReq{MultiLast: subjs[:n], Batch: n})
		if err != nil {
			return nil, err
		}
		for _, m := range msgs {
			out[m.Subject] = m
		}
		subjs = subjs[n:]
	}
	return out, nil
}
