package embedded_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/tmux-orc/tmux-orc/embedded"
	"github.com/tmux-orc/tmux-orc/internal/clustertest"
	"github.com/tmux-orc/tmux-orc/internal/embeddedtest"
	"github.com/tmux-orc/tmux-orc/subjects"
)

// TestClusterOfThreeProvisionsReplicatedStreams starts three nodes in one process (each
// a real server with its own directory and ports) in reverse order, as hosts booting at
// different times would, and checks that all become ready with R3 streams.
func TestClusterOfThreeProvisionsReplicatedStreams(t *testing.T) {
	ports := clustertest.FreePorts(t, 6)
	var routes []string
	for i := range 3 {
		routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", ports[3+i]))
	}
	cfgs := make([]embedded.Config, 3)
	secret := filepath.Join(t.TempDir(), "route.secret")
	for i := range 3 {
		cfgs[i] = embeddedtest.Config(t)
		cfgs[i].ServerName = fmt.Sprintf("n%d", i+1)
		cfgs[i].SetPort(ports[i])
		cfgs[i].MetricsListen = "off"
		cfgs[i].NATSContext = ""
		cfgs[i].Cluster = embedded.Cluster{Name: "orc-test", Listen: fmt.Sprintf("127.0.0.1:%d", ports[3+i]), Routes: routes, SecretFile: secret}
	}
	servers := make([]*embedded.Server, 3)
	errs := make([]error, 3)
	var wg sync.WaitGroup
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for i := 2; i >= 0; i-- {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			servers[i], errs[i] = embedded.Start(ctx, cfgs[i], zaptest.NewLogger(t, zaptest.Level(zap.InfoLevel)).Named(cfgs[i].ServerName))
			t.Logf("%s ready after %v", cfgs[i].ServerName, time.Since(t0))
		}()
		time.Sleep(300 * time.Millisecond)
	}
	wg.Wait()
	for i, s := range servers {
		if errs[i] != nil {
			t.Fatalf("node %d: %v", i+1, errs[i])
		}
		t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	}
	c := embeddedtest.Connect(t, cfgs[0])
	js, _ := jetstream.New(c.Conn())
	for _, name := range []string{subjects.Critical.Stream(), subjects.Low.Stream(), subjects.AckStream, subjects.ReceiptStream} {
		st, err := js.Stream(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		info := st.CachedInfo()
		// What a node provisioned has all of its settings, so that a node starting later
		// sends no update; a changed limit does send one.
		for _, want := range cfgs[2].StreamConfigs(3) {
			if want.Name != name {
				continue
			}
			if !embedded.HasSettings(info.Config, want) {
				t.Fatalf("stream %s lacks its settings:\n%+v\n%+v", name, info.Config, want)
			}
			want.MaxAge++
			if embedded.HasSettings(info.Config, want) {
				t.Fatalf("stream %s: a changed max age goes unseen", name)
			}
		}
		if info.Config.Replicas != 3 || info.Cluster == nil || info.Cluster.Leader == "" || len(info.Cluster.Replicas) != 2 {
			t.Fatalf("stream %s: replicas %d, cluster %+v", name, info.Config.Replicas, info.Cluster)
		}
	}
	for _, want := range []jetstream.KeyValueConfig{cfgs[1].RegistryConfig(), cfgs[1].MonitorStateConfig()} {
		want.Replicas = 3 // the default a started node fills in
		kv, err := js.KeyValue(ctx, want.Bucket)
		if err != nil {
			t.Fatal(err)
		}
		st, err := kv.Status(ctx)
		if err != nil || !embedded.BucketHas(st, want) {
			t.Fatalf("bucket %s lacks its settings: %v", want.Bucket, err)
		}
		want.History++
		if embedded.BucketHas(st, want) {
			t.Fatalf("bucket %s: a changed history goes unseen", want.Bucket)
		}
	}
	st := servers[1].Status(true)
	if st.Cluster == nil || len(st.Cluster.Members) != 3 || st.Cluster.MetaLeader == "" {
		t.Fatalf("status cluster %+v", st.Cluster)
	}
	if brief := servers[1].Status(false); brief.Cluster != nil {
		t.Fatal("the brief status carries the cluster")
	}

	// A node restarted into a cluster whose leader does not create a stream it knows (an
	// older version in a rolling upgrade; here the stream was deleted) creates it itself
	// after createGrace. The meta leader stays where it is, so the restarted node is not it.
	embedded.SetCreateGrace(t, time.Second)
	i, leader := 0, 0
	for cfgs[i].ServerName == st.Cluster.MetaLeader {
		i++
	}
	for cfgs[leader].ServerName != st.Cluster.MetaLeader {
		leader++
	}
	js, _ = jetstream.New(embeddedtest.Connect(t, cfgs[leader]).Conn())
	if err := servers[i].Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := js.DeleteStream(ctx, subjects.ScheduleStream); err != nil {
		t.Fatal(err)
	}
	rctx, rcancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer rcancel()
	again, err := embedded.Start(rctx, cfgs[i], zaptest.NewLogger(t, zaptest.Level(zap.InfoLevel)).Named(cfgs[i].ServerName+"-again"))
	if err != nil {
		t.Fatalf("restarting %s: %v", cfgs[i].ServerName, err)
	}
	t.Cleanup(func() { _ = again.Shutdown(context.Background()) })
	if sst, err := js.Stream(ctx, subjects.ScheduleStream); err != nil || sst.CachedInfo().Config.Replicas != 3 {
		t.Fatalf("the deleted stream after %s restarted: %v", cfgs[i].ServerName, err)
	}
}

// TestWebsocketListener: off by default; when configured, a client connects over ws:// with
// the same credentials and sees the same streams.
func TestWebsocketListener(t *testing.T) {
	cfg := embeddedtest.Config(t)
	s := embeddedtest.Start(t, cfg)
	if s.NATS().WebsocketURL() != "" && !strings.HasSuffix(s.NATS().WebsocketURL(), ":0") {
		t.Fatalf("websocket on by default: %s", s.NATS().WebsocketURL())
	}
	s.Shutdown(context.Background())

	cfg = embeddedtest.Config(t)
	port := clustertest.FreePorts(t, 1)[0]
	cfg.Websocket.Listen = fmt.Sprintf("127.0.0.1:%d", port)
	embeddedtest.Start(t, cfg)
	seed, err := nats.NkeyOptionFromSeed(cfg.Home.CredentialsFile())
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(fmt.Sprintf("ws://127.0.0.1:%d", port), seed)
	if err != nil {
		t.Fatalf("websocket connect: %v", err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	if _, err := js.Stream(context.Background(), subjects.Critical.Stream()); err != nil {
		t.Fatal(err)
	}
	if nc2, err := nats.Connect(fmt.Sprintf("ws://127.0.0.1:%d", port)); err == nil {
		nc2.Close()
		t.Fatal("websocket connection without credentials accepted")
	}
}
