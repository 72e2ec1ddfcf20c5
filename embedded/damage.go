package embedded

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/tmux-orc/tmux-orc/internal/home"
	"github.com/tmux-orc/tmux-orc/subjects"
)

// streamMark is what the store held for one stream the last time the daemon looked: a
// store that holds less at the next start lost messages.
type streamMark struct {
	LastSeq uint64 `json:"last_seq"`
}

func (s *Server) manifestPath() string {
	return filepath.Join(s.cfg.Home.StoreDir(), "tmux-orc-streams.json")
}

func (s *Server) readManifest() map[string]streamMark {
	b, err := os.ReadFile(s.manifestPath())
	if err != nil {
		return nil
	}
	var m map[string]streamMark
	if json.Unmarshal(b, &m) != nil {
		return nil
	}
	return m
}

// writeManifest records the last sequence of every message stream.
func (s *Server) writeManifest(ctx context.Context) {
	m := map[string]streamMark{}
	for _, p := range subjects.Priorities {
		st, err := s.js.Stream(ctx, p.Stream())
		if err != nil {
			return // not now: keep the previous one
		}
		m[p.Stream()] = streamMark{LastSeq: st.CachedInfo().State.LastSeq}
	}
	s.markMu.Lock()
	defer s.markMu.Unlock()
	if fmt.Sprint(m) == s.lastMark {
		return
	}
	b, _ := json.Marshal(m)
	if err := home.WriteFileAtomic(s.manifestPath(), b, 0o600); err != nil {
		s.log.Debug("writing the stream manifest", zap.Error(err))
		return
	}
	s.lastMark = fmt.Sprint(m)
}

// keepManifest writes the manifest every few seconds while the server runs.
func (s *Server) keepManifest(ctx context.Context) {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			s.writeManifest(wctx)
			cancel()
		}
	}
}

// checkStore looks for damage in the message streams after a start: messages missing
// inside a stream (a truncated block), messages lost at its end (the store holds fewer
// than the daemon saw before), and messages that cannot be read (a corrupted record, which
// a consumer would wait for for ever). It returns one line per damaged stream.
func (s *Server) checkStore(ctx context.Context) []string {
	marks := s.readManifest()
	var out []string
	for _, p := range subjects.Priorities {
		st, err := s.js.Stream(ctx, p.Stream())
		if err != nil {
			out = append(out, fmt.Sprintf("%s (%s): cannot be opened: %v", p.Stream(), p, err))
			continue
		}
		state := st.CachedInfo().State
		var what []string
		if mark, ok := marks[p.Stream()]; ok && state.LastSeq < mark.LastSeq {
			what = append(what, fmt.Sprintf("%d lost at the end (the store held messages up to sequence %d, now up to %d)",
				mark.LastSeq-state.LastSeq, mark.LastSeq, state.LastSeq))
		}
		if state.NumDeleted > 0 {
			what = append(what, fmt.Sprintf("%d missing between sequences %d and %d", state.NumDeleted, state.FirstSeq, state.LastSeq))
		}
		if n, first := s.unreadable(ctx, st); n > 0 {
			what = append(what, fmt.Sprintf("%d unreadable (corrupted; the first at sequence %d), skipped by reads", n, first))
		}
		if len(what) > 0 {
			out = append(out, fmt.Sprintf("%s (%s priority): messages %s", p.Stream(), p, strings.Join(what, "; ")))
		}
	}
	return out
}

// unreadable counts the messages of st that the store cannot read: a full read of the
// stream either skips such a message (it delivers fewer than the stream holds) or stops at
// it (a consumer waits for it for ever; a direct get of it fails). It returns how many,
// and the first one's sequence.
func (s *Server) unreadable(ctx context.Context, st jetstream.Stream) (n int, first uint64) {
	state := st.CachedInfo().State
	if state.Msgs == 0 {
		return 0, 0
	}
	var delivered uint64 // messages read
	next := state.FirstSeq
	seen := func(seq uint64) {
		delivered++
		if seq > next && first == 0 {
			first = next // the first sequence the read skipped
		}
		next = seq + 1
	}
	from := uint64(0)
	for probes := 0; probes < 1000; probes++ {
		cfg := jetstream.ConsumerConfig{AckPolicy: jetstream.AckNonePolicy, HeadersOnly: true, MemoryStorage: true,
			InactiveThreshold: 10 * time.Second}
		if from > 0 {
			cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, from
		}
		cons, err := st.CreateConsumer(ctx, cfg)
		if err != nil {
			break
		}
		last, stalled := drain(ctx, cons, seen)
		_ = st.DeleteConsumer(ctx, cons.CachedInfo().Name)
		if !stalled {
			break
		}
		seq := max(last+1, from)
		if first == 0 {
			first = seq
		}
		from = seq + 1
	}
	if want := state.Msgs; delivered < want {
		n = int(want - delivered)
	}
	if n == 0 {
		first = 0
	}
	return n, first
}

// drain reads cons to its end, calling seen with each stream sequence delivered, and
// returns the last one and whether it stopped delivering with messages pending.
func drain(ctx context.Context, cons jetstream.Consumer, seen func(uint64)) (uint64, bool) {
	pending := cons.CachedInfo().NumPending
	var delivered uint64
	progress := time.Now()
	for pending > 0 && ctx.Err() == nil {
		batch, err := cons.FetchNoWait(int(min(pending, 1000)))
		if err != nil {
			return delivered, false
		}
		got := 0
		for m := range batch.Messages() {
			got++
			if meta, err := m.Metadata(); err == nil {
				delivered, pending = max(delivered, meta.Sequence.Stream), meta.NumPending
				seen(meta.Sequence.Stream)
			}
		}
		if got > 0 {
			progress = time.Now()
			continue
		}
		if time.Since(progress) > 500*time.Millisecond {
			return delivered, true
		}
		time.Sleep(time.Millisecond)
	}
	return delivered, false
}

// serverWarning records what the server says about a damaged store file while it starts.
func (s *Server) serverWarning(msg string) {
	if strings.Contains(msg, "no space left on device") {
		s.serverError(msg)
	}
	if strings.Contains(msg, "metafile") || strings.Contains(msg, "Error recovering stream") {
		s.faults.mu.Lock()
		s.faults.startDamage = append(s.faults.startDamage, strings.TrimSpace(msg))
		s.faults.mu.Unlock()
	}
}

// startDamageErr explains a start that fails on damaged stream metadata, nil when none was
// reported.
func (s *Server) startDamageErr() error {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	if len(s.faults.startDamage) == 0 {
		return nil
	}
	dir := filepath.Join(s.cfg.Home.StoreDir(), "jetstream", Account, "streams")
	return fmt.Errorf("the store is damaged: %s; move the damaged stream's directory (under %s) aside and start again: the stream is created empty and the moved files keep its messages",
		strings.Join(s.faults.startDamage, "; "), dir)
}

// serverNotice follows the server restoring each stream at start: one that starts and
// never ends is stuck on damaged files.
func (s *Server) serverNotice(msg string) {
	const prefix = "'" + Account + " > "
	name := func() string {
		i := strings.Index(msg, prefix)
		if i < 0 {
			return ""
		}
		rest := msg[i+len(prefix):]
		if j := strings.IndexByte(rest, '\''); j >= 0 {
			return rest[:j]
		}
		return ""
	}
	switch {
	case strings.Contains(msg, "Starting restore for stream"):
		if n := name(); n != "" {
			s.faults.mu.Lock()
			if s.faults.restoring == nil {
				s.faults.restoring = map[string]bool{}
			}
			s.faults.restoring[n] = true
			s.faults.mu.Unlock()
		}
	case strings.Contains(msg, "Restored ") && strings.Contains(msg, "for stream"):
		if n := name(); n != "" {
			s.faults.mu.Lock()
			delete(s.faults.restoring, n)
			s.faults.mu.Unlock()
		}
	}
}

// restoring lists the streams the server started restoring and has not finished.
func (s *Server) restoring() []string {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	var out []string
	for n := range s.faults.restoring {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
