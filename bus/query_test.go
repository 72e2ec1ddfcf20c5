package bus_test

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/internal/embeddedtest"
	"github.com/tmux-orc/tmux-orc/subjects"
)

// TestTailReadsBackwards stores more messages than a read's page (sessions a and b in
// turns, all priorities, a few for session s at the very start) and checks that every
// tail, forwards read and combination of filters returns exactly the messages a user
// would pick by hand from what was published, in the order they were stored.
func TestTailReadsBackwards(t *testing.T) {
	cfg := embeddedtest.Config(t)
	cfg.Sync = "1s"
	embeddedtest.Start(t, cfg)
	c := embeddedtest.Connect(t, cfg)
	ctx := context.Background()

	type sent struct {
		body     string
		target   string
		p        subjects.Priority
		id       string
		tags     []string
		stored   time.Time
		groupFor string // group messages: the session ("" everywhere)
	}
	var all []sent
	pub := func(target string, p subjects.Priority, body string, tags ...string) {
		e := env(t, target, p, body, tags...)
		publish(t, c, e)
		s := sent{body: body, target: target, p: p, id: e.ID, tags: tags, stored: time.Now()}
		if g, ok := strings.CutPrefix(target, "group:"); ok {
			_, s.groupFor, _ = strings.Cut(g, "@")
		}
		all = append(all, s)
	}
	for i := 0; i < 3; i++ {
		pub("h1.s:1", subjects.Low, fmt.Sprintf("s early %d", i))
	}
	for i := 0; i < 1100; i++ {
		pub("h1.d:1", subjects.Low, fmt.Sprintf("d %d", i))
	}
	prios := []subjects.Priority{subjects.Critical, subjects.High, subjects.Normal, subjects.Low}
	for i := 0; i < 600; i++ {
		p := prios[i%4]
		switch {
		case i%50 == 7:
			pub("group:management@h1.a", p, fmt.Sprintf("mgmt a %d", i))
		case i%50 == 8:
			pub("group:management", p, fmt.Sprintf("mgmt all %d", i))
		case i%3 == 0:
			pub("h1.b:1", p, fmt.Sprintf("b %d", i))
		case i%97 == 0:
			pub("h1.a:2", p, fmt.Sprintf("a rare %d", i), "rare")
		default:
			pub("h1.a:2", p, fmt.Sprintf("a %d", i))
		}
	}
	mid := time.Now()
	for i := 0; i < 40; i++ {
		pub("h1.a:2", prios[i%4], fmt.Sprintf("a late %d", i))
	}
	pub("h1.s:1", subjects.Low, "s late 0")
	pub("h1.s:1", subjects.Low, "s late 1")
	// The last 30 of a's are acknowledged every other one.
	var acked = map[string]bool{}
	n := 0
	for i := len(all) - 1; i >= 0 && n < 30; i-- {
		if all[i].target == "h1.a:2" {
			if n%2 == 0 {
				if _, _, err := c.Ack(ctx, all[i].id, "tester", ""); err != nil {
					t.Fatal(err)
				}
				acked[all[i].id] = true
			}
			n++
		}
	}

	pick := func(keep func(sent) bool, tail int) []string {
		var out []string
		for _, s := range all {
			if keep(s) {
				out = append(out, s.body)
			}
		}
		if tail > 0 && len(out) > tail {
			out = out[len(out)-tail:]
		}
		return out
	}
	inA := func(s sent) bool { return s.target == "h1.a:2" }
	sessA, _ := subjects.ParseTarget("h1.a")
	winA, _ := subjects.ParseTarget("h1.a:2")
	sessB, _ := subjects.ParseTarget("h1.b")
	sessS, _ := subjects.ParseTarget("h1.s")
	sessD, _ := subjects.ParseTarget("h1.d")
	mgmtA, _ := subjects.GroupAddress("management", "h1.a")
	for _, tc := range []struct {
		name string
		q    bus.Query
		want []string
	}{
		{"tail 10 of a window", bus.Query{Address: winA, Tail: 10}, pick(inA, 10)},
		{"tail 300 of a window (over a page)", bus.Query{Address: winA, Tail: 300}, pick(inA, 300)},
		{"tail of a session with groups", bus.Query{Address: sessA, Tail: 25},
			pick(func(s sent) bool { return inA(s) || s.groupFor == "h1.a" }, 25)},
		{"tail of a group in a session (two filters)", bus.Query{Address: mgmtA, Tail: 15},
			pick(func(s sent) bool { return strings.HasPrefix(s.body, "mgmt") }, 15)},
		{"tail of b, high only", bus.Query{Address: sessB, Tail: 7, Priorities: []subjects.Priority{subjects.High}},
			pick(func(s sent) bool { return s.target == "h1.b:1" && s.p == subjects.High }, 7)},
		{"tail 10 of s, stored first and last", bus.Query{Address: sessS, Tail: 10}, pick(func(s sent) bool { return s.target == "h1.s:1" }, 0)},
		{"tail 1050 of d, dense before sparse (a window narrowed)", bus.Query{Address: sessD, Tail: 1050},
			pick(func(s sent) bool { return s.target == "h1.d:1" }, 1050)},
		{"tail 5 of d", bus.Query{Address: sessD, Tail: 5}, pick(func(s sent) bool { return s.target == "h1.d:1" }, 5)},
		{"tail of a rare tag", bus.Query{Tags: []string{"rare"}, Tail: 3}, pick(func(s sent) bool { return slices.Contains(s.tags, "rare") }, 3)},
		{"tail of a filter", bus.Query{Filter: regexp.MustCompile(`^CRITICAL .*\n(a|b) 5`), Tail: 4},
			pick(func(s sent) bool {
				return s.p == subjects.Critical && (strings.HasPrefix(s.body, "a 5") || strings.HasPrefix(s.body, "b 5"))
			}, 4)},
		{"tail since", bus.Query{Address: winA, Since: mid, Tail: 100}, pick(func(s sent) bool { return inA(s) && s.stored.After(mid) }, 100)},
		{"tail unacked", bus.Query{Address: winA, Unacked: true, Tail: 20}, pick(func(s sent) bool { return inA(s) && !acked[s.id] }, 20)},
		{"everything, forwards", bus.Query{}, pick(func(sent) bool { return true }, 0)},
		{"a window, forwards, unacked", bus.Query{Address: winA, Unacked: true}, pick(func(s sent) bool { return inA(s) && !acked[s.id] }, 0)},
		{"since, forwards", bus.Query{Since: mid}, pick(func(s sent) bool { return s.stored.After(mid) }, 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			recs, err := c.Query(ctx, tc.q)
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(recs); !slices.Equal(got, tc.want) {
				t.Fatalf("got %d messages, want %d\ngot  %.400s\nwant %.400s", len(got), len(tc.want), strings.Join(got, ","), strings.Join(tc.want, ","))
			}
			for _, r := range recs {
				if (r.Ack != nil) != acked[r.ID] {
					t.Fatalf("%s: acknowledgement %v, want acked=%v", r.Message.Content.Body, r.Ack, acked[r.ID])
				}
			}
		})
	}
	t.Run("QueryEach streams what Query returns", func(t *testing.T) {
		var got []string
		if err := c.QueryEach(ctx, bus.Query{Address: winA}, func(r bus.Record) error {
			got = append(got, r.Message.Content.Body)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if want := pick(inA, 0); !slices.Equal(got, want) {
			t.Fatalf("got %d messages, want %d", len(got), len(want))
		}
	})
}

// TestForwardReadOutlivesItsConsumer: a forward read whose consumer vanishes mid-read (in a
// cluster, its node restarting, or its creation not yet applied where the fetch lands: the
// fetch gets no responders) goes on with a new consumer from where it was and returns every
// message once, in order (chaos test in CI: "reading ORC_HIGH: no responders").
func TestForwardReadOutlivesItsConsumer(t *testing.T) {
	cfg := embeddedtest.Config(t)
	cfg.Sync = "1s"
	embeddedtest.Start(t, cfg)
	c := embeddedtest.Connect(t, cfg)
	ctx := context.Background()
	var want []string
	for i := 0; i < 700; i++ {
		e := env(t, "h1.v:1", subjects.Low, fmt.Sprintf("v %d", i))
		publish(t, c, e)
		want = append(want, e.ID)
	}
	js, err := jetstream.New(c.Conn())
	if err != nil {
		t.Fatal(err)
	}
	st, err := js.Stream(ctx, subjects.Low.Stream())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	deleted := 0
	err = c.QueryEach(ctx, bus.Query{Priorities: []subjects.Priority{subjects.Low}}, func(r bus.Record) error {
		got = append(got, r.ID)
		if len(got) == 10 || len(got) == 300 { // within the first page, and within the second
			for name := range st.ConsumerNames(ctx).Name() {
				if err := st.DeleteConsumer(ctx, name); err != nil {
					t.Fatal(err)
				}
				deleted++
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("the read failed after its consumer vanished: %v", err)
	}
	if deleted < 2 {
		t.Fatalf("deleted %d consumers: the read used none?", deleted)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("read %d messages, want the %d published, in order", len(got), len(want))
	}
}
