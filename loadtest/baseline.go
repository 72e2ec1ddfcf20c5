package loadtest

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tmux-orc/tmux-orc/subjects"
)

// Baseline is what JetStream alone does on the same server, in the same run, with the same
// stream settings, message size, publishers and rate: the yardstick of the load test's own
// figures.
type Baseline struct {
	// Stream is the temporary stream measured, a copy of the settings of ORC_NORMAL.
	Stream string `json:"stream"`
	// MessageBytes is the payload size (that of an encoded load test envelope).
	MessageBytes int `json:"message_bytes"`
	// PublishOnly is the rate of synchronous publishes (each with a message id, as ours),
	// from Publishers concurrent publishers at full speed and no consumer: the equivalent
	// of `nats bench js pub sync --clients P --msgs N --size S --dedup` on one connection.
	// Measured only at --rate max, before and after the load test's own measurement (the
	// machine's load may change in between); PublishOnly is their mean.
	PublishOnly       float64 `json:"publish_only_per_s,omitempty"`
	PublishOnlyBefore float64 `json:"publish_only_before_per_s,omitempty"`
	PublishOnlyAfter  float64 `json:"publish_only_after_per_s,omitempty"`
	// Throughput and Latency are publish -> one durable pull consumer that acknowledges each
	// message, at the load test's rate: JetStream's own publish-to-consumer figures.
	Throughput float64 `json:"throughput_per_s"`
	Latency    Summary `json:"publish_to_consumer"`
}

// baseline is the temporary stream JetStream alone is measured on.
type baseline struct {
	cfg     Config
	js      jetstream.JetStream
	st      jetstream.Stream
	name    string
	prefix  string
	tag     string
	payload []byte
}

// newBaseline creates a temporary stream with the settings of the normal priority stream;
// close deletes it.
func newBaseline(ctx context.Context, cfg Config, nc *nats.Conn, tag string, size int) (*baseline, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	ref, err := js.Stream(ctx, subjects.Normal.Stream())
	if err != nil {
		return nil, fmt.Errorf("reading the settings of %s: %w", subjects.Normal.Stream(), err)
	}
	sc := ref.CachedInfo().Config
	prefix := "loadtest." + tag
	sc.Name = "LOADTEST_" + strings.ToUpper(tag)
	sc.Description = "tmux-orc loadtest baseline (deleted after the run)"
	sc.Subjects = []string{prefix + ".>"}
	sc.Mirror, sc.Sources, sc.RePublish, sc.SubjectTransform, sc.Metadata = nil, nil, nil, nil, nil
	st, err := js.CreateStream(ctx, sc)
	if err != nil {
		return nil, fmt.Errorf("creating the baseline stream: %w", err)
	}
	return &baseline{cfg: cfg, js: js, st: st, name: sc.Name, prefix: prefix, tag: tag, payload: []byte(strings.Repeat("x", size))}, nil
}

func (bl *baseline) close() {
	dctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	_ = bl.js.DeleteStream(dctx, bl.name)
	cancel()
}

func (bl *baseline) pub(ctx context.Context, subj string, i int) error {
	_, err := bl.js.Publish(ctx, subj, bl.payload, jetstream.WithMsgID(bl.tag+"-"+subj+"-"+strconv.Itoa(i)))
	return err
}

// publishOnly publishes cfg.Messages at full speed on one subject from cfg.Publishers
// publishers, with no consumer, and returns the rate.
func (bl *baseline) publishOnly(ctx context.Context, pass string) (float64, error) {
	subj := bl.prefix + ".pub." + pass
	start := time.Now()
	if err := drive(ctx, 0, bl.cfg.Publishers, bl.cfg.Messages, func(i int) error { return bl.pub(ctx, subj, i) }); err != nil {
		return 0, fmt.Errorf("baseline publish: %w", err)
	}
	return float64(bl.cfg.Messages) / time.Since(start).Seconds(), nil
}

// measure measures publish only (at --rate max) and publish -> consumer.
func (bl *baseline) measure(ctx context.Context) (*Baseline, error) {
	cfg, st, prefix, tag := bl.cfg, bl.st, bl.prefix, bl.tag
	b := &Baseline{Stream: bl.name, MessageBytes: len(bl.payload)}
	pub := bl.pub
	if cfg.Rate == 0 {
		r, err := bl.publishOnly(ctx, "before")
		if err != nil {
			return nil, err
		}
		b.PublishOnly, b.PublishOnlyBefore = r, r
	}

	// Publish -> consumer, at the load test's rate.
	cons, err := st.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{Durable: "loadtest-" + tag, AckPolicy: jetstream.AckExplicitPolicy,
		MaxAckPending: 10000, FilterSubject: prefix + ".lat.>", DeliverPolicy: jetstream.DeliverAllPolicy})
	if err != nil {
		return nil, fmt.Errorf("creating the baseline consumer: %w", err)
	}
	sentAt := make([]time.Time, cfg.Messages)
	recvAt := make([]time.Time, cfg.Messages)
	var mu sync.Mutex
	var nrecv atomic.Int64
	all := make(chan struct{})
	cc, err := cons.Consume(func(m jetstream.Msg) {
		now := time.Now()
		_ = m.Ack()
		i, err := strconv.Atoi(m.Subject()[strings.LastIndexByte(m.Subject(), '.')+1:])
		if err != nil || i < 0 || i >= len(recvAt) {
			return
		}
		mu.Lock()
		first := recvAt[i].IsZero()
		if first {
			recvAt[i] = now
		}
		mu.Unlock()
		if first && nrecv.Add(1) == int64(len(recvAt)) {
			close(all)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("consuming the baseline stream: %w", err)
	}
	defer cc.Stop()
	err = drive(ctx, cfg.Rate, cfg.Publishers, cfg.Messages, func(i int) error {
		now := time.Now()
		mu.Lock()
		sentAt[i] = now
		mu.Unlock()
		return pub(ctx, prefix+".lat."+strconv.Itoa(i), i)
	})
	if err != nil {
		return nil, fmt.Errorf("baseline publish: %w", err)
	}
	select {
	case <-all:
	case <-time.After(cfg.Timeout):
		return nil, fmt.Errorf("baseline: %d of %d messages reached the consumer within %s", nrecv.Load(), cfg.Messages, cfg.Timeout)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	mu.Lock()
	defer mu.Unlock()
	lat := make([]time.Duration, len(sentAt))
	first, last := sentAt[0], recvAt[0]
	for i := range sentAt {
		lat[i] = recvAt[i].Sub(sentAt[i])
		if sentAt[i].Before(first) {
			first = sentAt[i]
		}
		if recvAt[i].After(last) {
			last = recvAt[i]
		}
	}
	b.Latency = Summarize(lat, Targets[subjects.Critical])
	if d := last.Sub(first); d > 0 {
		b.Throughput = float64(len(lat)) / d.Seconds()
	}
	return b, nil
}

// drive calls fn for 0..n-1 from publishers goroutines, at rate per second (0: as fast as
// they go). It returns the first error.
func drive(ctx context.Context, rate float64, publishers, n int, fn func(i int) error) error {
	jobs := make(chan int)
	var wg sync.WaitGroup
	var firstErr error
	var once sync.Once
	for w := 0; w < publishers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				if err := fn(i); err != nil {
					once.Do(func() { firstErr = fmt.Errorf("message %d: %w", i, err) })
				}
			}
		}()
	}
	start := time.Now()
	for i := 0; i < n; i++ {
		if rate > 0 {
			due := start.Add(time.Duration(float64(i) / rate * float64(time.Second)))
			if d := time.Until(due); d > 0 {
				select {
				case <-time.After(d):
				case <-ctx.Done():
				}
			}
		}
		if ctx.Err() != nil {
			break
		}
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		firstErr = ctx.Err()
	}
	return firstErr
}

// envelopeSize is the encoded size of a load test message (what the baseline publishes).
func envelopeSize(host string) int {
	now := time.Now()
	a, err := subjects.ParseTarget(host + ".s-0:0")
	if err != nil {
		return 400
	}
	e := &subjects.Envelope{ID: subjects.NewID(now), Timestamp: now.UTC(),
		Source: subjects.Source{Type: "loadtest", Identifier: "loadtest"}, Target: a,
		Message: subjects.Message{Type: "notification", Category: "loadtest", Priority: subjects.Normal,
			Content: subjects.Content{Subject: "load", Body: "loadtest message 10000"}},
		Metadata: subjects.Metadata{Tags: []string{"loadtest"}}}
	data, err := e.Encode()
	if err != nil {
		return 400
	}
	return len(data)
}
