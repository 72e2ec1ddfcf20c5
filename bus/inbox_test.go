package bus_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/subjects"
)

// An inbox holds the window's own messages and the group messages a receipt says were
// typed into its pane, not those of other panes.
func TestInboxHoldsDirectAndDeliveredGroupMessages(t *testing.T) {
	cfg, c := start(t)
	ctx := context.Background()
	h := cfg.HostName
	own := env(t, "pm:1", subjects.Normal, "for the pm window")
	other := env(t, "pm:2", subjects.Normal, "for another window")
	alert := env(t, "group:management@pm", subjects.High, "HIGH alert for management")
	everywhere := env(t, "group:management", subjects.Normal, "management everywhere")
	notDelivered := env(t, "group:management@pm", subjects.Normal, "still queued")
	elsewhere := env(t, "group:agents@pm", subjects.Normal, "for the agents pane")
	// Sent by the pm window itself to its group: not typed back, but in its inbox.
	sent := env(t, "group:management@pm", subjects.Normal, "PM connectivity test")
	sent.Source.Identifier = "pm:1"
	for _, e := range []*subjects.Envelope{own, other, alert, everywhere, notDelivered, elsewhere, sent} {
		publish(t, c, e)
	}
	for _, x := range []struct {
		e      *subjects.Envelope
		pane   string
		target string
	}{{alert, "%4", "pm:1.0"}, {everywhere, "%4", "pm:1.0"}, {elsewhere, "%5", "pm:2.0"}} {
		if err := c.Record(ctx, bus.Receipt{ID: x.e.ID, Priority: x.e.Message.Priority, Outcome: bus.Delivered,
			Pane: x.pane, PaneTarget: x.target, Host: h, Via: "bridge"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name string
		r    bus.Recipient
	}{
		{"by window", bus.Recipient{Session: "pm", Window: "1"}},
		{"by pane", bus.Recipient{Host: h, Session: "pm", Window: "1", Pane: "%4"}},
	} {
		recs, err := c.Query(ctx, bus.Query{Inbox: &tc.r})
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"for the pm window", "HIGH alert for management", "management everywhere", "PM connectivity test"}
		if got := ids(recs); !slices.Equal(got, want) {
			t.Errorf("%s: inbox = %q, want %q", tc.name, got, want)
		}
	}
	// The guide's filter over the inbox.
	re, _ := subjects.CompileFilter(`HIGH PRIORITY\|CRITICAL`)
	recs, err := c.Query(ctx, bus.Query{Inbox: &bus.Recipient{Session: "pm", Window: "1"}, Filter: re})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(recs); !slices.Equal(got, []string{"HIGH alert for management"}) {
		t.Errorf("filtered inbox = %q", got)
	}
}

// Following an inbox brings a group message once a receipt says it was typed into the pane.
func TestFollowInbox(t *testing.T) {
	cfg, c := start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got := make(chan string, 10)
	go func() {
		_ = c.QueryAndFollow(ctx, bus.Query{Inbox: &bus.Recipient{Session: "pm", Window: "1"}}, func(r bus.Record) error {
			got <- r.Message.Content.Body
			return nil
		})
	}()
	time.Sleep(300 * time.Millisecond) // the follower is set up (a missed message would fail below)
	publish(t, c, env(t, "pm:1", subjects.Normal, "direct"))
	g := env(t, "group:management@pm", subjects.High, "group alert")
	publish(t, c, g)
	publish(t, c, env(t, "group:management@pm", subjects.High, "not typed here"))
	if b := <-got; b != "direct" {
		t.Fatalf("first = %q", b)
	}
	if err := c.Record(ctx, bus.Receipt{ID: g.ID, Priority: subjects.High, Outcome: bus.Delivered,
		Pane: "%4", PaneTarget: "pm:1.0", Host: cfg.HostName, Via: "bridge"}); err != nil {
		t.Fatal(err)
	}
	select {
	case b := <-got:
		if b != "group alert" {
			t.Fatalf("second = %q", b)
		}
	case <-ctx.Done():
		t.Fatal("the delivered group message never came")
	}
	select {
	case b := <-got:
		t.Fatalf("unexpected %q", b)
	case <-time.After(300 * time.Millisecond):
	}
}

// An alert and its escalation are one chain: acking either acks both.
func TestAckChain(t *testing.T) {
	_, c := start(t)
	ctx := context.Background()
	for _, ackEscalation := range []bool{false, true} {
		alert := env(t, "group:management@pm", subjects.High, "Agent pm:0 crashed")
		alert.Metadata.RequiresAck = true
		publish(t, c, alert)
		esc := env(t, "group:management@pm", subjects.Critical, "ESCALATED: Agent pm:0 crashed")
		esc.Metadata.RequiresAck, esc.Metadata.CorrelationID = true, alert.ID
		publish(t, c, esc)
		resolved := env(t, "group:management@pm", subjects.Normal, "Resolved")
		resolved.Metadata.CorrelationID = alert.ID
		publish(t, c, resolved)
		first, second := alert, esc
		if ackEscalation {
			first, second = esc, alert
		}
		if _, _, err := c.Ack(ctx, first.ID, "pm:1", "restarted"); err != nil {
			t.Fatal(err)
		}
		a, err := c.AckOf(ctx, second.Message.Priority, second.ID)
		if err != nil {
			t.Fatal(err)
		}
		if a == nil || a.Via != first.ID || a.By != "pm:1" || a.Note != "restarted" {
			t.Fatalf("ack of %s after acking %s = %+v", second.ID, first.ID, a)
		}
		if a, _ := c.AckOf(ctx, subjects.Normal, resolved.ID); a != nil {
			t.Errorf("a message that needs no ack was acked: %+v", a)
		}
	}
}
