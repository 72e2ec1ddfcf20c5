package metrics_test

import (
	"net/http"
	"strings"
	"testing"

	"go.uber.org/zap/zaptest"

	"github.com/tmux-orc/tmux-orc/internal/metrics"
)

// TestHostHeaderIsChecked sends requests as a browser tricked by DNS rebinding would (its
// own domain resolved to 127.0.0.1): refused with 421; loopback names are served.
func TestHostHeaderIsChecked(t *testing.T) {
	s, err := metrics.New().Serve("127.0.0.1:0", func() error { return nil }, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	port := s.URL()[strings.LastIndex(s.URL(), ":")+1:]
	for host, want := range map[string]int{
		"127.0.0.1:" + port:        200,
		"localhost:" + port:        200,
		"[::1]:" + port:            200,
		"127.0.0.1":                200,
		"evil.example:" + port:     421,
		"evil.example":             421,
		"127.0.0.1.nip.io:" + port: 421,
		"10.0.0.5:" + port:         421,
	} {
		for _, path := range []string{"/metrics", "/healthz"} {
			req, _ := http.NewRequest("GET", s.URL()+path, nil)
			req.Host = host
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != want {
				t.Errorf("GET %s with Host %q: %d, want %d", path, host, resp.StatusCode, want)
			}
		}
	}
}
