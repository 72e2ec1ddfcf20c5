package embedded_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/internal/embeddedtest"
	"github.com/tmux-orc/tmux-orc/internal/home"
	"github.com/tmux-orc/tmux-orc/subjects"
)

// smallDisk mounts a tmpfs of the given size for the test, or skips saying why.
func smallDisk(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a small tmpfs here (needs root or CAP_SYS_ADMIN): %v %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })
	return dir
}

// fill writes a file until the disk is full, then gives back keep bytes.
func fill(t *testing.T, path string, keep int64) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1<<20)
	for {
		if _, err := f.Write(buf); err != nil {
			break
		}
	}
	fi, _ := f.Stat()
	f.Close()
	if err := os.Truncate(path, max(0, fi.Size()-keep)); err != nil {
		t.Fatal(err)
	}
}

func testEnvelope(id string) *subjects.Envelope {
	a, _ := subjects.ParseTarget("h1.backend:1")
	return &subjects.Envelope{ID: id, Timestamp: time.Now().UTC(), Source: subjects.Source{Type: "cli", Identifier: "test"}, Target: a,
		Message: subjects.Message{Type: "notification", Priority: subjects.High,
			Content: subjects.Content{Subject: "x", Body: strings.Repeat("x", 1000)}}}
}

// TestDiskFullIsNamedAndSurvived fills the store's disk (a small tmpfs): the publish that
// cannot be stored fails within 5 s saying the disk is full (not a 30 s "leader election"),
// the status and the health check say so, and once space is freed publishing resumes by
// itself, with every message stored before still there.
func TestDiskFullIsNamedAndSurvived(t *testing.T) {
	disk := smallDisk(t, "16m")
	cfg := embeddedtest.Config(t)
	cfg.Home = home.Dir(filepath.Join(disk, "home"))
	srv := embeddedtest.Start(t, cfg)
	c := embeddedtest.Connect(t, cfg)
	filler := filepath.Join(disk, "filler")
	fill(t, filler, 200<<10)

	stored := 0
	var failure error
	var took time.Duration
	for i := 0; i < 2000; i++ {
		start := time.Now()
		_, err := c.Publish(context.Background(), testEnvelope(fmt.Sprintf("m%d", i)))
		if err != nil {
			failure, took = err, time.Since(start)
			break
		}
		stored++
	}
	if failure == nil {
		t.Fatal("2000 messages fit on a full disk")
	}
	t.Logf("%d stored, then after %v: %v", stored, took, failure)
	if !errors.Is(failure, bus.ErrStoreFault) || !strings.Contains(failure.Error(), "disk full") {
		t.Errorf("the failure does not name the full disk: %v", failure)
	}
	if took > 5*time.Second {
		t.Errorf("the failure took %v, want within 5s", took)
	}
	if err := srv.Healthy(); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("health while the disk is full: %v", err)
	}
	st, err := c.Status(context.Background())
	if err != nil || !strings.Contains(st.StoreError, "disk full") {
		t.Errorf("status while the disk is full: %q %v", st.StoreError, err)
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := c.Publish(ctx, testEnvelope("after"))
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("publishing did not resume within 30s of freeing space: %v", err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	for _, id := range []string{"m0", fmt.Sprintf("m%d", stored-1), "after"} {
		if _, err := c.Get(context.Background(), id); err != nil {
			t.Errorf("%s after the disk was full: %v", id, err)
		}
	}
	if err := srv.Healthy(); err != nil {
		t.Errorf("health after space came back: %v", err)
	}
}
