package embedded

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"

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
	out = append(out, c.scheduleStreamConfig(replicas))
	return out
}

// scheduleStreamConfig is the stream of scheduled messages (publish --in/--at/--every):
// JetStream message schedules, which need discard-old and roll-ups. Nothing expires by age
// (a schedule may be far off); the daemons delete each occurrence once they have moved it to
// its priority stream.
func (c *Config) scheduleStreamConfig(replicas int) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:              subjects.ScheduleStream,
		Description:       "tmux-orc scheduled messages, until they are due",
		Subjects:          []string{subjects.ScheduleRoot + ".>"},
		Retention:         jetstream.LimitsPolicy,
		Storage:           jetstream.FileStorage,
		MaxMsgs:           100_000,
		MaxBytes:          512 << 20,
		MaxMsgSize:        subjects.MaxEnvelopeBytes + 1024,
		Discard:           jetstream.DiscardOld,
		Duplicates:        c.Duplicates,
		Replicas:          replicas,
		AllowDirect:       true,
		AllowRollup:       true,
		AllowMsgSchedules: true,
	}
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

// RegistryConfig is the session registry's bucket, with as many replicas as the streams.
func (c *Config) RegistryConfig() jetstream.KeyValueConfig {
	return jetstream.KeyValueConfig{Bucket: subjects.SessionsBucket,
		Description: "tmux-orc: the tmux sessions of each host", History: 1, TTL: subjects.SessionTTL,
		Storage: jetstream.FileStorage, Replicas: c.Replicas()}
}

// MonitorStateConfig is the bucket of the monitors' state, with as many replicas as the
// streams. Entries have no age limit: a monitor deletes those of panes it forgets.
func (c *Config) MonitorStateConfig() jetstream.KeyValueConfig {
	return jetstream.KeyValueConfig{Bucket: subjects.MonitorBucket,
		Description: "tmux-orc: each host's monitor's view of its agents", History: 1,
		Storage: jetstream.FileStorage, Replicas: c.Replicas()}
}

func (s *Server) provisionAll(ctx context.Context, js jetstream.JetStream) error {
	if err := Provision(ctx, js, s.cfg.StreamConfigs(s.cfg.Replicas())); err != nil {
		return err
	}
	if _, err := js.CreateOrUpdateKeyValue(ctx, s.cfg.RegistryConfig()); err != nil {
		return fmt.Errorf("provisioning the session registry: %w", err)
	}
	if _, err := js.CreateOrUpdateKeyValue(ctx, s.cfg.MonitorStateConfig()); err != nil {
		return fmt.Errorf("provisioning the monitor's state bucket: %w", err)
	}
	return nil
}

// Replicas is the number of copies of each stream: cluster.replicas in a cluster, else 1.
func (c *Config) Replicas() int {
	if c.Cluster.Enabled() && c.Cluster.Replicas > 0 {
		return c.Cluster.Replicas
	}
	return 1
}

// provision creates or updates the streams. In a cluster every node does it at start, in
// whatever order they start: creating a stream with the same configuration twice is not
// an error, and while the cluster cannot place the replicas yet (not enough nodes, an
// election) it retries until ctx ends.
func (s *Server) provision(ctx context.Context, js jetstream.JetStream) error {
	if !s.cfg.Cluster.Enabled() {
		return s.provisionAll(ctx, js)
	}
	wait := 250 * time.Millisecond
	next := time.Now().Add(10 * time.Second)
	for {
		// Each attempt has its own bound: a request that reaches a leader being replaced
		// gets no answer.
		actx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := s.provisionAll(actx, js)
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return err
		}
		if time.Now().After(next) {
			next = time.Now().Add(10 * time.Second)
			s.log.Info("waiting to provision the streams (every replica needs a node; the first start needs all of them)", zap.Error(err))
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		wait = min(2*wait, 2*time.Second)
	}
}
