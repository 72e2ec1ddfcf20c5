package embedded_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/embedded"
	"github.com/tmux-orc/tmux-orc/internal/embeddedtest"
	"github.com/tmux-orc/tmux-orc/subjects"
)

// TestReadsOfADamagedStreamAnswer corrupts a record in the middle of a block of a stopped
// server: after the restart the damage is in the status, and a read of the stream skips
// the unreadable message and answers at once instead of waiting for it until it times out.
func TestReadsOfADamagedStreamAnswer(t *testing.T) {
	cfg := embeddedtest.Config(t)
	ctx := context.Background()
	srv, err := embedded.Start(ctx, cfg, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	c, err := bus.Connect(ctx, bus.Options{Home: cfg.Home})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		if _, err := c.Publish(ctx, testEnvelope(fmt.Sprintf("m%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	c.Close()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	blk := filepath.Join(cfg.Home.StoreDir(), "jetstream", "ORC", "streams", subjects.High.Stream(), "msgs", "1.blk")
	f, err := os.OpenFile(blk, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := f.Stat()
	if _, err := f.WriteAt([]byte{0xde, 0xad, 0xbe, 0xef}, fi.Size()/2); err != nil {
		t.Fatal(err)
	}
	f.Close()

	srv = embeddedtest.Start(t, cfg)
	damage := srv.StoreDamage()
	if len(damage) != 1 || !strings.Contains(damage[0], "ORC_HIGH (high priority): messages") {
		t.Errorf("damage found at start: %q", damage)
	}
	st := srv.Status(false)
	if len(st.StoreDamage) != 1 {
		t.Errorf("status damage: %q", st.StoreDamage)
	}
	c = embeddedtest.Connect(t, cfg)
	qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	start := time.Now()
	recs, err := c.Query(qctx, bus.Query{Priorities: []subjects.Priority{subjects.High}})
	t.Logf("damage %q; read %d messages in %v", damage, len(recs), time.Since(start))
	if err != nil || len(recs) == 0 || len(recs) >= 100 {
		t.Fatalf("read of the damaged stream: %d messages, %v", len(recs), err)
	}
}
