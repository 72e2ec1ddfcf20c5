package embedded

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"go.uber.org/zap"
)

// diskFreeToResume is how much free space the store's file system needs before a store
// stopped by a full disk is reopened.
const diskFreeToResume = 2 << 20

// storeFaults records what keeps the store from working, for the status and the health
// check: a full disk (set from the server's own error, cleared once the store is writable
// again) and damage found at start.
type storeFaults struct {
	mu       sync.Mutex
	diskFull string
	since    time.Time
	damage   []string
	// startDamage is what the server reported about damaged stream files while starting.
	startDamage []string
	// restoring are the streams the server is restoring from the store at start.
	restoring map[string]bool
}

func (f *storeFaults) setDiskFull(msg string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.diskFull != "" {
		return false
	}
	f.diskFull, f.since = msg, time.Now()
	return true
}

func (f *storeFaults) clearDiskFull() {
	f.mu.Lock()
	f.diskFull = ""
	f.mu.Unlock()
}

func (f *storeFaults) isDiskFull() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.diskFull != ""
}

// StoreFault says what keeps the store from storing messages ("" when nothing does): the
// status carries it so that a publish that gets no answer can say why.
func (s *Server) StoreFault() string {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	if s.faults.diskFull == "" {
		return ""
	}
	return fmt.Sprintf("disk full: the store at %s cannot be written since %s (%s); free space there and publishing resumes by itself",
		s.cfg.Home.StoreDir(), s.faults.since.UTC().Format(time.RFC3339), s.faults.diskFull)
}

// StoreDamage lists the damage found in the store at start ("" entries never).
func (s *Server) StoreDamage() []string {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	return append([]string(nil), s.faults.damage...)
}

// serverError looks at every error the server logs for the ones tmux-orc reports itself.
func (s *Server) serverError(msg string) {
	if strings.Contains(msg, "no space left on device") || strings.Contains(msg, "JetStream out of") {
		if s.faults.setDiskFull("no space left on device") {
			s.log.Error("DISK FULL: the store cannot be written; publishing fails until space is freed, then resumes by itself",
				zap.String("store", s.cfg.Home.StoreDir()), zap.String("server_error", msg))
		}
	}
}

// watchDisk reopens the store once a full disk has room again: the server keeps a
// failed write's error on the stream's file, so without reopening it the stream would stay
// broken until a restart.
func (s *Server) watchDisk(ctx context.Context) {
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !s.faults.isDiskFull() {
			continue
		}
		var st syscall.Statfs_t
		if err := syscall.Statfs(s.cfg.Home.StoreDir(), &st); err != nil || int64(st.Bavail)*int64(st.Bsize) < diskFreeToResume {
			continue
		}
		if err := s.reopenStore(ctx); err != nil {
			s.log.Warn("the disk has room again but reopening the store failed; retrying", zap.Error(err))
			continue
		}
		s.faults.clearDiskFull()
		s.log.Info("the disk has room again: the store is reopened and publishing resumes", zap.String("store", s.cfg.Home.StoreDir()))
	}
}

// reopenStore stops JetStream and starts it again from the files on disk, then makes
// sure the streams exist.
func (s *Server) reopenStore(ctx context.Context) error {
	s.reopenMu.Lock()
	defer s.reopenMu.Unlock()
	if s.ns.JetStreamEnabled() {
		if err := s.ns.ShutdownJetStream(); err != nil {
			return fmt.Errorf("stopping JetStream: %w", err)
		}
	}
	o := s.opts
	if err := s.ns.EnableJetStream(&server.JetStreamConfig{StoreDir: o.StoreDir, SyncInterval: o.SyncInterval, SyncAlways: o.SyncAlways,
		MaxMemory: o.JetStreamMaxMemory, MaxStore: o.JetStreamMaxStore, Strict: !o.NoJetStreamStrict, CompressOK: true}); err != nil {
		return fmt.Errorf("starting JetStream: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return s.provision(pctx, s.js)
}
