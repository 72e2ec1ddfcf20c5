package embedded_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"
	"go.uber.org/zap"

	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/embedded"
	"github.com/tmux-orc/tmux-orc/internal/embeddedtest"
	"github.com/tmux-orc/tmux-orc/subjects"
)

// roleConn is a connection as one configured user, with the server's asynchronous
// permission errors collected.
type roleConn struct {
	nc   *nats.Conn
	errs chan error
}

func newUser(t *testing.T, dir, name string) (seedFile, pub string) {
	t.Helper()
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	seed, _ := kp.Seed()
	pub, _ = kp.PublicKey()
	seedFile = filepath.Join(dir, name+".nk")
	if err := os.WriteFile(seedFile, seed, 0o600); err != nil {
		t.Fatal(err)
	}
	return seedFile, pub
}

func dialAs(t *testing.T, url, seedFile string) *roleConn {
	t.Helper()
	rc := &roleConn{errs: make(chan error, 64)}
	opt, err := nats.NkeyOptionFromSeed(seedFile)
	if err != nil {
		t.Fatal(err)
	}
	rc.nc, err = nats.Connect(url, opt, nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		select {
		case rc.errs <- err:
		default:
		}
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rc.nc.Close)
	return rc
}

// verdict publishes to subj and returns the permission error the server reported, or nil.
func (rc *roleConn) verdict(t *testing.T, subj string, data []byte) error {
	t.Helper()
	for len(rc.errs) > 0 {
		<-rc.errs
	}
	if err := rc.nc.PublishRequest(subj, rc.nc.NewRespInbox(), data); err != nil {
		t.Fatal(err)
	}
	if err := rc.nc.FlushTimeout(2 * time.Second); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-rc.errs:
		return err
	case <-time.After(300 * time.Millisecond):
		return nil
	}
}

func (rc *roleConn) refused(t *testing.T, who, what, subj string) {
	t.Helper()
	err := rc.verdict(t, subj, []byte("{}"))
	if err == nil || !strings.Contains(strings.ToLower(err.Error()), "permissions violation") {
		t.Errorf("%s may %s (%s): %v", who, what, subj, err)
	}
}

func (rc *roleConn) allowed(t *testing.T, who, what, subj string) {
	t.Helper()
	if err := rc.verdict(t, subj, []byte("{}")); err != nil {
		t.Errorf("%s may not %s (%s): %v", who, what, subj, err)
	}
}

// TestRolesAreLimitedToTheirOwn configures one user per role and checks, operation by
// operation, what each may and may not do (a refused operation is a permissions violation).
func TestRolesAreLimitedToTheirOwn(t *testing.T) {
	cfg := embeddedtest.Config(t)
	keys := t.TempDir()
	seeds := map[string]string{}
	for _, u := range []embedded.User{{Name: "admin", Role: embedded.RoleAdmin}, {Name: "pm", Role: embedded.RolePM},
		{Name: "agents", Role: embedded.RoleAgent}, {Name: "bridge-h1", Role: embedded.RoleBridge, Host: "h1"},
		{Name: "bridge-h2", Role: embedded.RoleBridge, Host: "h2"}, {Name: "bridge-normal", Role: embedded.RoleBridge, Host: "normal"}} {
		seed, pub := newUser(t, keys, u.Name)
		u.NKey = pub
		seeds[u.Name] = seed
		cfg.Users = append(cfg.Users, u)
	}
	srv := embeddedtest.Start(t, cfg)
	url := srv.ClientURLs()[0]

	// A bridge consumer of host h1, created by its bridge.
	b1 := dialAs(t, url, seeds["bridge-h1"])
	bjs, _ := jetstream.New(b1.nc)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	durable := bus.HostDurable("h1")
	if _, err := bjs.CreateOrUpdateConsumer(ctx, subjects.Normal.Stream(), jetstream.ConsumerConfig{Durable: durable,
		FilterSubject: subjects.HostSubjects(subjects.Normal, "h1"), AckPolicy: jetstream.AckExplicitPolicy}); err != nil {
		t.Fatalf("bridge h1 creating its consumer: %v", err)
	}
	if _, err := bjs.CreateOrUpdateConsumer(ctx, subjects.Normal.Stream(), jetstream.ConsumerConfig{Durable: bus.EverywhereDurable("h1"),
		FilterSubject: subjects.EverywhereSubjects(subjects.Normal), AckPolicy: jetstream.AckExplicitPolicy}); err != nil {
		t.Fatalf("bridge h1 creating its consumer of groups everywhere: %v", err)
	}

	agent := dialAs(t, url, seeds["agents"])
	pm := dialAs(t, url, seeds["pm"])
	for who, rc := range map[string]*roleConn{"an agent": agent, "a pm": pm} {
		rc.allowed(t, who, "publish a message", "orc.normal.h1.backend.~.m1")
		rc.allowed(t, who, "acknowledge a message", "orc.ack.normal.m1")
		rc.allowed(t, who, "ask a monitor for its status", "orc.sys.monitor.status.h1")
		rc.refused(t, who, "delete a bridge's consumer", "$JS.API.CONSUMER.DELETE."+subjects.Normal.Stream()+"."+durable)
		rc.refused(t, who, "create a legacy durable consumer", "$JS.API.CONSUMER.DURABLE.CREATE."+subjects.Normal.Stream()+".mine")
		rc.refused(t, who, "acknowledge a bridge's JetStream message", "$JS.ACK."+subjects.Normal.Stream()+"."+durable+".1.1.1.1.0")
		rc.refused(t, who, "record a delivery", "orc.receipt.normal.delivered.m1.h1.p1")
		rc.refused(t, who, "record a claim", "orc.receipt.normal.claim.m1.h1.p1")
		rc.refused(t, who, "delete a stream", "$JS.API.STREAM.DELETE."+subjects.Normal.Stream())
	}
	agent.refused(t, "an agent", "restart an agent", "orc.sys.monitor.restart.h1")
	agent.refused(t, "an agent", "stop a monitor", "orc.sys.monitor.control.h1")
	pm.allowed(t, "a pm", "restart an agent", "orc.sys.monitor.restart.h1")
	pm.allowed(t, "a pm", "stop a monitor", "orc.sys.monitor.control.h1")

	// A bridge records receipts and claims for its own host's panes only.
	b2 := dialAs(t, url, seeds["bridge-h2"])
	b1.allowed(t, "bridge h1", "record a delivery in its own pane", "orc.receipt.normal.delivered.m1.h1.p1")
	b1.allowed(t, "bridge h1", "claim for its own pane", "orc.receipt.normal.claim.m1.h1.none")
	// A claim refused because one is stored is read from the stream's leader; the bridge may
	// ask for it, and so tells another's claim (ErrClaimed) from a failed read.
	bc, err := bus.NewFromConn(b1.nc, "h1", zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	if err := bc.Claim(ctx, subjects.Normal, "m9", "h1", "%1"); err != nil {
		t.Fatalf("bridge h1 claiming for its own pane: %v", err)
	}
	if err := bc.Claim(ctx, subjects.Normal, "m9", "h1", "%1"); !errors.Is(err, bus.ErrClaimed) {
		t.Fatalf("bridge h1 claiming a claimed message again: %v, want bus.ErrClaimed", err)
	}
	b2.refused(t, "bridge h2", "record a delivery in h1's pane", "orc.receipt.normal.delivered.m1.h1.p1")
	b2.refused(t, "bridge h2", "claim a message for h1's pane", "orc.receipt.normal.claim.m2.h1.p1")
	b2.refused(t, "bridge h2", "publish an alert to h1's sessions", "orc.high.h1.backend.@management.a1")
	b2.refused(t, "bridge h2", "restart h1's agents", "orc.sys.monitor.restart.h1")

	// A bridge creates or changes only its own consumers, by name and filter: not another
	// host's (which would take or divert that host's messages), not one of another name.
	create := func(p subjects.Priority, name, filter string) string {
		return "$JS.API.CONSUMER.CREATE." + p.Stream() + "." + name + "." + filter
	}
	for _, p := range subjects.Priorities {
		b2.allowed(t, "bridge h2", "create its consumer of its sessions", create(p, bus.HostDurable("h2"), subjects.HostSubjects(p, "h2")))
		b2.allowed(t, "bridge h2", "create its consumer of groups everywhere", create(p, bus.EverywhereDurable("h2"), subjects.EverywhereSubjects(p)))
	}
	b2.refused(t, "bridge h2", "create h1's consumer", create(subjects.Normal, bus.HostDurable("h1"), subjects.HostSubjects(subjects.Normal, "h1")))
	b2.refused(t, "bridge h2", "set h1's consumer on its own subjects", create(subjects.Normal, bus.HostDurable("h1"), subjects.HostSubjects(subjects.Normal, "h2")))
	b2.refused(t, "bridge h2", "set h1's groups consumer on its own subjects", create(subjects.Normal, bus.EverywhereDurable("h1"), subjects.EverywhereSubjects(subjects.Normal)))
	b2.refused(t, "bridge h2", "consume h1's sessions under its own name", create(subjects.Normal, bus.HostDurable("h2"), subjects.HostSubjects(subjects.Normal, "h1")))
	b2.refused(t, "bridge h2", "consume under another name", create(subjects.Normal, "steal", subjects.HostSubjects(subjects.Normal, "h2")))
	b2.refused(t, "bridge h2", "put its consumer on another stream", create(subjects.High, bus.HostDurable("h2"), subjects.HostSubjects(subjects.Normal, "h2")))
	b2.refused(t, "bridge h2", "create a consumer without a filter", "$JS.API.CONSUMER.CREATE."+subjects.Normal.Stream()+"."+bus.HostDurable("h2"))
	b2.refused(t, "bridge h2", "delete h1's consumer", "$JS.API.CONSUMER.DELETE."+subjects.Normal.Stream()+"."+durable)
	bn := dialAs(t, url, seeds["bridge-normal"])
	bn.refused(t, "bridge of host normal", "consume host h1's normal messages", create(subjects.Normal, bus.HostDurable("normal"), "orc.normal.h1.>"))

	// An agent reads through the bus (ephemeral consumers it may not delete expire by
	// themselves) and the bridge's consumer is untouched.
	ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ac, err := bus.Connect(ctx, bus.Options{Home: cfg.Home, Creds: seeds["agents"]})
	if err != nil {
		t.Fatal(err)
	}
	defer ac.Close()
	a, _ := subjects.ParseTarget("h1.backend")
	if _, err := ac.Query(ctx, bus.Query{Address: a}); err != nil {
		t.Fatalf("an agent's read: %v", err)
	}
	if _, err := bjs.Consumer(ctx, subjects.Normal.Stream(), durable); err != nil {
		t.Fatalf("the bridge's consumer: %v", err)
	}
}
