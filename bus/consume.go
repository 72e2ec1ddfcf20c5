package bus

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tmux-orc/tmux-orc/subjects"
)

// Delivery is a message handed to a consumer. It must be settled with Ack (outcome known)
// or Term (unusable); until then it is redelivered after the ack wait unless InProgress is
// called in time.
type Delivery struct {
	Envelope *subjects.Envelope
	Stored   time.Time
	// Redelivered is true when the server delivered this message before.
	Redelivered bool
	msg         jetstream.Msg
}

// Ack tells the server the message is done with, and waits for it to confirm.
func (d *Delivery) Ack(ctx context.Context) error { return d.msg.DoubleAck(ctx) }

// InProgress resets the server's ack timer.
func (d *Delivery) InProgress() error { return d.msg.InProgress() }

// Nak tells the server to redeliver the message now (to whoever consumes it next) instead
// of after the ack wait: for a message given up without an outcome.
func (d *Delivery) Nak() error { return d.msg.Nak() }

// Term tells the server never to redeliver the message.
func (d *Delivery) Term() error { return d.msg.Term() }

// SessionFilters are the subjects a bridge consumes for one tmux session at priority p:
// messages for the session and its windows, for groups in the session, and for groups in
// every session.
func SessionFilters(p subjects.Priority, session string) []string {
	s := subjects.Address{Kind: subjects.KindSession, Session: session}
	return append(subjects.Filters(p, s), subjects.Filters(p, subjects.Address{Kind: subjects.KindGroup, Group: "*", Session: session})...)
}

// AckWait is how long a consumed message may stay unsettled before the server redelivers
// it (unless InProgress is called).
const AckWait = 10 * time.Second

// ConsumeSession consumes the messages of one tmux session at every priority with durable
// consumers (one per priority stream), so a restarted bridge resumes where it stopped. A new
// consumer starts at since. handle is called for each message; stop with the returned func,
// which returns once no more messages can arrive.
func (c *Client) ConsumeSession(ctx context.Context, session string, since time.Time, handle func(*Delivery)) (stop func(), err error) {
	sum := sha256.Sum256([]byte(session))
	durable := "bridge-" + hex.EncodeToString(sum[:8])
	var stops []func()
	stopAll := func() {
		for _, s := range stops {
			s()
		}
	}
	for _, p := range subjects.Priorities {
		st, err := c.js.Stream(ctx, p.Stream())
		if err != nil {
			stopAll()
			return nil, fmt.Errorf("opening stream %s: %w", p.Stream(), err)
		}
		cons, err := st.Consumer(ctx, durable)
		if err != nil {
			start := since
			cons, err = st.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
				Durable:           durable,
				Description:       "tmux-orc bridge for session " + session,
				FilterSubjects:    SessionFilters(p, session),
				AckPolicy:         jetstream.AckExplicitPolicy,
				AckWait:           AckWait,
				MaxDeliver:        -1,
				MaxAckPending:     10000,
				DeliverPolicy:     jetstream.DeliverByStartTimePolicy,
				OptStartTime:      &start,
				InactiveThreshold: 7 * 24 * time.Hour,
			})
			if err != nil {
				stopAll()
				return nil, fmt.Errorf("consuming session %q at %s: %w", session, p, err)
			}
		}
		cc, err := cons.Consume(func(m jetstream.Msg) {
			meta, err := m.Metadata()
			if err != nil {
				return
			}
			env, err := subjects.Decode(m.Data())
			if err != nil {
				c.log.Warn("dropping a message that is not a tmux-orc envelope")
				_ = m.Term()
				return
			}
			handle(&Delivery{Envelope: env, Stored: meta.Timestamp, Redelivered: meta.NumDelivered > 1, msg: m})
		})
		if err != nil {
			stopAll()
			return nil, fmt.Errorf("consuming session %q at %s: %w", session, p, err)
		}
		stops = append(stops, func() {
			// Stop is asynchronous; wait until the subscription is gone, so that messages
			// the caller gives back (Nak) right after are not redelivered to it (and lost
			// until the ack wait) but to the next consumer.
			cc.Stop()
			select {
			case <-cc.Closed():
			case <-time.After(5 * time.Second):
			}
		})
	}
	return stopAll, nil
}
