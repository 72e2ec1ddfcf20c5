package tmux

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestMain doubles as the pane program of the tests: with ORC_RAWCAT_OUT
// set, the test binary puts its tty in raw mode and appends every byte it
// reads to that file (see rawCat).
func TestMain(m *testing.M) {
	if out := os.Getenv("ORC_RAWCAT_OUT"); out != "" {
		os.Exit(rawCat(out, os.Getenv("ORC_RAWCAT_BP") == "1"))
	}
	os.Exit(m.Run())
}

// rawCat puts standard input (the pane's tty) in raw mode, optionally
// enables bracketed paste, creates out+".ready" and then appends every byte
// read to out, so tests can assert exactly what a pane program receives.
func rawCat(out string, bracketed bool) int {
	tio, err := unix.IoctlGetTermios(0, unix.TCGETS)
	if err != nil {
		return 2
	}
	tio.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	tio.Oflag &^= unix.OPOST
	tio.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	tio.Cflag &^= unix.CSIZE | unix.PARENB
	tio.Cflag |= unix.CS8
	tio.Cc[unix.VMIN] = 1
	tio.Cc[unix.VTIME] = 0
	if err := unix.IoctlSetTermios(0, unix.TCSETS, tio); err != nil {
		return 3
	}
	if bracketed {
		os.Stdout.WriteString("\x1b[?2004h")
	}
	f, err := os.OpenFile(out, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return 4
	}
	if err := os.WriteFile(out+".ready", nil, 0o600); err != nil {
		return 5
	}
	buf := make([]byte, 64<<10)
	for {
		n, err := os.Stdin.Read(buf)
		if n > 0 {
			f.Write(buf[:n])
		}
		if err != nil {
			return 0
		}
	}
}

// checkFor polls fn every poll until it returns nil or timeout passes, and
// then fails the test with fn's last error.
func checkFor(t testing.TB, timeout, poll time.Duration, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := fn()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %v", timeout, err)
		}
		time.Sleep(poll)
	}
}

// testServer is a tmux server on a socket of its own, killed at cleanup.
type testServer struct {
	t    testing.TB
	sock Socket
	exec *Exec
	path string // the socket file, removed at cleanup
}

// uniqueSocket returns a fresh socket name for tests; no server runs on it.
func uniqueSocket() Socket {
	var b [6]byte
	rand.Read(b[:])
	return Socket{Name: "orc-test-" + hex.EncodeToString(b[:])}
}

// newTestServer starts a tmux server on a unique socket with one detached
// 200x50 session named session running program.
func newTestServer(t testing.TB, session, program string) *testServer {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux not installed")
	}
	s := &testServer{t: t, sock: uniqueSocket()}
	s.exec = &Exec{Socket: s.sock}
	t.Cleanup(func() {
		exec.Command("tmux", s.sock.Args("kill-server")...).Run()
		if s.path != "" {
			os.Remove(s.path) // tmux 3.3a leaves it behind
		}
	})
	s.tmux("new-session", "-d", "-s", session, "-x", "200", "-y", "50", program)
	s.path = s.tmux("display-message", "-p", "#{socket_path}")
	return s
}

// tmux runs one tmux command on the server with plain argv and fails the
// test on error.
func (s *testServer) tmux(args ...string) string {
	s.t.Helper()
	cmd := exec.Command("tmux", s.sock.Args(args...)...)
	cmd.Env = childEnv()
	out, err := cmd.CombinedOutput()
	if err != nil {
		s.t.Fatalf("tmux %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// dial connects a control client and closes it at cleanup.
func (s *testServer) dial(opts Options) *Control {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, s.sock, opts)
	if err != nil {
		s.t.Fatalf("dial: %v", err)
	}
	s.t.Cleanup(func() { c.Close() })
	return c
}

// rawPane opens a window in session running the raw recorder and returns
// its pane id and the file that collects what the pane reads.
func (s *testServer) rawPane(session string, bracketed bool) (string, string) {
	s.t.Helper()
	self, err := os.Executable()
	if err != nil {
		s.t.Fatal(err)
	}
	out := filepath.Join(s.t.TempDir(), "pane.bytes")
	bp := "0"
	if bracketed {
		bp = "1"
	}
	prog := fmt.Sprintf("ORC_RAWCAT_BP=%s ORC_RAWCAT_OUT=%s exec %s", bp, shellQuote(out), shellQuote(self))
	id := s.tmux("new-window", "-d", "-P", "-F", "#{pane_id}", "-t", "="+session+":", prog)
	checkFor(s.t, 10*time.Second, 5*time.Millisecond, func() error {
		_, err := os.Stat(out + ".ready")
		return err
	})
	return id, out
}

// waitBytes waits until the file holds exactly want.
func waitBytes(t testing.TB, path, want string) {
	t.Helper()
	var got []byte
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		got, _ = os.ReadFile(path)
		if string(got) == want {
			return nil
		}
		if len(got) > len(want) {
			return fmt.Errorf("pane got %d bytes, more than the %d wanted: %q", len(got), len(want), tail(string(got)))
		}
		return fmt.Errorf("pane got %q, want %q", tail(string(got)), tail(want))
	})
}

func tail(s string) string {
	if len(s) > 120 {
		return "..." + s[len(s)-120:]
	}
	return s
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}
