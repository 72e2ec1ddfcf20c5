package embedded

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tmux-orc/tmux-orc/subjects"
)

// StreamConfigs returns the configuration of every stream the daemon provisions: one per
// priority, so that a flood of low-priority messages cannot evict critical ones, and one for
// acknowledgements. Replicas is 1 on a single host.
func (c *Config) StreamConfigs(replicas int) []jetstream.StreamConfig {
	var out []jetstream.StreamConfig
	for _, p := range subjects.Priorities {
		l := c.Limits[p.String()]
		out = append(out, jetstream.StreamConfig{
			Name:        p.Stream(),
			Description: fmt.Sprintf("tmux-orc %s-priority messages", p),
			Subjects:    []string{subjects.StreamSubjects(p)},
			Retention:   jetstream.LimitsPolicy,
			Storage:     jetstream.FileStorage,
			MaxMsgs:     l.MaxMsgs,
			MaxBytes:    int64(l.MaxBytes),
			MaxAge:      l.MaxAge,
			MaxMsgSize:  subjects.MaxEnvelopeBytes,
			Discard:     discard(l, p <= subjects.High),
			Duplicates:  c.Duplicates,
			Replicas:    replicas,
			AllowDirect: true,
		})
	}
	a := c.AckLimits
	out = append(out, jetstream.StreamConfig{
		Name:              subjects.AckStream,
		Description:       "tmux-orc acknowledgements, the latest per message id",
		Subjects:          []string{subjects.AckRoot + ".>"},
		Retention:         jetstream.LimitsPolicy,
		Storage:           jetstream.FileStorage,
		MaxMsgs:           a.MaxMsgs,
		MaxBytes:          int64(a.MaxBytes),
		MaxAge:            a.MaxAge,
		MaxMsgsPerSubject: 1,
		MaxMsgSize:        16 * 1024,
		Discard:           discard(a, false),
		Duplicates:        c.Duplicates,
		Replicas:          replicas,
		AllowDirect:       true,
	})
	out = append(out, jetstream.StreamConfig{
		Name:              subjects.ReceiptStream,
		Description:       "tmux-orc delivery claims and outcomes, per message and pane",
		Subjects:          []string{subjects.ReceiptRoot + ".>"},
		Retention:         jetstream.LimitsPolicy,
		Storage:           jetstream.FileStorage,
		MaxMsgs:           a.MaxMsgs,
		MaxBytes:          int64(a.MaxBytes),
		MaxAge:            a.MaxAge,
		MaxMsgsPerSubject: 1,
		MaxMsgSize:        16 * 1024,
		Discard:           jetstream.DiscardOld,
		Duplicates:        c.Duplicates,
		Replicas:          replicas,
		AllowDirect:       true,
	})
	return out
}

// discard picks the discard policy: the configured one, else DiscardNew for critical and
// high (refuse loudly rather than evict unread urgent messages) and DiscardOld otherwise.
func discard(l Limits, urgent bool) jetstream.DiscardPolicy {
	if (l.DiscardNew == nil && urgent) || (l.DiscardNew != nil && *l.DiscardNew) {
		return jetstream.DiscardNew
	}
	return jetstream.DiscardOld
}

// Provision creates the streams, or updates them to the configured limits.
func Provision(ctx context.Context, js jetstream.JetStream, cfgs []jetstream.StreamConfig) error {
	for _, sc := range cfgs {
		if _, err := js.CreateOrUpdateStream(ctx, sc); err != nil {
			return fmt.Errorf("provisioning stream %s: %w", sc.Name, err)
		}
	}
	return nil
}
