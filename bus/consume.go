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

// AckWait is how long a consumed message may stay unsettled before the server redelivers
// it (unless InProgress is called).
const AckWait = 10 * time.Second

// SessionDurable is the durable name of host's bridge consumers of session (one per
// priority stream): bridge-<host>-<hash of the session name>.
func SessionDurable(host, session string) string {
	sum := sha256.Sum256([]byte(session))
	return "bridge-" + host + "-" + hex.EncodeToString(sum[:8])
}

// EverywhereDurable is the durable name of host's bridge consumers of the messages for
// groups everywhere.
func EverywhereDurable(host string) string { return "bridge-" + host + "-groups" }

// ConsumeSession consumes the messages of one tmux session of host at every priority (the
// session, its windows and the groups in it) with durable consumers, one per priority stream
// and each with the single filter subjects.SessionSubjects, so a restarted bridge resumes
// where it stopped. A new consumer starts at since. handle is called for each message; stop
// with the returned func, which returns once no more messages can arrive.
func (c *Client) ConsumeSession(ctx context.Context, host, session string, since time.Time, handle func(*Delivery)) (stop func(), err error) {
	if err := subjects.ValidateHost(host); err != nil {
		return nil, err
	}
	return c.consume(ctx, SessionDurable(host, session), "tmux-orc bridge of host "+host+" for session "+session,
		func(p subjects.Priority) string { return subjects.SessionSubjects(p, host, session) }, since, handle)
}

// ConsumeEverywhere consumes, for host's bridge, the messages for groups everywhere (every
// host, every session) at every priority, with one durable consumer per priority stream.
func (c *Client) ConsumeEverywhere(ctx context.Context, host string, since time.Time, handle func(*Delivery)) (stop func(), err error) {
	if err := subjects.ValidateHost(host); err != nil {
		return nil, err
	}
	return c.consume(ctx, EverywhereDurable(host), "tmux-orc bridge of host "+host+" for groups everywhere",
		subjects.EverywhereSubjects, since, handle)
}

// ConsumeAlerts consumes, for the notifier of host, the messages at or above priority min
// for host's sessions and for groups everywhere, with durable consumers notify-<host> (so
// alerts raised while the daemon was down are still seen). New consumers start now.
func (c *Client) ConsumeAlerts(ctx context.Context, host string, min subjects.Priority, handle func(*Delivery)) (stop func(), err error) {
	if err := subjects.ValidateHost(host); err != nil {
		return nil, err
	}
	var ps []subjects.Priority
	for _, p := range subjects.Priorities {
		if p <= min {
			ps = append(ps, p)
		}
	}
	return c.consumeFilters(ctx, "notify-"+host, "tmux-orc notifier of host "+host, ps,
		func(p subjects.Priority) []string {
			return []string{subjects.Root + "." + p.String() + "." + host + ".>", subjects.EverywhereSubjects(p)}
		}, time.Now(), handle)
}

func (c *Client) consume(ctx context.Context, durable, desc string, filter func(subjects.Priority) string, since time.Time, handle func(*Delivery)) (stop func(), err error) {
	return c.consumeFilters(ctx, durable, desc, subjects.Priorities,
		func(p subjects.Priority) []string { return []string{filter(p)} }, since, handle)
}

func (c *Client) consumeFilters(ctx context.Context, durable, desc string, priorities []subjects.Priority, filters func(subjects.Priority) []string, since time.Time, handle func(*Delivery)) (stop func(), err error) {
	var stops []func()
	stopAll := func() {
		for _, s := range stops {
			s()
		}
	}
	for _, p := range priorities {
		st, err := c.js.Stream(ctx, p.Stream())
		if err != nil {
			stopAll()
			return nil, fmt.Errorf("opening stream %s: %w", p.Stream(), err)
		}
		cons, err := st.Consumer(ctx, durable)
		if err != nil {
			start := since
			cfg := jetstream.ConsumerConfig{
				Durable:           durable,
				Description:       desc,
				AckPolicy:         jetstream.AckExplicitPolicy,
				AckWait:           AckWait,
				MaxDeliver:        -1,
				MaxAckPending:     10000,
				DeliverPolicy:     jetstream.DeliverByStartTimePolicy,
				OptStartTime:      &start,
				InactiveThreshold: 7 * 24 * time.Hour,
			}
			// One filter goes in FilterSubject, which the server puts in the create API
			// subject, where a bridge's permissions can match it.
			if fs := filters(p); len(fs) == 1 {
				cfg.FilterSubject = fs[0]
			} else {
				cfg.FilterSubjects = fs
			}
			cons, err = st.CreateOrUpdateConsumer(ctx, cfg)
			if err != nil {
				stopAll()
				return nil, fmt.Errorf("%s at %s: %w", desc, p, err)
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
			return nil, fmt.Errorf("%s at %s: %w", desc, p, err)
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
