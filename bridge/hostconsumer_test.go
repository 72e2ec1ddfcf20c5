package bridge_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tmux-orc/tmux-orc/bridge"
	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/subjects"
)

// TestWaitingNeverBlocksPresentPanes fills the bridge's consumer with messages for a session
// that does not exist, more than its MaxAckPending: a message for a present pane is still
// delivered at once, the oldest waiting ones beyond MaxWaiting are recorded undeliverable
// with the reason, and the newest still wait and are delivered, in order, when the session
// appears.
func TestWaitingNeverBlocksPresentPanes(t *testing.T) {
	old := bus.BridgeMaxAckPending
	bus.BridgeMaxAckPending = 8
	t.Cleanup(func() { bus.BridgeMaxAckPending = old })
	w := newWorld(t, func(c *bridge.Config) { c.MaxWaiting = 4 })
	present := w.agent("be:agent")
	w.startBridge()
	var ghost []*subjects.Envelope
	for i := range 12 {
		ghost = append(ghost, w.publish("ghost:0", subjects.Normal, fmt.Sprintf("for a session that is not there %d", i)))
	}
	e := w.publish("be:agent", subjects.Normal, "for a present pane")
	if r := w.only(e); r.Outcome != bus.Delivered || r.PaneTarget != "be:0.0" {
		t.Fatalf("the present pane's message: %+v", r)
	}
	waitAccepted(t, present, 1)
	for _, g := range ghost[:8] {
		r := w.only(g)
		if r.Outcome != bus.Undeliverable || !strings.Contains(r.Reason, "more than 4 messages of priority normal waited for a pane to appear") {
			t.Fatalf("an old message for the absent session: %+v", r)
		}
	}
	for _, g := range ghost[8:] {
		rs, err := w.c.Receipts(context.Background(), g.Message.Priority, g.ID)
		if err != nil {
			t.Fatal(err)
		}
		if rs := final(rs); len(rs) != 0 {
			t.Fatalf("a message within MaxWaiting has an outcome before its session exists: %+v", rs)
		}
	}
	log := w.agent("ghost:0")
	var want []string
	for _, g := range ghost[8:] {
		if r := w.only(g); r.Outcome != bus.Delivered || r.PaneTarget != "ghost:0.0" {
			t.Fatalf("a waiting message once its session exists: %+v", r)
		}
		want = append(want, bridge.Render(g, bridge.DefaultMaxInline))
	}
	if got := waitAccepted(t, log, 4); !slices.Equal(got, want) {
		t.Fatalf("the late session accepted %q, want %q", got, want)
	}
}

// TestOneConsumerPerPriorityWhateverTheSessions serves several sessions and checks that the
// bridge's consumers are the host's two per priority stream, and that each session's
// messages come through them.
func TestOneConsumerPerPriorityWhateverTheSessions(t *testing.T) {
	w := newWorld(t)
	var logs []string
	for i := range 5 {
		logs = append(logs, w.agent(fmt.Sprintf("s%d:agent", i)))
	}
	w.startBridge()
	for i, log := range logs {
		e := w.publish(fmt.Sprintf("s%d:agent", i), subjects.High, fmt.Sprintf("to session %d", i))
		if r := w.only(e); r.Outcome != bus.Delivered || r.PaneTarget != fmt.Sprintf("s%d:0.0", i) {
			t.Fatalf("session %d: %+v", i, r)
		}
		waitAccepted(t, log, 1)
	}
	js, _ := jetstream.New(w.c.Conn())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, p := range subjects.Priorities {
		st, err := js.Stream(ctx, p.Stream())
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for n := range st.ConsumerNames(ctx).Name() {
			names = append(names, n)
		}
		slices.Sort(names)
		if want := []string{bus.EverywhereDurable(w.cfg.Host), bus.HostDurable(w.cfg.Host)}; !slices.Equal(names, want) {
			t.Errorf("%s has consumers %q, want %q", p.Stream(), names, want)
		}
	}
}

// TestOlderSessionConsumersAreDeleted creates the per-session consumers an older bridge left
// (bridge-<host>-<hash of the session>, filter orc.<p>.<host>.<session>.>) and, for
// contrast, another host's and one whose filter does not go with its name: the bridge
// deletes its own host's old ones at start, and only those.
func TestOlderSessionConsumersAreDeleted(t *testing.T) {
	w := newWorld(t)
	w.agent("be:agent")
	js, _ := jetstream.New(w.c.Conn())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	legacy := func(host, session string) string {
		sum := sha256.Sum256([]byte(session))
		return "bridge-" + host + "-" + hex.EncodeToString(sum[:8])
	}
	create := func(p subjects.Priority, name, filter string) {
		t.Helper()
		if _, err := js.CreateOrUpdateConsumer(ctx, p.Stream(), jetstream.ConsumerConfig{Durable: name, FilterSubject: filter,
			AckPolicy: jetstream.AckExplicitPolicy}); err != nil {
			t.Fatal(err)
		}
	}
	var gone []string
	for _, p := range subjects.Priorities {
		for _, s := range []string{"be", "gone session"} {
			create(p, legacy(w.cfg.Host, s), subjects.SessionSubjects(p, w.cfg.Host, s))
			gone = append(gone, p.Stream()+"/"+legacy(w.cfg.Host, s))
		}
	}
	create(subjects.Normal, legacy("other-host", "be"), subjects.SessionSubjects(subjects.Normal, "other-host", "be"))
	create(subjects.Normal, legacy(w.cfg.Host, "x"), subjects.SessionSubjects(subjects.Normal, w.cfg.Host, "y"))
	w.startBridge()
	waitFor(t, "the old consumers deleted", func() bool {
		for _, g := range gone {
			stream, name, _ := strings.Cut(g, "/")
			if _, err := js.Consumer(ctx, stream, name); err == nil {
				return false
			}
		}
		return true
	})
	for _, name := range []string{legacy("other-host", "be"), legacy(w.cfg.Host, "x")} {
		if _, err := js.Consumer(ctx, subjects.Normal.Stream(), name); err != nil {
			t.Errorf("consumer %s is not an old one of this host's but was deleted: %v", name, err)
		}
	}
}
