package tmux

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"testing"
	"time"
)

// nextKind reads notifications until one of kind comes, failing after 10 s.
func nextKind(t *testing.T, c *Client, kind string) Notification {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case n := <-c.Notifications():
			if n.Kind == kind {
				return n
			}
		case <-deadline:
			t.Fatalf("no %s notification in 10 s", kind)
		}
	}
}

// TestClientReconnects: the client attaches, falls back to spawning tmux while the server is
// gone, attaches again when a server comes back on the same socket, and its one
// notification channel carries tmux's notifications from both connections.
func TestClientReconnects(t *testing.T) {
	s := newTestServer(t, "main", "sleep 1000")
	c := NewClient(s.sock, ClientOptions{Options: Options{NoOutput: true}, MaxBackoff: 200 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()

	nextKind(t, c, KindAttached)
	select {
	case <-c.Tried():
	default:
		t.Fatal("attached, but Tried is not closed")
	}
	if _, ok := c.Runner().(*Control); !ok || !c.Attached() {
		t.Fatalf("attached, but Runner is %T", c.Runner())
	}
	if _, err := c.Runner().Run(testCtx(t), Cmd{"new-window", "-d", "-t", "main:"}); err != nil {
		t.Fatal(err)
	}
	nextKind(t, c, "window-add")

	if out, err := exec.Command("tmux", s.sock.Args("kill-server")...).CombinedOutput(); err != nil {
		t.Fatalf("kill-server: %v: %s", err, out)
	}
	nextKind(t, c, KindDetached)
	if _, ok := c.Runner().(*Exec); !ok || c.Attached() {
		t.Fatalf("detached, but Runner is %T", c.Runner())
	}
	// The server may take a moment to go (a command meanwhile sees it exiting).
	checkFor(t, 5*time.Second, 20*time.Millisecond, func() error {
		if _, err := c.Runner().Run(testCtx(t), Cmd{"list-sessions"}); !errors.Is(err, ErrNoServer) {
			return fmt.Errorf("list-sessions without a server: %v, want ErrNoServer", err)
		}
		return nil
	})

	s.tmux("new-session", "-d", "-s", "again", "-x", "80", "-y", "20", "sleep 1000")
	nextKind(t, c, KindAttached)
	if n := c.Attaches(); n != 2 {
		t.Fatalf("Attaches = %d, want 2", n)
	}
	if _, err := c.Runner().Run(testCtx(t), Cmd{"new-window", "-d", "-t", "again:"}); err != nil {
		t.Fatal(err)
	}
	nextKind(t, c, "window-add")
	if _, ok := c.Runner().(*Control); !ok {
		t.Fatalf("attached again, but Runner is %T", c.Runner())
	}
}

// TestClientWithoutServer: with no server on the socket the client keeps retrying without
// an error and commands spawn tmux; ending ctx ends Run.
func TestClientWithoutServer(t *testing.T) {
	c := NewClient(uniqueSocket(), ClientOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if err := c.Run(ctx); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if c.Attaches() != 0 || c.Attached() {
		t.Fatalf("attached without a server")
	}
	select {
	case <-c.Tried():
	default:
		t.Fatal("Tried is not closed after a failed dial")
	}
	if _, ok := c.Runner().(*Exec); !ok {
		t.Fatalf("Runner without a server is %T, want *Exec", c.Runner())
	}
	if err := NewClient(Socket{}, ClientOptions{}).Run(context.Background()); !errors.Is(err, ErrInvalidSocket) {
		t.Fatalf("Run on no socket: %v, want ErrInvalidSocket", err)
	}
}
