package bus

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/tmux-orc/tmux-orc/subjects"
)

// JetStream message-schedule headers (nats-server 2.12+).
const (
	hdrSchedule       = "Nats-Schedule"
	hdrScheduleTarget = "Nats-Schedule-Target"
)

// Scheduled is one waiting occurrence of a scheduled message.
type Scheduled struct {
	// Schedule is the schedule's id (what schedule rm takes); ID the message id the
	// occurrence will have, "<schedule>-<n>".
	Schedule   string             `json:"schedule"`
	Occurrence int                `json:"occurrence"`
	ID         string             `json:"id"`
	Due        time.Time          `json:"due"`
	Envelope   *subjects.Envelope `json:"message"`
}

// ErrNoSchedule is returned for a schedule id with no waiting occurrence.
var ErrNoSchedule = errors.New("no waiting schedule with that id")

// Schedule stores env to be published at each of the times (at most
// subjects.MaxOccurrences), as JetStream message schedules in subjects.ScheduleStream:
// they survive restarts and, replicated, the loss of a node. Occurrence n (from 1) gets the
// message id "<sid>-<n>" and the time it is due as its timestamp. A target without a host
// is resolved now, as Publish does. It returns the schedule id.
func (c *Client) Schedule(ctx context.Context, env *subjects.Envelope, times []time.Time) (string, error) {
	if len(times) == 0 || len(times) > subjects.MaxOccurrences {
		return "", fmt.Errorf("%w: %d occurrences; want 1 to %d", subjects.ErrEnvelope, len(times), subjects.MaxOccurrences)
	}
	if err := env.Validate(); err != nil { // once, where the message enters the bus
		return "", err
	}
	if env.Target.Host == "" && !env.Target.Everywhere() {
		if err := c.ResolveHost(ctx, &env.Target); err != nil {
			return "", err
		}
	}
	sid := env.ID
	for i, at := range times {
		n := i + 1
		occ := *env
		occ.ID, occ.Timestamp = subjects.OccurrenceID(sid, n), at.UTC()
		if err := subjects.ValidateID(occ.ID); err != nil { // the one field made here
			return "", err
		}
		data, err := occ.Marshal()
		if err != nil {
			return "", err
		}
		m := nats.NewMsg(subjects.ScheduleSubject(sid, n))
		m.Data = data
		m.Header.Set(hdrSchedule, "@at "+at.UTC().Format(time.RFC3339))
		m.Header.Set(hdrScheduleTarget, subjects.DueSubject(sid, n))
		if _, _, err := c.storeMsg(ctx, m, jetstream.WithMsgID("sched-"+occ.ID), jetstream.WithExpectStream(subjects.ScheduleStream)); err != nil {
			return "", fmt.Errorf("scheduling occurrence %d of %s: %w", n, sid, err)
		}
	}
	return sid, nil
}

// Schedules lists the waiting occurrences, the soonest first. It reads through a consumer
// (served by the stream's leader), not direct gets, which a replica that lags may answer
// without what was just scheduled.
func (c *Client) Schedules(ctx context.Context) ([]Scheduled, error) {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	// Retried like a publish: in a cluster under load the API can go unanswered for a
	// moment ("no responders"; TestScheduleSurvivesFailover saw it once).
	var st jetstream.Stream
	var cons jetstream.Consumer
	err := c.retry(ctx, func(ctx context.Context) (err error) {
		if st == nil {
			if st, err = c.js.Stream(ctx, subjects.ScheduleStream); err != nil {
				return err
			}
		}
		cons, err = st.CreateConsumer(ctx, jetstream.ConsumerConfig{AckPolicy: jetstream.AckNonePolicy,
			FilterSubject: subjects.ScheduleSubjects(""), InactiveThreshold: 10 * time.Second, MemoryStorage: true})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("reading the schedules: %w", err)
	}
	defer func() {
		dctx, dcancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer dcancel()
		_ = st.DeleteConsumer(dctx, cons.CachedInfo().Name)
	}()
	var out []Scheduled
	for pending := cons.CachedInfo().NumPending; pending > 0; {
		batch, err := cons.Fetch(int(min(pending, 1000)), jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			return nil, fmt.Errorf("reading the schedules: %w", err)
		}
		n := 0
		for m := range batch.Messages() {
			n++
			if meta, err := m.Metadata(); err == nil {
				pending = meta.NumPending
			}
			sid, occ, err := subjects.ParseScheduleSubject(m.Subject())
			if err != nil {
				continue
			}
			env, err := subjects.Decode(m.Data())
			if err != nil {
				continue
			}
			due, err := time.Parse(time.RFC3339, strings.TrimPrefix(m.Headers().Get(hdrSchedule), "@at "))
			if err != nil {
				continue
			}
			out = append(out, Scheduled{Schedule: sid, Occurrence: occ, ID: env.ID, Due: due, Envelope: env})
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) {
			return nil, fmt.Errorf("reading the schedules: %w", err)
		}
		if n == 0 {
			break
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Due.Before(out[j].Due) })
	return out, nil
}

// CancelSchedule removes every waiting occurrence of schedule sid and returns how many.
func (c *Client) CancelSchedule(ctx context.Context, sid string) (int, error) {
	if err := subjects.ValidateID(sid); err != nil {
		return 0, err
	}
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	st, err := c.js.Stream(ctx, subjects.ScheduleStream)
	if err != nil {
		return 0, fmt.Errorf("opening stream %s: %w", subjects.ScheduleStream, err)
	}
	n, err := c.countMatching(ctx, st, subjects.ScheduleSubjects(sid))
	if err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, fmt.Errorf("%w: %s", ErrNoSchedule, sid)
	}
	if err := st.Purge(ctx, jetstream.WithPurgeSubject(subjects.ScheduleSubjects(sid))); err != nil {
		return 0, fmt.Errorf("cancelling schedule %s: %w", sid, err)
	}
	return int(n), nil
}

// ForwardDue moves every due occurrence from the schedule stream into its priority stream
// (Publish, with the occurrence's id, so a repeated move stores it once) and then deletes it,
// until ctx ends. Every daemon runs it on the same durable consumer: each occurrence is
// moved by one of them, and by another if that one dies.
func (c *Client) ForwardDue(ctx context.Context) error {
	st, err := c.js.Stream(ctx, subjects.ScheduleStream)
	if err != nil {
		return fmt.Errorf("opening stream %s: %w", subjects.ScheduleStream, err)
	}
	cons, err := st.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable:       "scheduler",
		Description:   "tmux-orc daemons: moves due scheduled messages to their priority streams",
		FilterSubject: subjects.DueSubjects,
		AckPolicy:     jetstream.AckExplicitPolicy,
		// Short: a due occurrence handed to a daemon that just died (its pull request was
		// still open on the consumer) is redelivered to another after this long. A live
		// forwarder extends it while it publishes (an election can take seconds).
		AckWait:    forwardAckWait,
		MaxDeliver: -1,
	})
	if err != nil {
		return fmt.Errorf("consuming due schedules: %w", err)
	}
	cc, err := cons.Consume(func(m jetstream.Msg) {
		meta, err := m.Metadata()
		if err != nil {
			return
		}
		env, err := subjects.Decode(m.Data())
		if err != nil {
			c.log.Warn("dropping a due schedule that is not a tmux-orc envelope", zap.String("subject", m.Subject()), zap.Error(err))
			_ = m.Term()
			return
		}
		stopProgress := make(chan struct{})
		go func() {
			tick := time.NewTicker(forwardAckWait / 3)
			defer tick.Stop()
			for {
				select {
				case <-stopProgress:
					return
				case <-tick.C:
					_ = m.InProgress()
				}
			}
		}()
		_, err = c.Publish(ctx, env)
		close(stopProgress)
		if err != nil {
			if retryable(err) || errors.Is(err, ErrNotStored) || ctx.Err() != nil {
				c.log.Warn("a due scheduled message could not be stored yet; retrying", zap.String("id", env.ID), zap.Error(err))
				_ = m.NakWithDelay(time.Second)
				return
			}
			c.log.Error("a due scheduled message cannot be published; dropped", zap.String("id", env.ID), zap.Error(err))
			_ = m.Term()
			return
		}
		c.log.Info("scheduled message published", zap.String("id", env.ID), zap.String("target", env.Target.String()),
			zap.Duration("late", time.Since(env.Timestamp)))
		if err := m.DoubleAck(ctx); err == nil {
			_ = st.DeleteMsg(ctx, meta.Sequence.Stream)
		}
	}, jetstream.PullExpiry(forwardAckWait), jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
		c.log.Debug("consuming due schedules", zap.Error(err))
	}))
	if err != nil {
		return fmt.Errorf("consuming due schedules: %w", err)
	}
	select {
	case <-ctx.Done():
		cc.Stop()
		return nil
	case <-cc.Closed():
		return errors.New("the consumer of due schedules stopped")
	}
}

// forwardAckWait bounds how late a due occurrence can be when the daemon it was handed to
// dies before moving it.
const forwardAckWait = 5 * time.Second
