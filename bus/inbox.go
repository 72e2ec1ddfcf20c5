package bus

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tmux-orc/tmux-orc/subjects"
)

// Recipient names the pane (or window) whose inbox a query selects: the messages addressed
// to its window, plus those for its session as a whole and for every group it was in, as
// far as a receipt says they were typed into it, plus the group messages it sent itself. Receipts are written when a message is
// delivered, so a group message counts for the panes that were in the group then.
type Recipient struct {
	// Host is the host of the tmux server; "" matches every host.
	Host    string
	Session string
	// Window is the window as the user named it (index or name); WindowIndex, when known,
	// its index.
	Window      string
	WindowIndex string
	// Pane is the tmux pane id ("%3"), when known.
	Pane string
}

// String renders the recipient as a target ("h1.pm:1").
func (r *Recipient) String() string {
	a := subjects.Address{Kind: subjects.KindSession, Host: r.Host, Session: r.Session, Window: r.Window}
	return a.String()
}

// filters selects everything that may be in the inbox: the session's messages (its windows,
// the session as a whole, its groups) and the groups everywhere.
func (r *Recipient) filters(p subjects.Priority) []string {
	host := r.Host
	if host == "" {
		host = "*"
	}
	return []string{
		subjects.Root + "." + p.String() + "." + host + "." + subjects.EncodeToken(r.Session) + ".>",
		subjects.EverywhereSubjects(p),
	}
}

func (r *Recipient) sameHost(h string) bool { return r.Host == "" || h == "" || h == r.Host }

func (r *Recipient) window(w string) bool {
	return w != "" && (w == r.Window || (r.WindowIndex != "" && w == r.WindowIndex))
}

// direct reports whether e is addressed to the recipient's window itself.
func (r *Recipient) direct(e *subjects.Envelope) bool {
	t := e.Target
	return t.Kind == subjects.KindSession && t.Session == r.Session && r.sameHost(t.Host) && r.window(t.Window)
}

// sent reports whether e is a group message the recipient sent itself (the bridge does not
// type it back into its sender's pane, but it belongs in the sender's inbox: the guide's
// connectivity test publishes to management and reads it back).
func (r *Recipient) sent(e *subjects.Envelope) bool {
	if e.Target.Kind != subjects.KindGroup || !r.sameHost(e.Source.Host) {
		return false
	}
	if r.Pane != "" && e.Source.Pane == r.Pane {
		return true
	}
	s, w, ok := strings.Cut(e.Source.Identifier, ":")
	return ok && s == r.Session && r.window(w)
}

// mine is direct or sent: in the inbox without a receipt.
func (r *Recipient) mine(e *subjects.Envelope) bool { return r.direct(e) || r.sent(e) }

// received reports whether a receipt says the message was typed into the recipient.
func (r *Recipient) received(rc Receipt) bool {
	if rc.Outcome == Undeliverable || !r.sameHost(rc.Host) {
		return false
	}
	if r.Pane != "" && rc.Pane == r.Pane {
		return true
	}
	// PaneTarget is "session:window.pane" with the window's index.
	i := strings.LastIndex(rc.PaneTarget, ":")
	if i < 0 {
		return false
	}
	win, _, _ := strings.Cut(rc.PaneTarget[i+1:], ".")
	return rc.PaneTarget[:i] == r.Session && r.window(win)
}

func (r *Recipient) got(rec Record) bool {
	if r.mine(rec.Envelope) {
		return true
	}
	for _, rc := range rec.Receipts {
		if r.received(rc) {
			return true
		}
	}
	return false
}

func (q *Query) filters(p subjects.Priority) []string {
	if q.Inbox != nil {
		return q.Inbox.filters(p)
	}
	return subjects.Filters(p, q.Address)
}

// keepInbox attaches the receipts and keeps what the recipient was sent.
func (c *Client) keepInbox(ctx context.Context, r *Recipient, recs []Record) ([]Record, error) {
	if err := c.attachReceipts(ctx, recs); err != nil {
		return nil, err
	}
	kept := recs[:0]
	for _, rec := range recs {
		if r.got(rec) {
			kept = append(kept, rec)
		}
	}
	return kept, nil
}

// followInbox calls fn for every message the recipient gets from now on: the messages
// addressed to its window when they are stored, the others when a receipt says they were
// typed into it.
func (c *Client) followInbox(ctx context.Context, q Query, cur cursor, fn func(Record) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	r := q.Inbox
	recs := make(chan Record, 256)
	send := func(rec Record) {
		select {
		case recs <- rec:
		case <-ctx.Done():
		}
	}
	stop, err := c.followStreams(ctx, q, cur, r.mine, recs)
	if err != nil {
		return err
	}
	defer stop()
	// Receipts recorded from now on: the other messages, once they were typed into the pane.
	rst, err := c.js.Stream(ctx, subjects.ReceiptStream)
	if err != nil {
		return fmt.Errorf("opening stream %s: %w", subjects.ReceiptStream, err)
	}
	rcons, err := c.js.OrderedConsumer(ctx, subjects.ReceiptStream, jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:   rst.CachedInfo().State.LastSeq + 1,
	})
	if err != nil {
		return fmt.Errorf("following %s: %w", subjects.ReceiptStream, err)
	}
	seen := map[string]bool{}
	rcc, err := rcons.Consume(func(m jetstream.Msg) {
		if strings.Contains(m.Subject(), "."+claimState+".") {
			return
		}
		var rc Receipt
		if json.Unmarshal(m.Data(), &rc) != nil || !r.received(rc) || seen[rc.ID] {
			return
		}
		seen[rc.ID] = true
		rec, err := c.Get(ctx, rc.ID)
		if err != nil || r.mine(rec.Envelope) || !q.matches(rec.Envelope) || !q.wants(rec.Message.Priority) {
			return
		}
		send(rec)
	})
	if err != nil {
		return fmt.Errorf("following %s: %w", subjects.ReceiptStream, err)
	}
	defer rcc.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case rec := <-recs:
			if err := fn(rec); err != nil {
				return err
			}
		}
	}
}

func (q *Query) wants(p subjects.Priority) bool {
	for _, x := range q.priorities() {
		if x == p {
			return true
		}
	}
	return false
}
