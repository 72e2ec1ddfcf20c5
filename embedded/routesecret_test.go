package embedded_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/tmux-orc/tmux-orc/embedded"
	"github.com/tmux-orc/tmux-orc/internal/home"
)

// TestClusterWithoutTLSIsLoopbackOnlyWithASecret: without TLS a cluster needs a route
// secret and loopback addresses, --allow-insecure or not.
func TestClusterWithoutTLSIsLoopbackOnlyWithASecret(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "route.secret")
	base := func() embedded.Config {
		c := embedded.DefaultConfig(home.Dir(t.TempDir()))
		c.Cluster = embedded.Cluster{Name: "c", Listen: "127.0.0.1:6222", Routes: []string{"nats://127.0.0.1:6222", "nats://127.0.0.1:6223"}, SecretFile: secret}
		return c
	}
	ok := base()
	if err := ok.Validate(); err != nil {
		t.Fatalf("loopback cluster with a secret: %v", err)
	}
	for name, tc := range map[string]struct {
		mutate func(*embedded.Config)
		want   string
	}{
		"no secret":           {func(c *embedded.Config) { c.Cluster.SecretFile = "" }, "needs a route secret"},
		"listen off loopback": {func(c *embedded.Config) { c.Cluster.Listen = "0.0.0.0:6222"; c.AllowInsecure = true }, "loopback only"},
		"route off loopback":  {func(c *embedded.Config) { c.Cluster.Routes[1] = "nats://10.0.0.2:6222"; c.AllowInsecure = true }, "loopback only"},
		"advertise elsewhere": {func(c *embedded.Config) { c.Cluster.Advertise = "10.0.0.1:6222" }, "loopback only"},
		"control in a route":  {func(c *embedded.Config) { c.Cluster.Routes[1] = "nats://127.0.0.1:6223\n" }, "want a URL"},
		"newline in the name": {func(c *embedded.Config) { c.Cluster.Name = "a\nb" }, "printable"},
	} {
		c := base()
		tc.mutate(&c)
		err := c.Validate()
		if !errors.Is(err, embedded.ErrConfig) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
}

// TestRouteSecretIsCreatedOnceAndPrivate: nodes starting at once agree on one secret, mode
// 0600; a secret others can read is refused.
func TestRouteSecretIsCreatedOnceAndPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "route.secret")
	got := make([]string, 8)
	var wg sync.WaitGroup
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := embedded.LoadRouteSecret(path)
			if err != nil {
				t.Error(err)
			}
			got[i] = s
		}()
	}
	wg.Wait()
	for _, s := range got {
		if s != got[0] || len(s) != 64 {
			t.Fatalf("secrets differ or are short: %q", got)
		}
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("secret file: %v %v", fi.Mode(), err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := embedded.LoadRouteSecret(path); err == nil || !strings.Contains(err.Error(), "readable by other users") {
		t.Fatalf("a world-readable secret: %v", err)
	}
}
