package embedded

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
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

// errNotCreatedYet: a stream or bucket is missing and this node is not the one that
// creates it.
var errNotCreatedYet = errors.New("waiting for the JetStream meta leader to create it")

// provisionCluster is provisionAll for a cluster node: only the JetStream meta leader
// creates what is missing (any node when mayCreate, see createGrace), and a node updates a
// stream or bucket only when it lacks one of this node's settings. The server loses the
// answers to concurrent requests for one stream (a first start of three nodes waited 5 s per
// stream, over a minute in all), so the nodes of a cluster starting together must not all
// send the same requests.
func (s *Server) provisionCluster(ctx context.Context, js jetstream.JetStream, mayCreate bool) error {
	create := mayCreate || s.ns.JetStreamIsLeader()
	for _, want := range s.cfg.StreamConfigs(s.cfg.Replicas()) {
		st, err := streamInfo(ctx, js, want.Name)
		switch {
		case errors.Is(err, jetstream.ErrStreamNotFound) && !create:
			return fmt.Errorf("stream %s: %w", want.Name, errNotCreatedYet)
		case errors.Is(err, jetstream.ErrStreamNotFound):
			_, err = js.CreateStream(ctx, want)
		case err != nil:
		case hasSettings(st.CachedInfo().Config, want):
			continue
		default:
			_, err = js.UpdateStream(ctx, want)
		}
		if err != nil {
			return fmt.Errorf("provisioning stream %s: %w", want.Name, err)
		}
	}
	for _, want := range []jetstream.KeyValueConfig{s.cfg.RegistryConfig(), s.cfg.MonitorStateConfig()} {
		kv, err := bucket(ctx, js, want.Bucket)
		switch {
		case errors.Is(err, jetstream.ErrBucketNotFound) && !create:
			return fmt.Errorf("bucket %s: %w", want.Bucket, errNotCreatedYet)
		case err == nil:
			var st jetstream.KeyValueStatus
			if st, err = kv.Status(ctx); err == nil && bucketHas(st, want) {
				continue
			}
		}
		if err == nil || errors.Is(err, jetstream.ErrBucketNotFound) {
			_, err = js.CreateOrUpdateKeyValue(ctx, want)
		}
		if err != nil {
			return fmt.Errorf("provisioning bucket %s: %w", want.Bucket, err)
		}
	}
	return nil
}

// lookupTimeout bounds a look at a stream: one created a moment ago answers nothing until
// its replicas elect a leader, and the next look is cheap.
const lookupTimeout = time.Second

func streamInfo(ctx context.Context, js jetstream.JetStream, name string) (jetstream.Stream, error) {
	ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	return js.Stream(ctx, name)
}

func bucket(ctx context.Context, js jetstream.JetStream, name string) (jetstream.KeyValue, error) {
	ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	return js.KeyValue(ctx, name)
}

// hasSettings reports whether a stream's configuration has every setting of want; the
// server fills in the ones want leaves out (and stores a limit of 0 as -1). Comparing the
// JSON forms errs on the safe side: a field that differs only in form (none known) costs an
// update, never a missed one.
func hasSettings(have, want jetstream.StreamConfig) bool {
	var h, w map[string]any
	hb, err1 := json.Marshal(have)
	wb, err2 := json.Marshal(want)
	if err1 != nil || err2 != nil || json.Unmarshal(hb, &h) != nil || json.Unmarshal(wb, &w) != nil {
		return false
	}
	for k, v := range w {
		if v == 0.0 && h[k] == -1.0 {
			continue // a limit left at zero is stored as -1, unlimited
		}
		if !reflect.DeepEqual(h[k], v) {
			return false
		}
	}
	return true
}

// bucketHas reports whether a bucket has the settings of want.
func bucketHas(st jetstream.KeyValueStatus, want jetstream.KeyValueConfig) bool {
	kv, ok := st.(*jetstream.KeyValueBucketStatus)
	if !ok {
		return false
	}
	c := kv.StreamInfo().Config
	return c.Description == want.Description && c.MaxMsgsPerSubject == int64(want.History) &&
		c.MaxAge == want.TTL && c.Storage == want.Storage && c.Replicas == max(want.Replicas, 1)
}

// createGrace is how long a node that is not the JetStream meta leader leaves the creation
// of a missing stream or bucket to the leader before creating it itself: the leader may run
// an older version that does not know it (a rolling upgrade).
var createGrace = 15 * time.Second

// provision creates or updates the streams. In a cluster every node does it at start, in
// whatever order they start (see provisionCluster). While the cluster cannot place the
// replicas yet (not enough nodes, an election) it retries until ctx ends.
func (s *Server) provision(ctx context.Context, js jetstream.JetStream) error {
	if !s.cfg.Cluster.Enabled() {
		return s.provisionAll(ctx, js)
	}
	wait := 250 * time.Millisecond
	start := time.Now()
	next := start.Add(10 * time.Second)
	for {
		// Each attempt has its own bound: a request that reaches a leader being replaced
		// gets no answer.
		actx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := s.provisionCluster(actx, js, time.Since(start) > createGrace)
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
		pause := wait
		if errors.Is(err, errNotCreatedYet) {
			pause = 100 * time.Millisecond // the leader is at work: look again soon
		} else {
			wait = min(2*wait, 2*time.Second)
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(pause):
		}
	}
}
