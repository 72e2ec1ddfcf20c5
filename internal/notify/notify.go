// Package notify tells people about alerts: the monitor's and the bridge's alerts at or
// above a priority go, besides the PM's pane, to a command (notify-send, say), a webhook
// (JSON, or Slack's {"text": ...}) and the tmux clients attached to the local tmux server
// (display-message). Each carries the alert's id and the command that acknowledges it. A
// token bucket limits how many go out per minute; every sink runs with a timeout, so a
// failing or slow sink delays nothing but itself, and delivery into panes never waits for it.
package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/subjects"
	"github.com/tmux-orc/tmux-orc/tmux"
)

// Config says where alerts go.
type Config struct {
	// MinPriority: alerts at this priority or more urgent are sent (default high).
	MinPriority subjects.Priority
	// Command is run with sh -c for each alert, the text on stdin and in $TMUX_ORC_TEXT
	// (also $TMUX_ORC_ID, $TMUX_ORC_PRIORITY, $TMUX_ORC_SUBJECT, $TMUX_ORC_ACK).
	Command string
	// Webhook is a URL that gets a JSON POST per alert; Slack sends {"text": ...} instead
	// (Slack's and Mattermost's incoming webhooks).
	Webhook string
	Slack   bool
	// Tmux, when set, shows each alert with display-message in every client attached to
	// that tmux server.
	Tmux *tmux.Socket
	// PerMinute bounds the alerts sent per minute (default 6); what is over is counted and
	// said with the next one that goes out.
	PerMinute int
	// Timeout bounds each sink (default 5 s).
	Timeout time.Duration
}

// Enabled reports whether any sink is configured.
func (c Config) Enabled() bool { return c.Command != "" || c.Webhook != "" || c.Tmux != nil }

// Notifier sends alerts to the configured sinks.
type Notifier struct {
	cfg    Config
	log    *zap.Logger
	client *http.Client

	mu         sync.Mutex
	tokens     float64
	refilled   time.Time
	suppressed int
}

// New makes a notifier; zero fields of cfg take their defaults.
func New(cfg Config, log *zap.Logger) *Notifier {
	if cfg.MinPriority == 0 {
		cfg.MinPriority = subjects.High
	}
	if cfg.PerMinute <= 0 {
		cfg.PerMinute = 6
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	return &Notifier{cfg: cfg, log: log, client: &http.Client{Timeout: cfg.Timeout},
		tokens: float64(cfg.PerMinute), refilled: time.Now()}
}

// Wants reports whether e is an alert at or above the configured priority.
func (n *Notifier) Wants(e *subjects.Envelope) bool {
	return e.Message.Type == "alert" && e.Message.Priority.Valid() && e.Message.Priority <= n.cfg.MinPriority
}

// allow takes a token; false (and one more suppressed) when the bucket is empty.
func (n *Notifier) allow(now time.Time) (ok bool, suppressed int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	per := float64(n.cfg.PerMinute)
	n.tokens = min(per, n.tokens+now.Sub(n.refilled).Minutes()*per)
	n.refilled = now
	if n.tokens < 1 {
		n.suppressed++
		return false, 0
	}
	n.tokens--
	s := n.suppressed
	n.suppressed = 0
	return true, s
}

// Alert is what the sinks get.
type Alert struct {
	ID         string    `json:"id"`
	Priority   string    `json:"priority"`
	Label      string    `json:"label"`
	Subject    string    `json:"subject"`
	Body       string    `json:"body"`
	Target     string    `json:"target"`
	Tags       []string  `json:"tags"`
	Timestamp  time.Time `json:"timestamp"`
	AckCommand string    `json:"ack_command"`
	// Suppressed counts the alerts not sent before this one because of the rate limit.
	Suppressed int `json:"suppressed,omitempty"`
	// Text is the one line a person reads.
	Text string `json:"text"`
}

func alertOf(e *subjects.Envelope, suppressed int) Alert {
	p := e.Message.Priority
	a := Alert{ID: e.ID, Priority: p.String(), Label: p.Label(), Subject: e.Message.Content.Subject,
		Body: e.Message.Content.Body, Target: e.Target.String(), Tags: e.Metadata.Tags, Timestamp: e.Timestamp,
		AckCommand: "tmux-orc ack " + e.ID, Suppressed: suppressed}
	a.Text = fmt.Sprintf("%s %s %s [id %s, ack: %s]", p.Marker(), p.Label(), a.Subject, e.ID, a.AckCommand)
	if suppressed > 0 {
		a.Text += fmt.Sprintf(" (+%d more alerts not notified: rate limit; tmux-orc inbox)", suppressed)
	}
	return a
}

// Notify sends e to every sink if it is wanted and the rate limit allows, and returns once
// each sink has finished or timed out. Sink failures are logged, never returned.
func (n *Notifier) Notify(ctx context.Context, e *subjects.Envelope) {
	if !n.Wants(e) {
		return
	}
	ok, suppressed := n.allow(time.Now())
	if !ok {
		n.log.Info("alert not notified: rate limit", zap.String("id", e.ID), zap.Int("per_minute", n.cfg.PerMinute))
		return
	}
	a := alertOf(e, suppressed)
	var wg sync.WaitGroup
	run := func(name string, fn func(context.Context, Alert) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sctx, cancel := context.WithTimeout(ctx, n.cfg.Timeout)
			defer cancel()
			if err := fn(sctx, a); err != nil {
				n.log.Warn("notification sink failed", zap.String("sink", name), zap.String("id", a.ID), zap.Error(err))
			}
		}()
	}
	if n.cfg.Command != "" {
		run("command", n.command)
	}
	if n.cfg.Webhook != "" {
		run("webhook", n.webhook)
	}
	if n.cfg.Tmux != nil {
		run("tmux", n.tmux)
	}
	wg.Wait()
}

func (n *Notifier) command(ctx context.Context, a Alert) error {
	cmd := exec.CommandContext(ctx, "sh", "-c", n.cfg.Command)
	cmd.Stdin = strings.NewReader(a.Text + "\n")
	cmd.Env = append(os.Environ(), "TMUX_ORC_TEXT="+a.Text, "TMUX_ORC_ID="+a.ID, "TMUX_ORC_PRIORITY="+a.Priority,
		"TMUX_ORC_SUBJECT="+a.Subject, "TMUX_ORC_ACK="+a.AckCommand)
	cmd.WaitDelay = time.Second
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("running %q: %w: %s", n.cfg.Command, err, bytes.TrimSpace(out))
	}
	return nil
}

func (n *Notifier) webhook(ctx context.Context, a Alert) error {
	var body []byte
	if n.cfg.Slack {
		body, _ = json.Marshal(map[string]string{"text": a.Text})
	} else {
		body, _ = json.Marshal(a)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.cfg.Webhook, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("webhook %s: %w", n.cfg.Webhook, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := n.client.Do(req)
	if err != nil {
		return fmt.Errorf("posting to the webhook: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("the webhook answered %s", resp.Status)
	}
	return nil
}

// tmux shows the alert in every client attached to the tmux server, for 10 s.
func (n *Notifier) tmux(ctx context.Context, a Alert) error {
	out, err := exec.CommandContext(ctx, "tmux", n.cfg.Tmux.Args("list-clients", "-F", "#{client_control_mode} #{client_name}")...).Output()
	if err != nil {
		return fmt.Errorf("listing tmux clients: %w", err)
	}
	// The status line is as wide as the client: the ack command first, so that a narrow
	// one cuts the subject rather than the id. display-message expands #{...} formats: a
	// literal '#' is written '##'.
	p, _ := subjects.ParsePriority(a.Priority)
	short := fmt.Sprintf("%s %s %s: %s", p.Marker(), a.Label, a.AckCommand, a.Subject)
	text := strings.ReplaceAll(short, "#", "##")
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		control, client, ok := strings.Cut(line, " ")
		if !ok || control == "1" { // control-mode clients (the bridge's own) show nothing
			continue
		}
		if err := exec.CommandContext(ctx, "tmux", n.cfg.Tmux.Args("display-message", "-d", "10000", "-c", client, text)...).Run(); err != nil {
			return fmt.Errorf("display-message in client %s: %w", client, err)
		}
	}
	return nil
}

// Consumer is what Run needs of the bus.
type Consumer interface {
	ConsumeAlerts(ctx context.Context, host string, min subjects.Priority, handle func(*bus.Delivery)) (stop func(), err error)
}

// Run notifies the alerts of host (and of groups everywhere) until ctx ends, retrying the
// consumer's creation while the bus cannot take it yet.
func Run(ctx context.Context, c Consumer, host string, cfg Config, log *zap.Logger) {
	n := New(cfg, log)
	for {
		stop, err := c.ConsumeAlerts(ctx, host, n.cfg.MinPriority, func(d *bus.Delivery) {
			n.Notify(ctx, d.Envelope)
			// Confirmed: alerts are few, and a lost ack would notify a person twice.
			if err := d.DoneSync(ctx); err != nil && ctx.Err() == nil {
				log.Warn("telling the server a notified alert is done failed; it may be notified again", zap.String("id", d.Envelope.ID), zap.Error(err))
			}
		})
		if err == nil {
			log.Info("notifying alerts", zap.String("min_priority", n.cfg.MinPriority.String()),
				zap.Bool("command", cfg.Command != ""), zap.Bool("webhook", cfg.Webhook != ""), zap.Bool("tmux", cfg.Tmux != nil))
			<-ctx.Done()
			stop()
			return
		}
		log.Warn("cannot consume alerts to notify; retrying", zap.Error(err))
		select {
		case <-ctx.Done():
			return
		case <-time.After(2 * time.Second):
		}
	}
}
