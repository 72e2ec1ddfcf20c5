package embedded_test

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"
	"go.uber.org/zap"

	"github.com/tmux-orc/tmux-orc/embedded"
	"github.com/tmux-orc/tmux-orc/internal/embeddedtest"
	"github.com/tmux-orc/tmux-orc/internal/home"
	"github.com/tmux-orc/tmux-orc/subjects"
)

func TestStartProvisionsStreamsAndRequiresCredentials(t *testing.T) {
	cfg := embeddedtest.Config(t)
	s := embeddedtest.Start(t, cfg)
	url := s.ClientURLs()[0]
	if !strings.HasPrefix(url, "nats://127.0.0.1:") {
		t.Fatalf("listens on %s, want loopback", url)
	}
	// Without credentials, and with wrong ones, the connection is refused.
	if nc, err := nats.Connect(url); err == nil {
		nc.Close()
		t.Fatal("connected without credentials")
	}
	if nc, err := nats.Connect(url, nats.UserInfo("orc", "guess")); err == nil {
		nc.Close()
		t.Fatal("connected with a user and password")
	}
	other, _ := nkeys.CreateUser()
	otherSeed, _ := other.Seed()
	otherFile := t.TempDir() + "/other.nk"
	os.WriteFile(otherFile, otherSeed, 0o600)
	otherOpt, _ := nats.NkeyOptionFromSeed(otherFile)
	if nc, err := nats.Connect(url, otherOpt); err == nil {
		nc.Close()
		t.Fatal("connected with a key the daemon did not generate")
	}
	fi, err := os.Stat(cfg.Home.CredentialsFile())
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("credentials file: %v, mode %v", err, fi.Mode())
	}
	seed, err := nats.NkeyOptionFromSeed(cfg.Home.CredentialsFile())
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(url, seed)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	for _, p := range subjects.Priorities {
		st, err := js.Stream(context.Background(), p.Stream())
		if err != nil {
			t.Fatalf("stream %s: %v", p.Stream(), err)
		}
		if got := st.CachedInfo().Config.Subjects[0]; got != "orc."+p.String()+".>" {
			t.Fatalf("stream %s subjects %q", p.Stream(), got)
		}
	}
	ci, err := cfg.Home.ReadConnInfo()
	if err != nil || ci.URLs[0] != url || ci.PID != os.Getpid() {
		t.Fatalf("conn info %+v %v", ci, err)
	}
	// The nats CLI context points at the daemon with the same credentials.
	path, _ := embedded.NATSContextPath(cfg.NATSContext)
	b, err := os.ReadFile(path)
	if err != nil || !strings.Contains(string(b), url) || !strings.Contains(string(b), cfg.Home.CredentialsFile()) {
		t.Fatalf("nats context %s: %v\n%s", path, err, b)
	}
}

// Two daemons on two data directories write two contexts; one named like another
// daemon's is left alone.
func TestNATSContextPerDataDirectory(t *testing.T) {
	a := embeddedtest.Config(t)
	xdg := os.Getenv("XDG_CONFIG_HOME")
	b := embeddedtest.Config(t)
	t.Setenv("XDG_CONFIG_HOME", xdg)
	if a.NATSContext == b.NATSContext || !strings.HasPrefix(a.NATSContext, "tmux-orc-") {
		t.Fatalf("contexts %q and %q", a.NATSContext, b.NATSContext)
	}
	if got := embedded.DefaultNATSContext(home.Dir("/tmp/orc/n1/home")); got != "tmux-orc-n1-home" {
		t.Errorf("DefaultNATSContext = %q", got)
	}
	embeddedtest.Start(t, a)
	embeddedtest.Start(t, b)
	pa, _ := embedded.NATSContextPath(a.NATSContext)
	pb, _ := embedded.NATSContextPath(b.NATSContext)
	ba, errA := os.ReadFile(pa)
	bb, errB := os.ReadFile(pb)
	if errA != nil || errB != nil || !strings.Contains(string(ba), string(a.Home)) || !strings.Contains(string(bb), string(b.Home)) {
		t.Fatalf("contexts:\n%s\n%s\n%v %v", ba, bb, errA, errB)
	}
	c := embeddedtest.Config(t)
	t.Setenv("XDG_CONFIG_HOME", xdg)
	c.NATSContext = a.NATSContext // a third daemon told to use the first one's name
	embeddedtest.Start(t, c)
	if again, _ := os.ReadFile(pa); string(again) != string(ba) {
		t.Fatalf("another daemon's context was overwritten:\n%s", again)
	}
}

func TestOneDaemonPerDataDirectory(t *testing.T) {
	cfg := embeddedtest.Config(t)
	embeddedtest.Start(t, cfg)
	running, pid := cfg.Home.Running()
	if !running || pid != os.Getpid() {
		t.Fatalf("Running() = %v, %d", running, pid)
	}
	cfg2 := cfg
	cfg2.SetPort(0)
	_, err := embedded.Start(context.Background(), cfg2, zap.NewNop())
	if !errors.Is(err, home.ErrLocked) {
		t.Fatalf("second daemon on the same directory: %v, want ErrLocked", err)
	}
}

func TestPortInUseIsAClearError(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	cfg := embeddedtest.Config(t)
	cfg.Listen = l.Addr().String()
	_, err = embedded.Start(context.Background(), cfg, zap.NewNop())
	if !errors.Is(err, embedded.ErrPortInUse) || !strings.Contains(err.Error(), "--port") {
		t.Fatalf("got %v", err)
	}
	// The failed start released the lock.
	if running, _ := cfg.Home.Running(); running {
		t.Fatal("lock still held after a failed start")
	}
}

func TestConfigValidation(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(c *embedded.Config)
		want   string
	}{
		{"public listener", func(c *embedded.Config) { c.Listen = "0.0.0.0:4222" }, "refused without tls and users"},
		{"public listener with users but no tls", func(c *embedded.Config) {
			c.Listen = "0.0.0.0:4222"
			c.Users = []embedded.User{{Name: "a", NKey: userPub(t), Role: "agent"}}
		}, "refused without tls and users"},
		{"tls without key", func(c *embedded.Config) { c.TLS = embedded.TLS{Cert: "/x.pem", CA: "/ca.pem"} }, "tls.key is required"},
		{"tls file missing", func(c *embedded.Config) { c.TLS = embedded.TLS{Cert: "/nonexistent.pem", Key: "/k", CA: "/c"} }, "tls.cert"},
		{"bad nkey", func(c *embedded.Config) { c.Users = []embedded.User{{Name: "a", NKey: "SUABC", Role: "agent"}} }, "not an NKey user public key"},
		{"bad role", func(c *embedded.Config) { c.Users = []embedded.User{{Name: "a", NKey: userPub(t), Role: "root"}} }, `role "root"`},
		{"bridge without host", func(c *embedded.Config) { c.Users = []embedded.User{{Name: "b", NKey: userPub(t), Role: "bridge"}} }, "role bridge needs host"},
		{"cluster without routes", func(c *embedded.Config) { c.Cluster = embedded.Cluster{Name: "x", Listen: "127.0.0.1:6222"} }, "cluster.routes is empty"},
		{"cluster replicas above nodes", func(c *embedded.Config) {
			c.Cluster = embedded.Cluster{Name: "x", Listen: "127.0.0.1:6222", Routes: []string{"nats://127.0.0.1:6222", "nats://127.0.0.1:6223"}, Replicas: 3}
		}, "more than the 2 nodes"},
		{"cluster of one", func(c *embedded.Config) {
			c.Cluster = embedded.Cluster{Name: "x", Listen: "127.0.0.1:6222", Routes: []string{"nats://127.0.0.1:6222"}}
		}, "needs at least two"},
		{"public routes without tls", func(c *embedded.Config) {
			c.Cluster = embedded.Cluster{Name: "x", Listen: "0.0.0.0:6222", Routes: []string{"nats://h1:6222", "nats://h2:6222", "nats://h3:6222"}}
		}, "routes authenticate by certificate"},
		{"bad route", func(c *embedded.Config) {
			c.Cluster = embedded.Cluster{Name: "x", Listen: "127.0.0.1:6222", Routes: []string{"nats://127.0.0.1:6222", "h2:6222"}}
		}, "want a URL"},
		{"public websocket", func(c *embedded.Config) { c.Websocket.Listen = "0.0.0.0:8080" }, "websocket.listen"},
		{"bad host name", func(c *embedded.Config) { c.HostName = "h1.example.com" }, "host_name"},
		{"bad port", func(c *embedded.Config) { c.Listen = "127.0.0.1:99999" }, "port must be"},
		{"bad sync", func(c *embedded.Config) { c.Sync = "sometimes" }, "sync"},
		{"bad priority", func(c *embedded.Config) { c.Limits["urgent"] = embedded.Limits{} }, "unknown priority"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := embedded.DefaultConfig(home.Dir(t.TempDir()))
			tc.mutate(&cfg)
			if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}

func userPub(t *testing.T) string {
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := kp.PublicKey()
	return pub
}

// TestInsecureOptIn: a public listener without TLS is accepted only when asked for.
func TestInsecureOptIn(t *testing.T) {
	cfg := embedded.DefaultConfig(home.Dir(t.TempDir()))
	cfg.Listen = "0.0.0.0:4222"
	cfg.AllowInsecure = true
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestConfigFile(t *testing.T) {
	dir := home.Dir(t.TempDir())
	os.WriteFile(dir.ConfigFile(), []byte("listen: 127.0.0.1:15999\nsync: 1s\nlimits:\n  low:\n    max_msgs: 10\n    max_bytes: 1MiB\n"), 0o600)
	cfg := embedded.DefaultConfig(dir)
	if err := cfg.LoadFile(dir.ConfigFile()); err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "127.0.0.1:15999" || cfg.Sync != "1s" || cfg.Limits["low"].MaxMsgs != 10 ||
		cfg.Limits["low"].MaxBytes != 1<<20 || cfg.Limits["low"].MaxAge == 0 {
		t.Fatalf("merged config %+v", cfg)
	}
	os.WriteFile(dir.ConfigFile(), []byte("lisen: 1\n"), 0o600)
	if err := cfg.LoadFile(dir.ConfigFile()); err == nil || !strings.Contains(err.Error(), "lisen") {
		t.Fatalf("unknown key: %v", err)
	}
}
