package bus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/tmux-orc/tmux-orc/subjects"
)

// Stored says where a published message was stored.
type Stored struct {
	ID       string `json:"id"`
	Subject  string `json:"subject"`
	Stream   string `json:"stream"`
	Sequence uint64 `json:"seq"`
	// Duplicate is true when a message with the same id was already stored (a retried
	// publish): it is stored once.
	Duplicate bool `json:"duplicate"`
}

// PublishWithin bounds how long Publish keeps retrying a publish the cluster cannot take
// yet (a leader election after a node died takes up to about 10 s; a reconnection to
// another node a fraction of a second). Documented in the README.
const PublishWithin = 30 * time.Second

// publishAttempt bounds one attempt: a request sent to a leader that just died gets no
// answer, and the next attempt goes to the new one.
const publishAttempt = 2 * time.Second

// Publish validates env (once, here, where it enters the bus: subjects.Envelope.Validate)
// and returns once the server has stored it (the JetStream acknowledgement). The id is the Nats-Msg-Id, so a retried publish is stored once.
// A publish that gets no answer (no responders, a leader election, a reconnection to
// another node) is retried with the same id until PublishWithin or the end of ctx.
//
// A target that names a session but no host gets one first (see ResolveHost), written into
// env.Target.Host; a session on several hosts is refused with an *AmbiguousError.
func (c *Client) Publish(ctx context.Context, env *subjects.Envelope) (Stored, error) {
	if err := env.Validate(); err != nil {
		return Stored{}, err
	}
	if env.Target.Host == "" && !env.Target.Everywhere() {
		if err := c.ResolveHost(ctx, &env.Target); err != nil {
			return Stored{}, err
		}
	}
	data, err := env.Marshal()
	if err != nil {
		return Stored{}, err
	}
	subj, err := env.Subject()
	if err != nil {
		return Stored{}, err
	}
	ack, attempts, err := c.store(ctx, subj, data, jetstream.WithMsgID(env.ID),
		jetstream.WithExpectStream(env.Message.Priority.Stream()))
	if err != nil {
		if retryable(err) {
			return Stored{}, fmt.Errorf("%w: message %s got no acknowledgement after %d attempts (a leader election taking long, or the node this client reaches is cut off from the majority); publishing it again with the same id (--id %s) stores it at most once: %w",
				ErrNotStored, env.ID, attempts, env.ID, err)
		}
		if errors.Is(err, ErrStoreFault) {
			return Stored{}, fmt.Errorf("%w: message %s: %w", ErrNotStored, env.ID, err)
		}
		return Stored{}, fmt.Errorf("storing message %s (%d attempts): %w", env.ID, attempts, err)
	}
	return Stored{ID: env.ID, Subject: subj, Stream: ack.Stream, Sequence: ack.Sequence, Duplicate: ack.Duplicate}, nil
}

// store publishes to a stream and waits for the acknowledgement, retrying what gets no
// answer until PublishWithin (or the end of ctx, if it has a deadline). Every retry sends
// the same message, so the caller's message id (or expected sequence) makes it idempotent.
func (c *Client) store(ctx context.Context, subj string, data []byte, opts ...jetstream.PublishOpt) (*jetstream.PubAck, int, error) {
	return c.storeMsg(ctx, &nats.Msg{Subject: subj, Data: data}, opts...)
}

// storeMsg is store for a message that may have headers.
func (c *Client) storeMsg(ctx context.Context, m *nats.Msg, opts ...jetstream.PublishOpt) (*jetstream.PubAck, int, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, PublishWithin)
		defer cancel()
	}
	wait := 50 * time.Millisecond
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, min(publishAttempt, c.timeout))
		// A fresh message each attempt, as a plain publish makes one: PublishMsg writes its
		// options into the headers.
		try := &nats.Msg{Subject: m.Subject, Data: m.Data}
		if m.Header != nil {
			try.Header = nats.Header{}
			for k, v := range m.Header {
				try.Header[k] = append([]string(nil), v...)
			}
		}
		ack, err := c.js.PublishMsg(actx, try, opts...)
		cancel()
		if err == nil {
			if attempt > 1 {
				c.log.Info("stored after retrying", zap.String("subject", m.Subject), zap.Int("attempts", attempt))
			}
			return ack, attempt, nil
		}
		if !retryable(err) || ctx.Err() != nil {
			return nil, attempt, err
		}
		// No answer: a leader election, or a daemon that cannot write its store (a full
		// disk), which the daemon's status says at once.
		if fault := c.storeFault(ctx); fault != "" {
			return nil, attempt, fmt.Errorf("%w: %s", ErrStoreFault, fault)
		}
		c.log.Debug("publish not answered; retrying", zap.String("subject", m.Subject), zap.Error(err))
		select {
		case <-ctx.Done():
			return nil, attempt, err
		case <-time.After(wait):
		}
		wait = min(2*wait, 500*time.Millisecond)
	}
}

// ErrStoreFault is returned when the daemon cannot store anything (its disk is full).
var ErrStoreFault = errors.New("the daemon cannot write its store")

// storeFault asks the daemon whether something keeps its store from storing messages.
func (c *Client) storeFault(ctx context.Context) string {
	sctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	st, err := c.status(sctx, subjects.StatusRequest{})
	if err != nil {
		return ""
	}
	return st.StoreError
}

// jsErrDuplicateInProcess is the server's "duplicate message id is in process".
const jsErrDuplicateInProcess jetstream.ErrorCode = 10158

// retryable reports whether a publish error means "not stored yet, try again": no answer
// (no responders, a timeout, a connection being re-established) or a cluster that is
// electing a leader. A full stream, a bad message or closed connection are final.
func retryable(err error) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		// 10158: an earlier attempt with the same message id is still being agreed on
		// (an election); once it is settled the retry is stored or reported a duplicate.
		return apiErr.Code == 503 || apiErr.Code == 504 || apiErr.ErrorCode == jsErrDuplicateInProcess
	}
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrNoStreamResponse) ||
		errors.Is(err, nats.ErrConnectionReconnecting)
}

// retry runs a request that the cluster may leave unanswered for a while (an election),
// each attempt with its own short bound, until it succeeds, fails for good, or
// PublishWithin (or ctx's deadline) passes.
func (c *Client) retry(ctx context.Context, fn func(ctx context.Context) error) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, PublishWithin)
		defer cancel()
	}
	wait := 50 * time.Millisecond
	for {
		actx, cancel := context.WithTimeout(ctx, min(publishAttempt, c.timeout))
		err := fn(actx)
		cancel()
		if err == nil || !retryable(err) || ctx.Err() != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		wait = min(2*wait, 500*time.Millisecond)
	}
}
