package bus

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/tmux-orc/tmux-orc/subjects"
)

// Delivery is a message handed to a consumer. It must be settled with the server: Done
// (outcome known) or Term (unusable); until then it is redelivered after AckWait unless
// InProgress is called in time. These are JetStream's acknowledgements of a consumed
// message; a person's acknowledgement of a message is another thing (Client.Ack, AckRecord).
type Delivery struct {
	Envelope *subjects.Envelope
	Stored   time.Time
	// Redelivered is true when the server delivered this message before.
	Redelivered bool
	// Session is the session its subject names (decoded), "" for a group everywhere.
	Session string
	msg     jetstream.Msg
}

// Done tells the server the message is done with (JetStream's ack; a person's
// acknowledgement is Client.Ack), without waiting for it to confirm: the ack goes out with
// the connection's next flush (and on Close), so a consumer settles one message after
// another at the speed of its callback instead of one round trip each (with a confirmed
// ack, normal priority backed up under load: loadtest --broker-only). An ack that is lost
// (the connection broke before it reached the server) makes the server redeliver the
// message after AckWait; use Done where a redelivery is harmless (the bridge's claims and
// recorded outcomes skip a message already typed), else DoneSync. ctx is unused; it stays
// in the signature so that callers can switch between the two.
func (d *Delivery) Done(ctx context.Context) error { return d.msg.Ack() }

// DoneSync tells the server the message is done with and waits for it to confirm.
func (d *Delivery) DoneSync(ctx context.Context) error { return d.msg.DoubleAck(ctx) }

// InProgress resets the server's ack timer.
func (d *Delivery) InProgress() error { return d.msg.InProgress() }

// Nak tells the server to redeliver the message now (to whoever consumes it next) instead
// of after AckWait: for a message given up without an outcome.
func (d *Delivery) Nak() error { return d.msg.Nak() }

// Term tells the server never to redeliver the message.
func (d *Delivery) Term() error { return d.msg.Term() }

// AckWait is how long a consumed message may stay unsettled (no Done, Nak or Term) before
// the server redelivers it (unless InProgress is called); JetStream's name for it.
const AckWait = 10 * time.Second

// HostDurable is the durable name of host's bridge consumers of its sessions, one per
// priority stream (the same name in each): bridge-<host>-sessions. It cannot be the name of
// another host's consumer: EverywhereDurable names end in "-groups", and the per-session
// names of older versions in 16 hexadecimal digits.
func HostDurable(host string) string { return "bridge-" + host + "-sessions" }

// EverywhereDurable is the durable name of host's bridge consumers of the messages for
// groups everywhere.
func EverywhereDurable(host string) string { return "bridge-" + host + "-groups" }

// legacySessionDurable is the durable name older versions gave host's bridge consumers of
// one session (one per priority stream): bridge-<host>-<hash of the session name>.
func legacySessionDurable(host, session string) string {
	sum := sha256.Sum256([]byte(session))
	return "bridge-" + host + "-" + hex.EncodeToString(sum[:8])
}

// BridgeMaxAckPending is how many messages one bridge consumer (a host's, or its groups
// everywhere's, at one priority) hands out before the earlier ones are settled. A bridge
// keeps the messages waiting for a pane that does not exist yet below it (see
// bridge.Config.MaxWaiting), so that they never hold up the messages for present panes.
var BridgeMaxAckPending = 10000

// ConsumeHost consumes the messages for every session of host at every priority (the
// sessions, their windows and the groups in them) with durable consumers, one per priority
// stream, named HostDurable(host), each with the single filter subjects.HostSubjects (which
// permissions can match, see package embedded), so a restarted bridge resumes where it
// stopped. Their number does not grow with the sessions: a message for a session that does
// not exist (yet) is delivered all the same, and the bridge keeps it until its pane appears.
// A new consumer starts at since. handle is called for each message (Delivery.Session tells
// which session); lost, if not nil, after a consumer had vanished or been changed and was set
// right. Stop with the returned func, which returns once no more messages can arrive.
func (c *Client) ConsumeHost(ctx context.Context, host string, since time.Time, handle func(*Delivery), lost func(subjects.Priority)) (stop func(), err error) {
	if err := subjects.ValidateHost(host); err != nil {
		return nil, err
	}
	return c.consume(ctx, HostDurable(host), "tmux-orc bridge of host "+host+" for its sessions",
		func(p subjects.Priority) string { return subjects.HostSubjects(p, host) }, since, handle, lost)
}

// ConsumeEverywhere consumes, for host's bridge, the messages for groups everywhere (every
// host, every session) at every priority, with one durable consumer per priority stream.
// They are not a second filter of the host's consumers: a consumer with two filters is
// created through an API subject without them, which a bridge's permissions cannot allow
// without letting it consume every host's messages.
func (c *Client) ConsumeEverywhere(ctx context.Context, host string, since time.Time, handle func(*Delivery), lost func(subjects.Priority)) (stop func(), err error) {
	if err := subjects.ValidateHost(host); err != nil {
		return nil, err
	}
	return c.consume(ctx, EverywhereDurable(host), "tmux-orc bridge of host "+host+" for groups everywhere",
		subjects.EverywhereSubjects, since, handle, lost)
}

// RemoveSessionConsumers deletes the per-session bridge consumers of host that older
// versions created (bridge-<host>-<hash>, one per session and priority): only a consumer
// whose name and single filter are exactly those of one of host's sessions is deleted. It
// returns how many were deleted. With a bridge role's credentials, which may neither list
// nor delete consumers, it fails (the server refuses without an answer: a timeout); such
// consumers then expire after 7 days unused (their inactive threshold).
func (c *Client) RemoveSessionConsumers(ctx context.Context, host string) (int, error) {
	if err := subjects.ValidateHost(host); err != nil {
		return 0, err
	}
	n := 0
	for _, p := range subjects.Priorities {
		st, err := c.js.Stream(ctx, p.Stream())
		if err != nil {
			return n, fmt.Errorf("opening stream %s: %w", p.Stream(), err)
		}
		prefix := subjects.Root + "." + p.String() + "." + host + "."
		var old []string
		l := st.ListConsumers(ctx)
		for info := range l.Info() {
			f := info.Config.FilterSubject
			tok, ok := strings.CutPrefix(f, prefix)
			if !ok || len(info.Config.FilterSubjects) > 0 {
				continue
			}
			tok, ok = strings.CutSuffix(tok, ".>")
			if !ok || strings.ContainsAny(tok, ".*>") {
				continue
			}
			session, err := subjects.DecodeToken(tok)
			if err != nil || info.Name != legacySessionDurable(host, session) || f != subjects.SessionSubjects(p, host, session) {
				continue
			}
			old = append(old, info.Name)
		}
		if err := l.Err(); err != nil {
			return n, fmt.Errorf("listing the consumers of %s: %w", p.Stream(), err)
		}
		for _, name := range old {
			if err := st.DeleteConsumer(ctx, name); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
				return n, fmt.Errorf("deleting consumer %s of %s: %w", name, p.Stream(), err)
			}
			n++
		}
	}
	return n, nil
}

// DefaultConsumerCheckEvery is how often a durable bridge consumer's settings are compared
// with the bridge's own: NATS lets anyone allowed to create consumers update one whose name
// they know (its filter, its limits; pausing needs the pause API, which only admins have),
// and such a change is undone.
const DefaultConsumerCheckEvery = 30 * time.Second

var consumerCheckEvery atomic.Int64

func init() { consumerCheckEvery.Store(int64(DefaultConsumerCheckEvery)) }

// SetConsumerCheckEvery changes the period of that check for consumers started from now on
// (tests shorten it), and returns a func that restores the previous one. Safe to call while
// other consumers run.
func SetConsumerCheckEvery(d time.Duration) (restore func()) {
	old := consumerCheckEvery.Swap(int64(d))
	return func() { consumerCheckEvery.Store(old) }
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
	return c.consumeFilters(ctx, "notify-"+host, "tmux-orc notifier of host "+host, nil, ps,
		func(p subjects.Priority) []string {
			return []string{subjects.Root + "." + p.String() + "." + host + ".>", subjects.EverywhereSubjects(p)}
		}, time.Now(), handle)
}

func (c *Client) consume(ctx context.Context, durable, desc string, filter func(subjects.Priority) string, since time.Time, handle func(*Delivery), lost func(subjects.Priority)) (stop func(), err error) {
	return c.consumeFilters(ctx, durable, desc, lost, subjects.Priorities,
		func(p subjects.Priority) []string { return []string{filter(p)} }, since, handle)
}

// consumeFilters starts one durable consumer per priority of priorities; lost, if not nil,
// is told when one was lost or changed and set right (a bridge's are reported).
func (c *Client) consumeFilters(ctx context.Context, durable, desc string, lost func(subjects.Priority), priorities []subjects.Priority, filters func(subjects.Priority) []string, since time.Time, handle func(*Delivery)) (stop func(), err error) {
	var stops []func()
	stopAll := func() {
		for _, s := range stops {
			s()
		}
	}
	for _, p := range priorities {
		dc := &durableConsumer{c: c, durable: durable, desc: desc, onLost: lost, p: p, filters: filters(p), since: since, handle: handle,
			lost: make(chan error, 1), done: make(chan struct{})}
		if err := dc.start(ctx); err != nil {
			stopAll()
			return nil, err
		}
		go dc.watch()
		stops = append(stops, dc.stop)
	}
	return stopAll, nil
}

// durableConsumer is one bridge consumer of one priority stream. When the consumer vanishes
// (ErrConsumerDeleted, or missed heartbeats and the server no longer knows it) it is created
// again from the newest message it handled, and the loss is reported: a deleted consumer
// must never stop delivery silently.
type durableConsumer struct {
	c             *Client
	durable, desc string
	filters       []string // one goes in FilterSubject, where a bridge's permissions can match it
	onLost        func(subjects.Priority)
	p             subjects.Priority
	since         time.Time
	handle        func(*Delivery)
	lost          chan error
	done          chan struct{}

	mu       sync.Mutex
	cc       jetstream.ConsumeContext
	newest   time.Time // the stored time of the newest message handled
	stopped  bool
	stopOnce sync.Once
}

func (d *durableConsumer) config() jetstream.ConsumerConfig {
	d.mu.Lock()
	start := d.since
	if d.newest.After(start) {
		start = d.newest
	}
	d.mu.Unlock()
	cfg := jetstream.ConsumerConfig{
		Durable:           d.durable,
		Description:       d.desc,
		AckPolicy:         jetstream.AckExplicitPolicy,
		AckWait:           AckWait,
		MaxDeliver:        -1,
		MaxAckPending:     BridgeMaxAckPending,
		DeliverPolicy:     jetstream.DeliverByStartTimePolicy,
		OptStartTime:      &start,
		InactiveThreshold: 7 * 24 * time.Hour,
	}
	// One filter goes in FilterSubject, which the server puts in the create API subject,
	// where a bridge's permissions can match it.
	if len(d.filters) == 1 {
		cfg.FilterSubject = d.filters[0]
	} else {
		cfg.FilterSubjects = d.filters
	}
	return cfg
}

func (d *durableConsumer) start(ctx context.Context) error {
	st, err := d.c.js.Stream(ctx, d.p.Stream())
	if err != nil {
		return fmt.Errorf("opening stream %s: %w", d.p.Stream(), err)
	}
	cons, err := st.Consumer(ctx, d.durable)
	if err != nil {
		cons, err = st.CreateOrUpdateConsumer(ctx, d.config())
		if err != nil {
			return fmt.Errorf("%s at %s: %w", d.desc, d.p, err)
		}
	}
	cc, err := cons.Consume(func(m jetstream.Msg) {
		meta, err := m.Metadata()
		if err != nil {
			return
		}
		env, err := subjects.Decode(m.Data())
		if err != nil {
			d.c.log.Warn("dropping a message that is not a tmux-orc envelope")
			_ = m.Term()
			return
		}
		d.mu.Lock()
		if meta.Timestamp.After(d.newest) {
			d.newest = meta.Timestamp
		}
		d.mu.Unlock()
		d.handle(&Delivery{Envelope: env, Stored: meta.Timestamp, Redelivered: meta.NumDelivered > 1, Session: subjectSession(m.Subject()), msg: m})
	}, jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
		if errors.Is(err, jetstream.ErrConsumerDeleted) || errors.Is(err, jetstream.ErrConsumerNotFound) || errors.Is(err, jetstream.ErrNoHeartbeat) {
			select {
			case d.lost <- err:
			default:
			}
		}
	}))
	if err != nil {
		return fmt.Errorf("%s at %s: %w", d.desc, d.p, err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stopped {
		cc.Stop()
		return nil
	}
	d.cc = cc
	return nil
}

// watch re-creates the consumer when it is lost, and sets its settings back when someone
// changed them.
func (d *durableConsumer) watch() {
	check := time.NewTicker(time.Duration(consumerCheckEvery.Load()))
	defer check.Stop()
	for {
		select {
		case <-d.done:
			return
		case <-check.C:
			d.restoreSettings()
		case err := <-d.lost:
			if !d.vanished(err) {
				continue
			}
			d.mu.Lock()
			old := d.cc
			d.mu.Unlock()
			if old != nil {
				old.Stop()
			}
			for {
				ctx, cancel := context.WithTimeout(context.Background(), d.c.timeout)
				err := d.start(ctx)
				cancel()
				if err == nil {
					break
				}
				d.c.log.Warn("re-creating a lost bridge consumer failed; retrying", zap.String("consumer", d.durable), zap.Error(err))
				select {
				case <-d.done:
					return
				case <-time.After(time.Second):
				}
			}
			d.c.log.Error("a bridge consumer had vanished (deleted?) and was created again; messages stored meanwhile are delivered now",
				zap.String("consumer", d.durable), zap.String("stream", d.p.Stream()), zap.Error(err))
			if d.onLost != nil {
				d.onLost(d.p)
			}
		}
	}
}

// restoreSettings compares the consumer's settings with the bridge's and updates it back
// when someone changed what it delivers.
func (d *durableConsumer) restoreSettings() {
	ctx, cancel := context.WithTimeout(context.Background(), d.c.timeout)
	defer cancel()
	st, err := d.c.js.Stream(ctx, d.p.Stream())
	if err != nil {
		return
	}
	cons, err := st.Consumer(ctx, d.durable)
	if err != nil {
		if errors.Is(err, jetstream.ErrConsumerNotFound) {
			select {
			case d.lost <- jetstream.ErrConsumerNotFound:
			default:
			}
		}
		return
	}
	info := cons.CachedInfo()
	want := d.config()
	got := info.Config
	if got.FilterSubject == want.FilterSubject && slices.Equal(got.FilterSubjects, want.FilterSubjects) &&
		got.AckWait == want.AckWait && got.MaxAckPending == want.MaxAckPending && got.MaxDeliver == want.MaxDeliver &&
		got.InactiveThreshold == want.InactiveThreshold {
		return
	}
	// What an update may not change (the start, the ack policy) stays as it is.
	fixed := got
	fixed.FilterSubject, fixed.FilterSubjects = want.FilterSubject, want.FilterSubjects
	fixed.AckWait, fixed.MaxAckPending, fixed.MaxDeliver, fixed.InactiveThreshold = want.AckWait, want.MaxAckPending, want.MaxDeliver, want.InactiveThreshold
	fixed.Description = want.Description
	if _, err := st.UpdateConsumer(ctx, fixed); err != nil {
		d.c.log.Warn("setting a changed bridge consumer back failed", zap.String("consumer", d.durable), zap.Error(err))
		return
	}
	d.c.log.Error("a bridge consumer had been changed (filtered differently, or its limits) by someone else; its settings are set back",
		zap.String("consumer", d.durable), zap.String("stream", d.p.Stream()), zap.String("filter_was", got.FilterSubject))
	if d.onLost != nil {
		d.onLost(d.p)
	}
}

// vanished tells whether the server no longer has the consumer.
func (d *durableConsumer) vanished(err error) bool {
	if errors.Is(err, jetstream.ErrConsumerDeleted) || errors.Is(err, jetstream.ErrConsumerNotFound) {
		return true
	}
	ctx, cancel := context.WithTimeout(context.Background(), d.c.timeout)
	defer cancel()
	st, serr := d.c.js.Stream(ctx, d.p.Stream())
	if serr != nil {
		return false
	}
	_, cerr := st.Consumer(ctx, d.durable)
	return errors.Is(cerr, jetstream.ErrConsumerNotFound)
}

// subjectSession is the session token of a message subject (orc.<p>.<host>.<session>...),
// decoded; "" for a group everywhere ("~") or a subject it cannot read.
func subjectSession(subject string) string {
	t := strings.SplitN(subject, ".", 5)
	if len(t) < 5 || t[3] == subjects.Any {
		return ""
	}
	s, err := subjects.DecodeToken(t[3])
	if err != nil {
		return ""
	}
	return s
}

func (d *durableConsumer) stop() {
	d.stopOnce.Do(func() {
		close(d.done)
		d.mu.Lock()
		d.stopped = true
		cc := d.cc
		d.mu.Unlock()
		if cc == nil {
			return
		}
		// Stop is asynchronous; wait until the subscription is gone, so that messages
		// the caller gives back (Nak) right after are not redelivered to it (and lost
		// until AckWait) but to the next consumer.
		cc.Stop()
		select {
		case <-cc.Closed():
		case <-time.After(5 * time.Second):
		}
	})
}
