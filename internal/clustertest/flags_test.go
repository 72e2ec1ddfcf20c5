package clustertest_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tmux-orc/tmux-orc/internal/clustertest"
	"github.com/tmux-orc/tmux-orc/subjects"
)

// TestClusterFromFlags starts three daemons with flags only (their host names too) (no configuration file), as
// the README shows, one of them with a WebSocket listener, and reads the cluster back with
// `tmux-orc pubsub status`.
func TestClusterFromFlags(t *testing.T) {
	if testing.Short() {
		t.Skip("three daemons")
	}
	ports := clustertest.FreePorts(t, 7)
	var routes []string
	for i := range 3 {
		routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", ports[3+i]))
	}
	homes := make([]string, 3)
	secret := filepath.Join(t.TempDir(), "route.secret")
	env := func(i int) []string {
		return append(os.Environ(), "TMUX_ORC_HOME="+homes[i], "XDG_CONFIG_HOME="+filepath.Join(homes[i], "xdg"),
			"TMUX_ORC_TMUX_SOCKET=orc-clustertest-none", "TMUX_ORC_URL=", "TMUX_ORC_PORT=", "TMUX_ORC_LISTEN=", "TMUX_ORC_METRICS_LISTEN=off")
	}
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range 3 {
		homes[i] = filepath.Join(t.TempDir(), "home")
		args := []string{"daemon", "start", "--no-bridge", "--no-monitor", "--server-name", fmt.Sprintf("f%d", i+1), "--host", fmt.Sprintf("host%d", i+1),
			"--cluster-name", "flags", "--cluster-listen", fmt.Sprintf("127.0.0.1:%d", ports[3+i]),
			"--routes", strings.Join(routes, ","), "--replicas", "3", "--cluster-secret", secret, "--listen", fmt.Sprintf("127.0.0.1:%d", ports[i])}
		if i == 0 {
			args = append(args, "--websocket-listen", fmt.Sprintf("127.0.0.1:%d", ports[6]))
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(clustertest.Bin, args...)
			cmd.Env = env(i)
			if out, err := cmd.CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("f%d: %v\n%s", i+1, err, out)
			}
		}()
	}
	wg.Wait()
	t.Cleanup(func() {
		for i := range 3 {
			cmd := exec.Command(clustertest.Bin, "daemon", "stop")
			cmd.Env = env(i)
			_ = cmd.Run()
		}
	})
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(clustertest.Bin, "pubsub", "status")
	cmd.Env = env(1)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("pubsub status: %v\n%s", err, out)
	}
	status := string(out)
	for _, want := range []string{"server:       f2", "host:         host2", "cluster flags: 3 nodes, a majority of 2 needed; meta leader f", "f1 ", "f3 ", "ORC_CRITICAL", "ORC_NORMAL", "KV_ORC_SESSIONS",
		"routes authenticate by: route secret, without TLS: loopback only"} {
		if !strings.Contains(status, want) {
			t.Errorf("pubsub status lacks %q:\n%s", want, status)
		}
	}
	t.Logf("pubsub status:\n%s", status)

	// The WebSocket listener takes the same users (the data directory's own, here).
	seed, err := nats.NkeyOptionFromSeed(filepath.Join(homes[0], "auth", "orc-user.nk"))
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(fmt.Sprintf("ws://127.0.0.1:%d", ports[6]), seed)
	if err != nil {
		t.Fatalf("websocket: %v", err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	st, err := js.Stream(context.Background(), subjects.Critical.Stream())
	if err != nil || st.CachedInfo().Config.Replicas != 3 {
		t.Fatalf("stream over websocket: %v", err)
	}

	rogueRoute(t, nc, routes)
}

// rogueRoute runs a stranger's nats-server (the library, in process, with JetStream and
// the cluster's account and name, but without the route secret) with routes to every node,
// and checks that it never becomes a route, sees no message and stores nothing.
func rogueRoute(t *testing.T, nc *nats.Conn, routes []string) {
	t.Helper()
	ports := clustertest.FreePorts(t, 2)
	conf := fmt.Sprintf("server_name: rogue\nlisten: 127.0.0.1:%d\njetstream {store_dir: %q}\n"+
		"accounts {ORC {jetstream: enabled, users: [{user: eve, password: eve}]}}\n"+
		"cluster {name: flags, listen: 127.0.0.1:%d, routes: [%s]}\n", ports[0], t.TempDir(), ports[1], strings.Join(routes, ", "))
	opts := &server.Options{}
	if err := opts.ProcessConfigString(conf); err != nil {
		t.Fatal(err)
	}
	opts.NoSigs = true
	rogue, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	go rogue.Start()
	defer rogue.Shutdown()
	if !rogue.ReadyForConnections(5 * time.Second) {
		t.Fatal("the rogue server did not start")
	}
	eve, err := nats.Connect(fmt.Sprintf("nats://eve:eve@127.0.0.1:%d", ports[0]), nats.NoEcho())
	if err != nil {
		t.Fatal(err)
	}
	defer eve.Close()
	seen := make(chan *nats.Msg, 16)
	if _, err := eve.ChanSubscribe("orc.>", seen); err != nil {
		t.Fatal(err)
	}
	// Give the rogue time to try its routes, then publish for real and forge.
	time.Sleep(3 * time.Second)
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := js.Publish(ctx, "orc.critical.host1.secret-plans.~.real1", []byte("not for eve")); err != nil {
		t.Fatalf("publishing on the cluster: %v", err)
	}
	forged := "orc.critical.host1.backend.~.forged1"
	_ = eve.Publish(forged, []byte("admin@forged"))
	ejs, _ := jetstream.New(eve)
	fctx, fcancel := context.WithTimeout(context.Background(), 2*time.Second)
	_, ferr := ejs.Publish(fctx, forged, []byte("admin@forged"))
	fcancel()
	t.Logf("the rogue's JetStream publish: %v", ferr)
	select {
	case m := <-seen:
		t.Errorf("the rogue read %s: %q", m.Subject, m.Data)
	case <-time.After(2 * time.Second):
	}
	if n := rogue.NumRoutes(); n != 0 {
		t.Errorf("the rogue has %d routes to the cluster", n)
	}
	st, err := js.Stream(ctx, subjects.Critical.Stream())
	if err != nil {
		t.Fatal(err)
	}
	if m, err := st.GetLastMsgForSubject(ctx, forged); err == nil {
		t.Errorf("the cluster stored the forged message: %q", m.Data)
	} else if !errors.Is(err, jetstream.ErrMsgNotFound) {
		t.Errorf("looking for the forged message: %v", err)
	}
}
