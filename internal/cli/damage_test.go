package cli_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/internal/home"
	"github.com/tmux-orc/tmux-orc/subjects"
)

// damagedHome starts a daemon, stores 100 high-priority messages, stops it, and damages
// the block file or the metadata of ORC_HIGH as damage says.
func damagedHome(t *testing.T, damage func(streamDir string)) (home.Dir, []string) {
	t.Helper()
	dir := home.Dir(t.TempDir())
	env := []string{"TMUX_ORC_HOME=" + string(dir), "TMUX_ORC_PORT=0", "XDG_CONFIG_HOME=" + t.TempDir(), "TMUX_ORC_METRICS_LISTEN=off", "TMUX_ORC_URL="}
	runBin(t, env, "daemon", "start", "--no-bridge", "--no-monitor")
	t.Cleanup(func() { stopDaemon(dir) })
	c, err := bus.Connect(context.Background(), bus.Options{Home: dir})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := subjects.ParseTarget("h1.backend:1")
	for i := range 100 {
		e := &subjects.Envelope{ID: fmt.Sprintf("m%03d", i), Timestamp: time.Now().UTC(), Source: subjects.Source{Type: "cli", Identifier: "test"},
			Target: a, Message: subjects.Message{Type: "notification", Priority: subjects.High,
				Content: subjects.Content{Subject: "s", Body: fmt.Sprintf("message %d %s", i, strings.Repeat("x", 1000))}}}
		if _, err := c.Publish(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	c.Close()
	runBin(t, env, "daemon", "stop")
	damage(filepath.Join(dir.StoreDir(), "jetstream", "ORC", "streams", subjects.High.Stream()))
	return dir, env
}

func runStart(t *testing.T, env []string) (string, time.Duration, error) {
	t.Helper()
	cmd := exec.Command(binary(), "daemon", "start", "--no-bridge", "--no-monitor")
	cmd.Env = append(os.Environ(), env...)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	return string(out), time.Since(start), err
}

// flipBytes returns a damage that overwrites four bytes of the stream's first message block
// at 1/div of its size.
func flipBytes(t *testing.T, div int64) func(streamDir string) {
	return func(d string) {
		f, err := os.OpenFile(filepath.Join(d, "msgs", "1.blk"), os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		fi, _ := f.Stat()
		if _, err := f.WriteAt([]byte{0xde, 0xad, 0xbe, 0xef}, fi.Size()/div); err != nil {
			t.Fatal(err)
		}
	}
}

// TestStoreDamageIsReported damages the high-priority stream three ways: each is named at
// the next `daemon start` (how many messages of which priority), in `pubsub status` and
// the log, and reads of the stream answer instead of timing out.
func TestStoreDamageIsReported(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(streamDir string)
		want   string
		// stuck: the server may never finish restoring the stream (nats-server loops on
		// some damaged blocks); the start must then fail naming the stream.
		stuck bool
	}{
		{"truncated block", func(d string) {
			blk := filepath.Join(d, "msgs", "1.blk")
			fi, err := os.Stat(blk)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(blk, fi.Size()/2); err != nil {
				t.Fatal(err)
			}
		}, "ORC_HIGH (high priority): messages", false},
		{"flipped bytes", flipBytes(t, 3), "ORC_HIGH (high priority): messages", false},
		{"flipped bytes mid-block", flipBytes(t, 2), "ORC_HIGH (high priority): messages", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, env := damagedHome(t, tc.damage)
			out, _, err := runStart(t, env)
			if err != nil && tc.stuck {
				if !strings.Contains(out, "still restoring stream ORC_HIGH") || !strings.Contains(out, "probably damaged") {
					t.Fatalf("a start stuck on the damaged stream does not name it:\n%s", out)
				}
				t.Logf("daemon start (the server never finished restoring the stream):\n%s", out)
				return
			}
			if err != nil {
				b, _ := os.ReadFile(dir.LogFile())
				t.Fatalf("start after damage: %v\n%s\nlog:\n%s", err, out, b)
			}
			if !strings.Contains(out, "STORE DAMAGE: "+tc.want) {
				t.Errorf("daemon start does not report the damage:\n%s", out)
			}
			t.Logf("daemon start:\n%s", out)
			status := runBin(t, env, "pubsub", "status")
			if !strings.Contains(status, "STORE DAMAGE:") || !strings.Contains(status, "ORC_HIGH") {
				t.Errorf("pubsub status does not report the damage:\n%s", status)
			}
			if b, _ := os.ReadFile(dir.LogFile()); !strings.Contains(string(b), "STORE DAMAGE") {
				t.Errorf("the log does not report the damage")
			}
			cmd := exec.Command(binary(), "read", "--priority", "high", "--json")
			cmd.Env = append(os.Environ(), env...)
			start := time.Now()
			rout, rerr := cmd.Output()
			if rerr != nil || time.Since(start) > 5*time.Second || !strings.Contains(string(rout), `"count"`) {
				t.Errorf("read of the damaged stream: %v after %v: %.300s", rerr, time.Since(start), rout)
			}
		})
	}

	t.Run("damaged meta.inf", func(t *testing.T) {
		var streamDir string
		_, env := damagedHome(t, func(d string) {
			streamDir = d
			if err := os.WriteFile(filepath.Join(d, "meta.inf"), []byte("{garbage"), 0o600); err != nil {
				t.Fatal(err)
			}
		})
		out, took, err := runStart(t, env)
		if err == nil {
			t.Fatalf("started with a damaged meta.inf:\n%s", out)
		}
		if !strings.Contains(out, "the store is damaged") || !strings.Contains(out, "meta.inf") || !strings.Contains(out, "move the damaged stream's directory") {
			t.Errorf("daemon start does not name the cause:\n%s", out)
		}
		if took > 10*time.Second {
			t.Errorf("daemon start took %v to fail", took)
		}
		t.Logf("daemon start after %v:\n%s", took, out)
		// The remedy the error gives works.
		if err := os.Rename(streamDir, filepath.Join(t.TempDir(), "ORC_HIGH.damaged")); err != nil {
			t.Fatal(err)
		}
		if out, _, err := runStart(t, env); err != nil {
			t.Fatalf("start after moving the damaged stream aside: %v\n%s", err, out)
		}
	})
}
