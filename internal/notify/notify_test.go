package notify_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/tmux-orc/tmux-orc/internal/embeddedtest"
	"github.com/tmux-orc/tmux-orc/internal/notify"
	"github.com/tmux-orc/tmux-orc/subjects"
)

// receiver is a real HTTP server on 127.0.0.1 that records the bodies POSTed to it.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	bodies []string
	got    chan struct{}
}

func newReceiver(t *testing.T, status int, delay time.Duration) *receiver {
	r := &receiver{got: make(chan struct{}, 100)}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		if req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s with %q", req.Method, req.Header.Get("Content-Type"))
		}
		r.mu.Lock()
		r.bodies = append(r.bodies, string(b))
		r.mu.Unlock()
		r.got <- struct{}{}
		select {
		case <-time.After(delay):
		case <-req.Context().Done():
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.bodies...)
}

func alert(p subjects.Priority, body string) *subjects.Envelope {
	now := time.Now()
	to, _ := subjects.GroupAddress("management", "h1.backend")
	return &subjects.Envelope{ID: subjects.NewID(now), Timestamp: now,
		Source: subjects.Source{Type: "monitor", Identifier: "tmux-orc-monitor"}, Target: to,
		Message: subjects.Message{Type: "alert", Category: "monitoring", Priority: p,
			Content: subjects.Content{Subject: body, Body: body}},
		Metadata: subjects.Metadata{RequiresAck: true, Tags: []string{"monitoring", "crash"}}}
}

// The JSON webhook gets the alert with its id and ack command; the command gets the text;
// a normal-priority alert and a non-alert message are not sent.
func TestSinks(t *testing.T) {
	hook := newReceiver(t, http.StatusOK, 0)
	out := filepath.Join(t.TempDir(), "cmd.txt")
	n := notify.New(notify.Config{Webhook: hook.URL, Command: `printf '%s|%s\n' "$TMUX_ORC_ID" "$TMUX_ORC_TEXT" >> ` + out}, zaptest.NewLogger(t))
	e := alert(subjects.Critical, "PM crash detected backend:1.0")
	n.Notify(context.Background(), e)
	n.Notify(context.Background(), alert(subjects.Normal, "Agent idle 5min"))
	msg := alert(subjects.Critical, "not an alert")
	msg.Message.Type = "notification"
	n.Notify(context.Background(), msg)

	bodies := hook.all()
	if len(bodies) != 1 {
		t.Fatalf("webhook got %d posts: %q", len(bodies), bodies)
	}
	var a notify.Alert
	if err := json.Unmarshal([]byte(bodies[0]), &a); err != nil {
		t.Fatal(err)
	}
	if a.ID != e.ID || a.Priority != "critical" || a.AckCommand != "tmux-orc ack "+e.ID || a.Target != "group:management@h1.backend" ||
		!strings.Contains(a.Text, "🚨 CRITICAL PM crash detected backend:1.0 [id "+e.ID+", ack: tmux-orc ack "+e.ID+"]") {
		t.Fatalf("webhook payload %+v", a)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(b)); got != e.ID+"|"+a.Text {
		t.Fatalf("command got %q", got)
	}
}

// The Slack form is {"text": ...}.
func TestSlackPayload(t *testing.T) {
	hook := newReceiver(t, http.StatusOK, 0)
	n := notify.New(notify.Config{Webhook: hook.URL, Slack: true}, zaptest.NewLogger(t))
	e := alert(subjects.High, "Agent backend:0.0 crashed")
	n.Notify(context.Background(), e)
	var m map[string]string
	if bodies := hook.all(); len(bodies) != 1 || json.Unmarshal([]byte(bodies[0]), &m) != nil || len(m) != 1 ||
		!strings.HasPrefix(m["text"], "⚠️ HIGH PRIORITY Agent backend:0.0 crashed [id "+e.ID) {
		t.Fatalf("slack payload %q", hook.all())
	}
}

// A webhook that hangs or fails does not keep the command sink from running, and Notify
// returns after the sink timeout.
func TestFailingSinkDoesNotBlock(t *testing.T) {
	hang := newReceiver(t, http.StatusOK, time.Minute)
	out := filepath.Join(t.TempDir(), "cmd.txt")
	n := notify.New(notify.Config{Webhook: hang.URL, Command: "cat >> " + out, Timeout: 300 * time.Millisecond}, zaptest.NewLogger(t))
	done := make(chan struct{})
	go func() {
		n.Notify(context.Background(), alert(subjects.Critical, "first"))
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Notify blocked on a hanging webhook")
	}
	if b, _ := os.ReadFile(out); !strings.Contains(string(b), "first") {
		t.Fatalf("the command sink did not run: %q", b)
	}
	failing := newReceiver(t, http.StatusInternalServerError, 0)
	n = notify.New(notify.Config{Webhook: failing.URL, Command: "cat >> " + out}, zaptest.NewLogger(t))
	n.Notify(context.Background(), alert(subjects.Critical, "second"))
	if b, _ := os.ReadFile(out); !strings.Contains(string(b), "second") {
		t.Fatalf("the command sink did not run next to a failing webhook: %q", b)
	}
}

// Over the rate limit, alerts are held back and counted in the next one that goes out.
func TestRateLimit(t *testing.T) {
	hook := newReceiver(t, http.StatusOK, 0)
	n := notify.New(notify.Config{Webhook: hook.URL, PerMinute: 2}, zaptest.NewLogger(t))
	for i := 0; i < 5; i++ {
		n.Notify(context.Background(), alert(subjects.High, "burst"))
	}
	if got := len(hook.all()); got != 2 {
		t.Fatalf("%d of a burst of 5 sent with 2 per minute", got)
	}
}

// End to end: an alert published on a real server reaches the webhook through Run.
func TestRunNotifiesPublishedAlerts(t *testing.T) {
	cfg := embeddedtest.Config(t)
	embeddedtest.Start(t, cfg)
	c := embeddedtest.Connect(t, cfg)
	hook := newReceiver(t, http.StatusOK, 0)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		notify.Run(ctx, c, "h1", notify.Config{Webhook: hook.URL, MinPriority: subjects.High}, zaptest.NewLogger(t))
		close(done)
	}()
	defer func() { cancel(); <-done }()
	time.Sleep(500 * time.Millisecond) // the consumer starts "now": give it time to exist
	low := alert(subjects.Normal, "normal alert")
	e := alert(subjects.Critical, "PM crash detected backend:1.0")
	for _, x := range []*subjects.Envelope{low, e} {
		if _, err := c.Publish(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-hook.got:
	case <-time.After(10 * time.Second):
		t.Fatal("no webhook call")
	}
	time.Sleep(300 * time.Millisecond)
	if bodies := hook.all(); len(bodies) != 1 || !strings.Contains(bodies[0], e.ID) {
		t.Fatalf("webhook got %q", bodies)
	}
}
