package bridge_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/tmux-orc/tmux-orc/bridge"
	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/subjects"
)

// TestSeveralHostsOneNamespace runs two bridges, each for its own tmux server and host, on
// one daemon: a message goes to the host that has its session, a group everywhere reaches
// the group on both hosts once each (their panes have the same ids), and a session name on
// both hosts must be qualified with a host.
func TestSeveralHostsOneNamespace(t *testing.T) {
	a := newWorld(t, func(c *bridge.Config) { c.Host = "host-a" })
	b := a.peer("host-b")
	aPM := a.agent("alpha:pm")
	bPM := b.agent("beta:pm")
	bWork := b.agent("beta:work")
	aDup := a.agent("dup:w")
	bDup := b.agent("dup:w")
	a.tmux("set-option", "-w", "-t", "alpha:pm", "@orc-role", "pm")
	b.tmux("set-option", "-w", "-t", "beta:pm", "@orc-role", "pm")
	if a.format("alpha:pm", "#{pane_id}") != b.format("beta:pm", "#{pane_id}") {
		t.Fatal("the two management panes should have the same pane id on their servers")
	}
	a.startBridge()
	b.startBridge()
	ctx := context.Background()
	waitFor(t, "both hosts' sessions registered", func() bool {
		all, err := a.c.Sessions(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range all {
			got = append(got, e.Host+"."+e.Session)
		}
		return slices.Equal(got, []string{"host-a.alpha", "host-b.beta", "host-a.dup", "host-b.dup"})
	})

	// Published through a client that is no closer to host-a than to host-b.
	forB := a.publish("beta:work", subjects.High, "for beta on host b")
	if forB.Target.Host != "host-b" {
		t.Fatalf("beta:work resolved to host %q", forB.Target.Host)
	}
	if r := a.only(forB); r.Outcome != bus.Delivered || r.Host != "host-b" || r.PaneTarget != "beta:1.0" {
		t.Errorf("beta:work: %+v", r)
	}

	everywhere := a.publish("group:management", subjects.Normal, "all managers on all hosts")
	var hosts []string
	for _, r := range a.receipts(everywhere, 2) {
		if r.Outcome != bus.Delivered {
			t.Errorf("management everywhere: %+v", r)
		}
		hosts = append(hosts, r.Host+" "+r.PaneTarget)
	}
	slices.Sort(hosts)
	if !slices.Equal(hosts, []string{"host-a alpha:0.0", "host-b beta:0.0"}) {
		t.Errorf("management everywhere reached %q", hosts)
	}

	ambiguous := a.envelope("dup:w", subjects.High, "which dup?")
	_, err := a.c.Publish(ctx, ambiguous)
	if !errors.Is(err, bus.ErrAmbiguous) || err.Error() != `session "dup" exists on hosts host-a and host-b; name one: host-a.dup:w` {
		t.Fatalf("unqualified publish to a session on two hosts: %v", err)
	}
	forBDup := a.publish("host-b.dup:w", subjects.High, "for dup on host b")
	if r := a.only(forBDup); r.Outcome != bus.Delivered || r.Host != "host-b" {
		t.Errorf("host-b.dup:w: %+v", r)
	}

	waitAccepted(t, bWork, 1)
	waitAccepted(t, aPM, 1)
	waitAccepted(t, bPM, 1)
	waitAccepted(t, bDup, 1)
	quiet(700 * time.Millisecond) // strays or duplicates would show up by now
	render := func(e *subjects.Envelope) string { return bridge.Render(e, bridge.DefaultMaxInline) }
	for _, c := range []struct {
		name, log string
		want      []string
	}{
		{"host-a alpha:pm", aPM, []string{render(everywhere)}},
		{"host-b beta:pm", bPM, []string{render(everywhere)}},
		{"host-b beta:work", bWork, []string{render(forB)}},
		{"host-a dup:w", aDup, nil},
		{"host-b dup:w", bDup, []string{render(forBDup)}},
	} {
		if got := accepted(t, c.log); !slices.Equal(got, c.want) {
			t.Errorf("%s accepted %q, want %q", c.name, got, c.want)
		}
	}

	// Each bridge consumer has one filter subject, with the host in it, so that permissions
	// can restrict a host to its own subjects; a host has one per priority for all its
	// sessions (and one for groups everywhere), not one per session.
	js, err := jetstream.New(a.c.Conn())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ durable, filter string }{
		{bus.HostDurable("host-a"), "orc.high.host-a.>"},
		{bus.HostDurable("host-b"), "orc.high.host-b.>"},
		{bus.EverywhereDurable("host-a"), "orc.high.~.~.>"},
		{bus.EverywhereDurable("host-b"), "orc.high.~.~.>"},
	} {
		cons, err := js.Consumer(ctx, subjects.High.Stream(), c.durable)
		if err != nil {
			t.Fatalf("consumer %s: %v", c.durable, err)
		}
		cfg := cons.CachedInfo().Config
		if cfg.FilterSubject != c.filter || len(cfg.FilterSubjects) != 0 || !strings.Contains(c.durable, "host-") {
			t.Errorf("consumer %s filters %q %q, want the one filter %q", c.durable, cfg.FilterSubject, cfg.FilterSubjects, c.filter)
		}
	}

	var names []string
	st, err := js.Stream(ctx, subjects.High.Stream())
	if err != nil {
		t.Fatal(err)
	}
	l := st.ConsumerNames(ctx)
	for n := range l.Name() {
		if strings.HasPrefix(n, "bridge-") {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	if want := []string{"bridge-host-a-groups", "bridge-host-a-sessions", "bridge-host-b-groups", "bridge-host-b-sessions"}; !slices.Equal(names, want) {
		t.Errorf("bridge consumers of %s: %q, want %q (two per host, whatever its sessions)", subjects.High.Stream(), names, want)
	}

	// A clean stop takes a host's sessions out of the registry.
	b.stopBridge()
	hs, err := a.c.SessionHosts(ctx, "dup")
	if err != nil || len(hs) != 1 || hs[0].Host != "host-a" {
		t.Fatalf("dup after host-b's bridge stopped: %+v %v", hs, err)
	}
}

// TestBridgeNeedsAHost: the host is handed in by the caller (the CLI decides it once); a
// bridge without one refuses to run instead of guessing it from the environment.
func TestBridgeNeedsAHost(t *testing.T) {
	w := newWorld(t, func(c *bridge.Config) { c.Host = "" })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := bridge.New(w.cfg, w.c, zap.NewNop()).Run(ctx)
	if err == nil || !strings.Contains(err.Error(), "no host") {
		t.Fatalf("Run without a host: %v, want an error naming the missing host", err)
	}
}
