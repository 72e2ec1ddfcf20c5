package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tmux-orc/tmux-orc/subjects"
)

// AckRecord says who acknowledged a message (a person or agent, `tmux-orc ack`), when, and
// why. It is stored in subjects.AckStream; JetStream's ack of a consumed message is
// Delivery.Done, not this.
type AckRecord struct {
	ID       string            `json:"id"`
	Priority subjects.Priority `json:"priority"`
	By       string            `json:"acked_by"`
	At       time.Time         `json:"acked_at"`
	Note     string            `json:"note,omitempty"`
	// Via is the message whose acknowledgement this one follows from: the alert or
	// escalation of the same correlation chain that was acknowledged ("" when this message
	// was acknowledged itself).
	Via string `json:"via,omitempty"`
}

// Get returns the stored message with the given id.
func (c *Client) Get(ctx context.Context, id string) (Record, error) {
	if err := subjects.ValidateID(id); err != nil {
		return Record{}, err
	}
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	for _, p := range subjects.Priorities {
		st, err := c.js.Stream(ctx, p.Stream())
		if err != nil {
			return Record{}, fmt.Errorf("opening stream %s: %w", p.Stream(), err)
		}
		m, err := st.GetLastMsgForSubject(ctx, subjects.MessageSubjectAny(p, id))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			return Record{}, fmt.Errorf("looking up %s: %w", id, err)
		}
		env, err := subjects.Decode(m.Data)
		if err != nil {
			return Record{}, fmt.Errorf("message %s is stored but unreadable: %w", id, err)
		}
		r := Record{Envelope: env, Stream: p.Stream(), Seq: m.Sequence, Subject: m.Subject, Stored: m.Time}
		if r.Ack, err = c.ackOf(ctx, p, id); err != nil {
			return Record{}, err
		}
		if r.Receipts, err = c.Receipts(ctx, p, id); err != nil {
			return Record{}, err
		}
		return r, nil
	}
	return Record{}, fmt.Errorf("%w: %s", ErrNotFound, id)
}

// Ack records that by (a person or agent) has acknowledged message id, with an optional
// note: they saw it and took it on (`tmux-orc ack`). Acknowledging a
// message twice is harmless: the first acknowledgement stands and is returned with
// already = true.
//
// An alert and its escalations form one correlation chain (an escalation's correlation id
// is the alert's id): acknowledging any of them acknowledges the others that require an
// acknowledgement, with Via naming id.
func (c *Client) Ack(ctx context.Context, id, by, note string) (rec AckRecord, already bool, err error) {
	if err := subjects.ValidateAck(by, note); err != nil {
		return AckRecord{}, false, err
	}
	r, err := c.Get(ctx, id)
	if err != nil {
		return AckRecord{}, false, err
	}
	if r.Ack != nil {
		rec, already = *r.Ack, true
	} else {
		rec = AckRecord{ID: id, Priority: r.Message.Priority, By: by, At: time.Now().UTC(), Note: note}
		if err := c.storeAck(ctx, rec); err != nil {
			return AckRecord{}, false, err
		}
	}
	if err := c.ackChain(ctx, r, by, note); err != nil {
		return rec, already, err
	}
	return rec, already, nil
}

func (c *Client) storeAck(ctx context.Context, rec AckRecord) error {
	data, _ := json.Marshal(rec)
	// The message id de-duplicates concurrent acknowledgements within the duplicate window.
	if _, _, err := c.store(ctx, subjects.AckSubject(rec.Priority, rec.ID), data,
		jetstream.WithMsgID("ack-"+rec.ID), jetstream.WithExpectStream(subjects.AckStream)); err != nil {
		return fmt.Errorf("storing acknowledgement of %s: %w", rec.ID, err)
	}
	return nil
}

// maxChain bounds how far an acknowledgement follows correlation ids.
const maxChain = 8

// ackChain acknowledges the rest of r's correlation chain: the messages it correlates to
// (upwards) and those correlated to any of them (escalations), that require an
// acknowledgement and have none.
func (c *Client) ackChain(ctx context.Context, r Record, by, note string) error {
	chain := []Record{r}
	seen := map[string]bool{r.ID: true}
	for up := r; up.Metadata.CorrelationID != "" && len(chain) < maxChain; {
		next, err := c.Get(ctx, up.Metadata.CorrelationID)
		if errors.Is(err, ErrNotFound) || errors.Is(err, subjects.ErrID) {
			break // a correlation id that names no stored message (e.g. "session-123")
		}
		if err != nil {
			return err
		}
		if seen[next.ID] {
			break
		}
		seen[next.ID] = true
		chain = append(chain, next)
		up = next
	}
	for i := 0; i < len(chain) && len(chain) < maxChain; i++ {
		down, err := c.Query(ctx, Query{Address: chain[i].Target, Since: chain[i].Stored, CorrelationID: chain[i].ID})
		if err != nil {
			return fmt.Errorf("finding the escalations of %s: %w", chain[i].ID, err)
		}
		for _, d := range down {
			if !seen[d.ID] {
				seen[d.ID] = true
				chain = append(chain, d)
			}
		}
	}
	for _, m := range chain[1:] {
		if m.Ack != nil || !m.Metadata.RequiresAck {
			continue
		}
		a := AckRecord{ID: m.ID, Priority: m.Message.Priority, By: by, At: time.Now().UTC(), Note: note, Via: r.ID}
		if err := c.storeAck(ctx, a); err != nil {
			return err
		}
	}
	return nil
}

// AckOf returns the acknowledgement of message id of priority p, nil when there is none.
// It reads only the acknowledgement stream (what a bridge host's credentials allow).
func (c *Client) AckOf(ctx context.Context, p subjects.Priority, id string) (a *AckRecord, err error) {
	err = c.retry(ctx, func(ctx context.Context) error {
		a, err = c.ackOf(ctx, p, id)
		return err
	})
	return a, err
}

func (c *Client) ackOf(ctx context.Context, p subjects.Priority, id string) (*AckRecord, error) {
	st, err := c.js.Stream(ctx, subjects.AckStream)
	if err != nil {
		return nil, fmt.Errorf("opening stream %s: %w", subjects.AckStream, err)
	}
	m, err := st.GetLastMsgForSubject(ctx, subjects.AckSubject(p, id))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading acknowledgement of %s: %w", id, err)
	}
	var a AckRecord
	if err := json.Unmarshal(m.Data, &a); err != nil {
		return nil, fmt.Errorf("acknowledgement of %s is unreadable: %w", id, err)
	}
	return &a, nil
}

// attachAcks fills in the acknowledgement of each record, reading the acknowledgements of
// up to multiLastMax records with one request.
func (c *Client) attachAcks(ctx context.Context, recs []Record) error {
	if len(recs) == 0 {
		return nil
	}
	subjs := make([]string, len(recs))
	for i, r := range recs {
		subjs[i] = subjects.AckSubject(r.Message.Priority, r.ID)
	}
	acks, err := c.lastOf(ctx, subjects.AckStream, subjs)
	if err != nil {
		return fmt.Errorf("reading acknowledgements: %w", err)
	}
	for i := range recs {
		m, ok := acks[subjs[i]]
		if !ok {
			continue
		}
		var a AckRecord
		if json.Unmarshal(m.Data, &a) == nil {
			recs[i].Ack = &a
		}
	}
	return nil
}
