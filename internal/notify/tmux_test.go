package notify_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/zap/zaptest"

	"github.com/tmux-orc/tmux-orc/internal/notify"
	"github.com/tmux-orc/tmux-orc/internal/tmuxtest"
	"github.com/tmux-orc/tmux-orc/subjects"
)

// The tmux sink shows the alert, with its id and ack command, on the status line of a
// client attached to the server: a real 80-column client in a pseudo-terminal (script(1))
// whose screen output is recorded. The ack command comes first, so that a narrow status line
// cuts the subject, not the id.
func TestTmuxStatusLine(t *testing.T) {
	if _, err := exec.LookPath("script"); err != nil {
		t.Skip("no script(1) to attach a client")
	}
	srv := tmuxtest.NewServer(t, "orc-notify")
	srv.Tmux("new-session", "-d", "-s", "pm", "-x", "120", "-y", "20", "sleep 600")
	screen := filepath.Join(t.TempDir(), "screen.txt")
	attach := exec.Command("script", "-qfc", "tmux "+strings.Join(srv.Socket.Args("attach", "-t", "pm"), " "), screen)
	attach.Env = append(os.Environ(), "TERM=xterm", "COLUMNS=120", "LINES=20")
	if err := attach.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = attach.Process.Kill(); _ = attach.Wait() })
	tmuxtest.WaitFor(t, "an attached client", func() bool {
		return strings.TrimSpace(srv.Tmux("list-clients", "-F", "#{client_name}")) != ""
	})
	n := notify.New(notify.Config{Tmux: &srv.Socket}, zaptest.NewLogger(t))
	e := alert(subjects.Critical, "PM crash detected pm:1.0")
	n.Notify(context.Background(), e)
	tmuxtest.WaitFor(t, "the alert on the client's status line", func() bool {
		b, _ := os.ReadFile(screen)
		return strings.Contains(string(b), "tmux-orc ack "+e.ID)
	})
}
