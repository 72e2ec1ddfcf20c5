package bus

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

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

// Publish validates env and returns once the server has stored it (the JetStream
// acknowledgement). The id is the Nats-Msg-Id, so a retried publish is stored once. A
// leader election or a restarting server ("no responders") is retried for up to 10 s.
//
// A target that names a session but no host gets one first (see ResolveHost), written into
// env.Target.Host; a session on several hosts is refused with an *AmbiguousError.
func (c *Client) Publish(ctx context.Context, env *subjects.Envelope) (Stored, error) {
	if env.Target.Host == "" && !env.Target.Everywhere() {
		if err := env.Validate(); err != nil {
			return Stored{}, err
		}
		if err := c.ResolveHost(ctx, &env.Target); err != nil {
			return Stored{}, err
		}
	}
	data, err := env.Encode()
	if err != nil {
		return Stored{}, err
	}
	subj, err := env.Subject()
	if err != nil {
		return Stored{}, err
	}
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	ack, err := c.js.Publish(ctx, subj, data, jetstream.WithMsgID(env.ID),
		jetstream.WithExpectStream(env.Message.Priority.Stream()),
		jetstream.WithRetryAttempts(40), jetstream.WithRetryWait(250*time.Millisecond))
	if err != nil {
		return Stored{}, fmt.Errorf("storing message %s: %w", env.ID, err)
	}
	return Stored{ID: env.ID, Subject: subj, Stream: ack.Stream, Sequence: ack.Sequence, Duplicate: ack.Duplicate}, nil
}
