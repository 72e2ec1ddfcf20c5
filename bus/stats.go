package bus

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tmux-orc/tmux-orc/subjects"
)

// PriorityStats are the figures for one priority.
type PriorityStats struct {
	Priority subjects.Priority `json:"priority"`
	Stream   string            `json:"stream"`
	// Published counts every message ever stored at this priority (the stream's last sequence).
	Published uint64 `json:"published"`
	// Stored is how many are in the store now.
	Stored uint64 `json:"stored"`
	Bytes  uint64 `json:"bytes"`
	// Acked counts the distinct acknowledged message ids.
	Acked uint64 `json:"acked"`
	// Pending is Stored - Acked: stored messages nobody has acknowledged yet.
	Pending uint64 `json:"pending"`
	// Limits of the stream.
	MaxMsgs  int64  `json:"max_msgs"`
	MaxBytes int64  `json:"max_bytes"`
	MaxAge   string `json:"max_age"`
	// WhenFull is "refuse new" (critical, high) or "evict oldest".
	WhenFull string `json:"when_full"`
	// Delivery outcomes recorded by bridges (per message and pane), all time.
	// Queued counts messages that had to wait for their pane to be ready (they also have a
	// final outcome once it is known); Received counts those the agent reported itself.
	Queued        uint64 `json:"queued"`
	Delivered     uint64 `json:"delivered"`
	Received      uint64 `json:"received"`
	Unconfirmed   uint64 `json:"unconfirmed"`
	Undeliverable uint64 `json:"undeliverable"`
	// Typed and Submitted are latencies from publish to the text typed into the pane and
	// to the Enter that submitted it, over deliveries in the last LatencyWindow.
	Typed     LatencyStats `json:"typed_latency"`
	Submitted LatencyStats `json:"submitted_latency"`
	// QueueDepth is what the bridges' consumers have not finished yet: messages not yet
	// handed to a bridge plus those a bridge holds (queued for a pane, waiting for its pane
	// to appear, being typed). -1 when the consumers could not be listed.
	QueueDepth int64 `json:"queue_depth"`
}

// LatencyWindow is how far back pubsub stats looks for delivery latencies.
const LatencyWindow = time.Hour

// maxLatencySamples bounds the receipts read for latencies per priority.
const maxLatencySamples = 20000

// Stats is what pubsub stats reports.
type Stats struct {
	Priorities []PriorityStats `json:"priorities"`
	AckStored  uint64          `json:"acks_stored"`
}

// Stats reads the per-priority figures from the streams.
func (c *Client) Stats(ctx context.Context) (Stats, error) {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	acks, err := c.js.Stream(ctx, subjects.AckStream)
	if err != nil {
		return Stats{}, fmt.Errorf("opening stream %s: %w", subjects.AckStream, err)
	}
	receipts, err := c.js.Stream(ctx, subjects.ReceiptStream)
	if err != nil {
		return Stats{}, fmt.Errorf("opening stream %s: %w", subjects.ReceiptStream, err)
	}
	out := Stats{AckStored: acks.CachedInfo().State.Msgs}
	for _, p := range subjects.Priorities {
		st, err := c.js.Stream(ctx, p.Stream())
		if err != nil {
			return Stats{}, fmt.Errorf("opening stream %s: %w", p.Stream(), err)
		}
		info := st.CachedInfo()
		ps := PriorityStats{Priority: p, Stream: p.Stream(), Published: info.State.LastSeq, Stored: info.State.Msgs,
			Bytes: info.State.Bytes, MaxMsgs: info.Config.MaxMsgs, MaxBytes: info.Config.MaxBytes,
			MaxAge: info.Config.MaxAge.String(), WhenFull: "evict oldest"}
		if info.Config.Discard == jetstream.DiscardNew {
			ps.WhenFull = "refuse new"
		}
		if ps.Acked, err = c.countMatching(ctx, acks, subjects.AckRoot+"."+p.String()+".>"); err != nil {
			return Stats{}, err
		}
		if ps.Stored > ps.Acked {
			ps.Pending = ps.Stored - ps.Acked
		}
		if err := c.deliveryStats(ctx, receipts, &ps); err != nil {
			return Stats{}, err
		}
		ps.QueueDepth = queueDepth(ctx, st)
		out.Priorities = append(out.Priorities, ps)
	}
	return out, nil
}

// BridgeConsumerPrefix starts the name of every durable consumer of a bridge.
const BridgeConsumerPrefix = "bridge-"

// queueDepth sums what the bridges' durable consumers of st have pending or unacknowledged;
// -1 when they cannot be listed (a role without the right).
func queueDepth(ctx context.Context, st jetstream.Stream) int64 {
	var n int64
	l := st.ListConsumers(ctx)
	for ci := range l.Info() {
		if strings.HasPrefix(ci.Name, BridgeConsumerPrefix) {
			n += int64(ci.NumPending) + int64(ci.NumAckPending)
		}
	}
	if l.Err() != nil {
		return -1
	}
	return n
}

// countMatching counts the messages of st on subjects matching filter, without reading them.
func (c *Client) countMatching(ctx context.Context, st jetstream.Stream, filter string) (uint64, error) {
	cons, err := st.CreateConsumer(ctx, jetstream.ConsumerConfig{AckPolicy: jetstream.AckNonePolicy,
		FilterSubject: filter, InactiveThreshold: 10 * time.Second, MemoryStorage: true})
	if err != nil {
		return 0, fmt.Errorf("counting %s: %w", filter, err)
	}
	n := cons.CachedInfo().NumPending
	c.dropConsumer(st, cons)
	return n, nil
}

// Status asks the daemon of the node this client is connected to for its status, with the
// cluster's members and stream placement when it is clustered.
func (c *Client) Status(ctx context.Context) (subjects.ServerStatus, error) {
	return c.status(ctx, subjects.StatusRequest{Cluster: true})
}

// status asks for the daemon's status; req says how much.
func (c *Client) status(ctx context.Context, req subjects.StatusRequest) (subjects.ServerStatus, error) {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	var st subjects.ServerStatus
	// The daemon of the node this client is connected to answers (in a cluster every node
	// has one).
	subj := subjects.StatusSubject
	if name := c.nc.ConnectedServerName(); name != "" {
		subj = subjects.StatusSubjectFor(name)
	}
	body, _ := json.Marshal(req)
	m, err := c.nc.RequestWithContext(ctx, subj, body)
	if err != nil {
		return st, fmt.Errorf("asking the daemon for its status: %w", err)
	}
	if err := json.Unmarshal(m.Data, &st); err != nil {
		return st, fmt.Errorf("the daemon's status is unreadable: %w", err)
	}
	return st, nil
}

func (c *Client) deliveryStats(ctx context.Context, st jetstream.Stream, ps *PriorityStats) error {
	prefix := subjects.ReceiptRoot + "." + ps.Priority.String() + "."
	var err error
	if ps.Delivered, err = c.countMatching(ctx, st, prefix+string(Delivered)+".>"); err != nil {
		return err
	}
	if ps.Queued, err = c.countMatching(ctx, st, prefix+string(Queued)+".>"); err != nil {
		return err
	}
	if ps.Received, err = c.countMatching(ctx, st, prefix+string(Received)+".>"); err != nil {
		return err
	}
	if ps.Unconfirmed, err = c.countMatching(ctx, st, prefix+string(Unconfirmed)+".>"); err != nil {
		return err
	}
	if ps.Undeliverable, err = c.countMatching(ctx, st, prefix+string(Undeliverable)+".>"); err != nil {
		return err
	}
	if ps.Delivered == 0 {
		return nil
	}
	since := time.Now().Add(-LatencyWindow)
	cons, err := st.CreateConsumer(ctx, jetstream.ConsumerConfig{AckPolicy: jetstream.AckNonePolicy,
		FilterSubject: prefix + string(Delivered) + ".>", DeliverPolicy: jetstream.DeliverByStartTimePolicy,
		OptStartTime: &since, InactiveThreshold: 10 * time.Second, MemoryStorage: true})
	if err != nil {
		return fmt.Errorf("reading delivery latencies: %w", err)
	}
	defer c.dropConsumer(st, cons)
	pending := min(cons.CachedInfo().NumPending, maxLatencySamples)
	var typed, submitted []time.Duration
	for uint64(len(typed)) < pending {
		batch, err := cons.FetchNoWait(int(min(pending-uint64(len(typed)), 1000)))
		if err != nil {
			return fmt.Errorf("reading delivery latencies: %w", err)
		}
		n := 0
		for m := range batch.Messages() {
			n++
			var r Receipt
			if json.Unmarshal(m.Data(), &r) == nil && !r.Typed.IsZero() {
				typed = append(typed, r.Typed.Sub(r.Published))
				submitted = append(submitted, r.Submitted.Sub(r.Published))
			} else {
				pending--
			}
		}
		if n == 0 {
			break
		}
	}
	ps.Typed, ps.Submitted = Percentiles(typed), Percentiles(submitted)
	return nil
}
