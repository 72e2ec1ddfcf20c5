package bus_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/embedded"
	"github.com/tmux-orc/tmux-orc/internal/embeddedtest"
	"github.com/tmux-orc/tmux-orc/subjects"
)

func connect(t *testing.T, cfg embedded.Config) *bus.Client {
	t.Helper()
	return embeddedtest.Connect(t, cfg)
}

func start(t *testing.T) (embedded.Config, *bus.Client) {
	cfg := embeddedtest.Config(t)
	embeddedtest.Start(t, cfg)
	return cfg, connect(t, cfg)
}

var clock = time.Now().UTC()

func env(t *testing.T, target string, p subjects.Priority, body string, tags ...string) *subjects.Envelope {
	t.Helper()
	var a subjects.Address
	var err error
	if g, ok := strings.CutPrefix(target, "group:"); ok {
		name, session, _ := strings.Cut(g, "@")
		a, err = subjects.GroupAddress(name, session)
	} else {
		a, err = subjects.ParseTarget(target)
	}
	if err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(time.Millisecond)
	return &subjects.Envelope{ID: subjects.NewID(clock), Timestamp: clock,
		Source: subjects.Source{Type: "test", Identifier: t.Name()}, Target: a,
		Message: subjects.Message{Type: "notification", Category: "test", Priority: p,
			Content: subjects.Content{Subject: subjects.SubjectLine(body), Body: body}},
		Metadata: subjects.Metadata{Tags: tags}}
}

func publish(t *testing.T, c *bus.Client, e *subjects.Envelope) bus.Stored {
	t.Helper()
	s, err := c.Publish(context.Background(), e)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func ids(recs []bus.Record) []string {
	var out []string
	for _, r := range recs {
		out = append(out, r.Message.Content.Body)
	}
	return out
}

func TestPublishIsStoredOnceAndReadable(t *testing.T) {
	cfg, c := start(t)
	e := env(t, "backend-dev:2", subjects.High, "Agent backend-dev:2 idle 15min", "monitoring", "idle")
	first := publish(t, c, e)
	if first.Duplicate || first.Stream != "ORC_HIGH" || first.Subject != "orc.high."+cfg.HostName+".backend-dev.2."+e.ID {
		t.Fatalf("first publish %+v", first)
	}
	again := publish(t, c, e)
	if !again.Duplicate || again.Sequence != first.Sequence {
		t.Fatalf("retried publish %+v, want a duplicate of seq %d", again, first.Sequence)
	}
	got, err := c.Get(context.Background(), e.ID)
	if err != nil || got.Message.Content.Body != e.Message.Content.Body || got.Source.Identifier != t.Name() {
		t.Fatalf("Get: %+v %v", got, err)
	}
	recs, err := c.Query(context.Background(), bus.Query{})
	if err != nil || len(recs) != 1 {
		t.Fatalf("query after a duplicate publish: %d records, %v", len(recs), err)
	}
	if _, err := c.Get(context.Background(), "nope"); !errors.Is(err, bus.ErrNotFound) {
		t.Fatalf("unknown id: %v", err)
	}
}

func TestQueryFiltersCombine(t *testing.T) {
	_, c := start(t)
	msgs := []*subjects.Envelope{
		env(t, "be:2", subjects.High, "be2 high idle", "idle"),
		env(t, "be:2", subjects.Low, "be2 low routine"),
		env(t, "be:3", subjects.Critical, "be3 crashed", "crash"),
		env(t, "be", subjects.Normal, "be whole session"),
		env(t, "fe:1", subjects.High, "fe1 high idle", "idle"),
		env(t, "group:management", subjects.Normal, "mgmt everywhere"),
		env(t, "group:management@be", subjects.Critical, "mgmt for be", "crash"),
		env(t, "group:management@fe", subjects.High, "mgmt for fe"),
	}
	for _, m := range msgs[:4] {
		publish(t, c, m)
	}
	mid := time.Now()
	time.Sleep(5 * time.Millisecond)
	for _, m := range msgs[4:] {
		publish(t, c, m)
	}
	be2, _ := subjects.ParseTarget("be:2")
	be, _ := subjects.ParseTarget("be")
	mgmtBe, _ := subjects.GroupAddress("management", "be")
	for _, tc := range []struct {
		name string
		q    bus.Query
		want string
	}{
		{"all", bus.Query{}, "be2 high idle,be2 low routine,be3 crashed,be whole session,fe1 high idle,mgmt everywhere,mgmt for be,mgmt for fe"},
		{"window", bus.Query{Address: be2}, "be2 high idle,be2 low routine"},
		{"session", bus.Query{Address: be}, "be2 high idle,be2 low routine,be3 crashed,be whole session,mgmt for be"},
		{"group in session", bus.Query{Address: mgmtBe}, "mgmt everywhere,mgmt for be"},
		{"priorities", bus.Query{Priorities: []subjects.Priority{subjects.Critical, subjects.High}}, "be2 high idle,be3 crashed,fe1 high idle,mgmt for be,mgmt for fe"},
		{"tag", bus.Query{Tags: []string{"idle"}}, "be2 high idle,fe1 high idle"},
		{"tags and session", bus.Query{Tags: []string{"crash"}, Address: be}, "be3 crashed,mgmt for be"},
		{"regexp over label", bus.Query{Filter: regexp.MustCompile("HIGH PRIORITY|CRITICAL")}, "be2 high idle,be3 crashed,fe1 high idle,mgmt for be,mgmt for fe"},
		{"regexp over body", bus.Query{Filter: regexp.MustCompile(`^.*\n.*whole`)}, "be whole session"},
		{"since", bus.Query{Since: mid}, "fe1 high idle,mgmt everywhere,mgmt for be,mgmt for fe"},
		{"tail", bus.Query{Tail: 2}, "mgmt for be,mgmt for fe"},
		{"tail of session", bus.Query{Tail: 1, Address: be, Priorities: []subjects.Priority{subjects.High, subjects.Low}}, "be2 low routine"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			recs, err := c.Query(context.Background(), tc.q)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(ids(recs), ","); got != tc.want {
				t.Fatalf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestAckRecordsWhoWhenAndIsIdempotent(t *testing.T) {
	_, c := start(t)
	a := env(t, "pm:1", subjects.Critical, "PM crash detected session:1")
	b := env(t, "pm:1", subjects.Critical, "second")
	publish(t, c, a)
	publish(t, c, b)
	rec, already, err := c.Ack(context.Background(), a.ID, "pm:1", "restarted affected agent")
	if err != nil || already || rec.By != "pm:1" || rec.Note != "restarted affected agent" || time.Since(rec.At) > time.Minute {
		t.Fatalf("ack: %+v %v %v", rec, already, err)
	}
	rec2, already, err := c.Ack(context.Background(), a.ID, "someone-else", "again")
	if err != nil || !already || rec2.By != "pm:1" {
		t.Fatalf("second ack: %+v %v %v", rec2, already, err)
	}
	if _, _, err := c.Ack(context.Background(), "unknown-id", "x", ""); !errors.Is(err, bus.ErrNotFound) {
		t.Fatalf("ack of unknown id: %v", err)
	}
	recs, err := c.Query(context.Background(), bus.Query{})
	if err != nil || len(recs) != 2 || recs[0].Ack == nil || recs[0].Ack.Note != "restarted affected agent" || recs[1].Ack != nil {
		t.Fatalf("ack state in query: %+v %v", recs, err)
	}
	unacked, err := c.Query(context.Background(), bus.Query{Unacked: true})
	if err != nil || strings.Join(ids(unacked), ",") != "second" {
		t.Fatalf("unacked: %v %v", ids(unacked), err)
	}
	st, err := c.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	crit := st.Priorities[0]
	if crit.Priority != subjects.Critical || crit.Published != 2 || crit.Stored != 2 || crit.Acked != 1 || crit.Pending != 1 {
		t.Fatalf("stats %+v", crit)
	}
}

func TestLowFloodNeverEvictsCritical(t *testing.T) {
	cfg := embeddedtest.Config(t)
	no := false
	cfg.Limits["low"] = embedded.Limits{MaxMsgs: 50, MaxBytes: 1 << 20, MaxAge: time.Hour, DiscardNew: &no}
	embeddedtest.Start(t, cfg)
	c := connect(t, cfg)
	crit := env(t, "pm:1", subjects.Critical, "unacked critical")
	high := env(t, "pm:1", subjects.High, "unacked high")
	publish(t, c, crit)
	publish(t, c, high)
	for i := 0; i < 500; i++ {
		publish(t, c, env(t, "be:1", subjects.Low, fmt.Sprintf("low %d", i)))
	}
	for _, id := range []string{crit.ID, high.ID} {
		if _, err := c.Get(context.Background(), id); err != nil {
			t.Fatalf("%s evicted by a low-priority flood: %v", id, err)
		}
	}
	low, _ := c.Query(context.Background(), bus.Query{Priorities: []subjects.Priority{subjects.Low}})
	if len(low) != 50 || low[0].Message.Content.Body != "low 450" {
		t.Fatalf("low stream kept %d, first %q; want the newest 50", len(low), low[0].Message.Content.Body)
	}
}

func TestFullCriticalStreamRefusesLoudly(t *testing.T) {
	cfg := embeddedtest.Config(t)
	cfg.Limits["critical"] = embedded.Limits{MaxMsgs: 3, MaxBytes: 1 << 20, MaxAge: time.Hour}
	embeddedtest.Start(t, cfg)
	c := connect(t, cfg)
	var first string
	for i := 0; i < 3; i++ {
		e := env(t, "pm:1", subjects.Critical, fmt.Sprintf("crit %d", i))
		publish(t, c, e)
		if i == 0 {
			first = e.ID
		}
	}
	_, err := c.Publish(context.Background(), env(t, "pm:1", subjects.Critical, "one too many"))
	if err == nil || !strings.Contains(err.Error(), "maximum messages exceeded") {
		t.Fatalf("publishing into a full critical stream: %v", err)
	}
	if _, err := c.Get(context.Background(), first); err != nil {
		t.Fatalf("oldest critical evicted: %v", err)
	}
}

func TestFollowSeesNewMessagesOnceWithoutGap(t *testing.T) {
	_, c := start(t)
	publish(t, c, env(t, "pm:1", subjects.Normal, "old one"))
	publish(t, c, env(t, "pm:1", subjects.Normal, "old two"))
	pm, _ := subjects.ParseTarget("pm:1")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	var got []string
	done := make(chan error, 1)
	go func() {
		done <- c.QueryAndFollow(ctx, bus.Query{Address: pm, Tail: 1}, func(r bus.Record) error {
			mu.Lock()
			got = append(got, r.Message.Content.Body)
			mu.Unlock()
			return nil
		})
	}()
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == 1 })
	for i := 0; i < 20; i++ {
		publish(t, c, env(t, "pm:1", subjects.Priorities[i%4], fmt.Sprintf("new %d", i)))
		publish(t, c, env(t, "other:1", subjects.High, "not for pm"))
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= 21 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 21 || got[0] != "old two" {
		t.Fatalf("followed %d messages: %v", len(got), got)
	}
	seen := map[string]bool{}
	for _, g := range got {
		if seen[g] {
			t.Fatalf("%q seen twice", g)
		}
		seen[g] = true
	}
}

// waitFor polls cond until it holds or 10 s pass.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestUnqualifiedTargetsResolveTheirHost(t *testing.T) {
	cfg := embeddedtest.Config(t)
	cfg.HostName = "here"
	embeddedtest.Start(t, cfg)
	c := embeddedtest.Connect(t, cfg)
	ctx := context.Background()
	for _, e := range []bus.SessionEntry{{Host: "h1", Session: "solo", Windows: 2, Panes: 3},
		{Host: "h1", Session: "both"}, {Host: "h2", Session: "both"}, {Host: "h3", Session: "gone"},
		{Host: "h2", Session: "odd name.x"}} {
		if err := c.RegisterSession(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.UnregisterSession(ctx, "h3", "gone"); err != nil {
		t.Fatal(err)
	}
	// The same answers from the registry and from a client's watched copy of it.
	watched := embeddedtest.Connect(t, cfg)
	if err := watched.WatchRegistry(ctx); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*bus.Client{c, watched} {
		for _, tc := range []struct{ target, subject, err string }{
			{"solo:1", "orc.normal.h1.solo.1.", ""},                          // one host has it
			{"group:management@solo", "orc.normal.h1.solo.@management.", ""}, // a group in it too
			{"nowhere", "orc.normal.here.nowhere.~.", ""},                    // none: the daemon's host
			{"gone:1", "orc.normal.here.gone.1.", ""},                        // unregistered: as none
			{"h2.both:2", "orc.normal.h2.both.2.", ""},                       // qualified: no lookup
			{"group:all", "orc.normal.~.~.@all.", ""},                        // everywhere: none needed
			{"both:2", "", `session "both" exists on hosts h1 and h2; name one: h1.both:2`},
			{"group:management@both", "", `session "both" exists on hosts h1 and h2; name one: group:management@h1.both`},
		} {
			e := env(t, tc.target, subjects.Normal, "to "+tc.target)
			st, err := c.Publish(ctx, e)
			if tc.err != "" {
				if !errors.Is(err, bus.ErrAmbiguous) || err.Error() != tc.err {
					t.Errorf("%s: got %v, want %q", tc.target, err, tc.err)
				}
				continue
			}
			if err != nil || st.Subject != tc.subject+e.ID {
				t.Errorf("%s: stored on %q (%v), want %q", tc.target, st.Subject, err, tc.subject+e.ID)
			}
		}
	}
	// The watched copy follows registrations and removals made after it was loaded.
	if err := c.RegisterSession(ctx, bus.SessionEntry{Host: "h4", Session: "late"}); err != nil {
		t.Fatal(err)
	}
	if err := c.UnregisterSession(ctx, "h1", "solo"); err != nil {
		t.Fatal(err)
	}
	resolves := func(target, host string) func() bool {
		return func() bool {
			a, _ := subjects.ParseTarget(target)
			return watched.ResolveHost(ctx, &a) == nil && a.Host == host
		}
	}
	waitFor(t, resolves("late:1", "h4"))
	waitFor(t, resolves("solo:1", "here"))
	// ... and answers without a request to the server.
	sent := watched.Conn().Stats().OutMsgs
	both, _ := subjects.ParseTarget("both:1")
	if !resolves("late:1", "h4")() || !errors.Is(watched.ResolveHost(ctx, &both), bus.ErrAmbiguous) || watched.Conn().Stats().OutMsgs != sent {
		t.Fatalf("the watched copy sent %d requests to resolve hosts", watched.Conn().Stats().OutMsgs-sent)
	}
	all, err := c.Sessions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 4 || all[0].Session != "both" || all[2].Session != "late" || all[3].Session != "odd name.x" {
		t.Fatalf("registry: %+v", all)
	}
	if d := bus.Duplicates(all); len(d) != 1 || strings.Join(d["both"], ",") != "h1,h2" {
		t.Fatalf("duplicates: %v", d)
	}
}

func TestAnExistingSessionRegistryIsUsedAsItIs(t *testing.T) {
	_, c := start(t)
	ctx := context.Background()
	js, err := jetstream.New(c.Conn())
	if err != nil {
		t.Fatal(err)
	}
	// The daemon provisions it; give it other settings than a client would.
	if _, err := js.UpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: bus.SessionsBucket, Description: "provisioned",
		TTL: time.Minute, History: 1}); err != nil {
		t.Fatal(err)
	}
	if err := c.RegisterSession(ctx, bus.SessionEntry{Host: "h1", Session: "s"}); err != nil {
		t.Fatal(err)
	}
	kv, err := js.KeyValue(ctx, bus.SessionsBucket)
	if err != nil {
		t.Fatal(err)
	}
	st, err := kv.Status(ctx)
	if err != nil || st.TTL() != time.Minute || st.Values() != 1 {
		t.Fatalf("bucket after use: %+v %v", st, err)
	}
}

// TestClaimIsOnceAndRecognisesItsOwn: the first claim of a message in a pane wins, a second
// gets ErrClaimed; a claim is told apart from another's by its token (what a claim whose
// answer was lost in an election checks before typing).
func TestClaimIsOnceAndRecognisesItsOwn(t *testing.T) {
	_, c := start(t)
	ctx := context.Background()
	if err := c.Claim(ctx, subjects.High, "m1", "h1", "%3"); err != nil {
		t.Fatal(err)
	}
	if err := c.Claim(ctx, subjects.High, "m1", "h1", "%3"); !errors.Is(err, bus.ErrClaimed) {
		t.Fatalf("second claim: %v, want ErrClaimed", err)
	}
	if err := c.Claim(ctx, subjects.High, "m1", "h2", "%3"); err != nil {
		t.Fatalf("the same pane id on another host is another pane: %v", err)
	}
	js, _ := jetstream.New(c.Conn())
	subj := subjects.ReceiptSubjectFor(subjects.High, "claim", "m1", "h1", bus.PaneKey("%3"))
	st, err := js.Stream(ctx, subjects.ReceiptStream)
	if err != nil {
		t.Fatal(err)
	}
	m, err := st.GetLastMsgForSubject(ctx, subj)
	if err != nil {
		t.Fatal(err)
	}
	var stored struct{ Token string }
	if err := json.Unmarshal(m.Data, &stored); err != nil || stored.Token == "" {
		t.Fatalf("claim %s carries no token: %v", m.Data, err)
	}
	if !bus.OwnClaim(c, ctx, subj, stored.Token) {
		t.Fatal("a claim's own token is not recognised")
	}
	if bus.OwnClaim(c, ctx, subj, "someone-else") {
		t.Fatal("another token is taken for the claim's own")
	}
}

// TestReleasedClaimIsTakenOnce: a claim given back un-typed (a bridge stopping) lets the
// next claim succeed, once; OutcomeFor no longer reports it claimed.
func TestReleasedClaimIsTakenOnce(t *testing.T) {
	_, c := start(t)
	ctx := context.Background()
	if err := c.Claim(ctx, subjects.Normal, "m2", "h1", "%4"); err != nil {
		t.Fatal(err)
	}
	if _, claimed, err := c.OutcomeFor(ctx, subjects.Normal, "m2", "h1", "%4"); err != nil || !claimed {
		t.Fatalf("claimed %v, %v", claimed, err)
	}
	if err := c.Release(ctx, subjects.Normal, "m2", "h1", "%4"); err != nil {
		t.Fatal(err)
	}
	if _, claimed, err := c.OutcomeFor(ctx, subjects.Normal, "m2", "h1", "%4"); err != nil || claimed {
		t.Fatalf("after release: claimed %v, %v", claimed, err)
	}
	if err := c.Claim(ctx, subjects.Normal, "m2", "h1", "%4"); err != nil {
		t.Fatalf("claim after release: %v", err)
	}
	if err := c.Claim(ctx, subjects.Normal, "m2", "h1", "%4"); !errors.Is(err, bus.ErrClaimed) {
		t.Fatalf("second claim after release: %v, want ErrClaimed", err)
	}
}
