package tmux

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestDialHandshakeThenCommand(t *testing.T) {
	s := newTestServer(t, "main", "sleep 1000")
	c := s.dial(Options{})
	got, err := c.Command(testCtx(t), "display-message -p hello")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != "hello" {
		t.Fatalf("got %q, want [hello]", got)
	}
	// The handshake made the control client the current client.
	got, err = c.Run(testCtx(t), Cmd{"display-message", "-p", "#{client_control_mode}:#{session_name}"})
	if err != nil || len(got) != 1 || got[0] != "1:main" {
		t.Fatalf("got %q, %v; want [1:main]", got, err)
	}
}

func TestDialNoServer(t *testing.T) {
	sock := uniqueSocket()
	_, err := Dial(testCtx(t), sock, Options{})
	if !errors.Is(err, ErrNoServer) {
		t.Fatalf("got %v, want ErrNoServer", err)
	}
	if _, err := (&Exec{Socket: sock}).Run(testCtx(t), Cmd{"list-sessions"}); !errors.Is(err, ErrNoServer) {
		t.Fatalf("dial started a server: %v", err)
	}
}

func TestDialNoSessions(t *testing.T) {
	s := newTestServer(t, "tmp", "sleep 1000")
	s.tmux("set", "-g", "exit-empty", "off")
	s.tmux("kill-session", "-t", "tmp")
	_, err := Dial(testCtx(t), s.sock, Options{})
	if !errors.Is(err, ErrNoSessions) {
		t.Fatalf("got %v, want ErrNoSessions", err)
	}
}

func TestDialInvalidSocket(t *testing.T) {
	for _, sock := range []Socket{{}, {Name: "a", Path: "/b"}} {
		if _, err := Dial(testCtx(t), sock, Options{}); !errors.Is(err, ErrInvalidSocket) {
			t.Errorf("Dial(%+v) = %v, want ErrInvalidSocket", sock, err)
		}
	}
}

func TestCommandErrors(t *testing.T) {
	s := newTestServer(t, "main", "sleep 1000")
	c := s.dial(Options{})
	ctx := testCtx(t)
	tests := []struct {
		name    string
		line    string
		want    []string
		wantErr string
	}{
		{"unknown command", "bogus-command", nil, "unknown command: bogus-command"},
		{"no such pane", "send-keys -t %999 x", nil, "can't find pane: %999"},
		{"sequence", "display -p a ; display -p b", []string{"a", "b"}, ""},
		{"error aborts sequence", "send-keys -t %999 -l x ; display -p after", nil, "can't find pane: %999"},
		{"output then error", "display -p before ; send-keys -t %999 x ; display -p after", []string{"before"}, "can't find pane"},
		{"nested commands", "if-shell -F 1 'display -p yes' 'display -p no'", []string{"yes"}, ""},
		{"comment only", "# nothing", nil, ""},
		{"parse error", "display -p {", nil, "parse error: syntax error"},
		{"unterminated quote is accepted", "display -p 'open", []string{"open"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.Command(ctx, tt.line)
			if tt.wantErr != "" {
				var ce *CommandError
				if !errors.As(err, &ce) || !strings.Contains(ce.Message, tt.wantErr) {
					t.Fatalf("err = %v, want CommandError containing %q", err, tt.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
	// The connection is still in step after all that.
	got, err := c.Command(ctx, "display -p still-ok")
	if err != nil || len(got) != 1 || got[0] != "still-ok" {
		t.Fatalf("got %q, %v", got, err)
	}
	for _, line := range []string{"", "   ", "display -p a\ndisplay -p b"} {
		if _, err := c.Command(ctx, line); !errors.Is(err, ErrInvalidCommand) {
			t.Errorf("Command(%q) = %v, want ErrInvalidCommand", line, err)
		}
	}
}

func TestConcurrentCommands(t *testing.T) {
	s := newTestServer(t, "main", "sleep 1000")
	c := s.dial(Options{})
	ctx := testCtx(t)
	const workers, each = 16, 50
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				want := fmt.Sprintf("w%d-i%d", w, i)
				cmds := []Cmd{{"display-message", "-p", want}}
				if i%5 == 0 {
					// Some fail, some print several lines.
					cmds = append([]Cmd{{"display-message", "-p", want + "-first"}}, cmds...)
				}
				got, err := c.Run(ctx, cmds...)
				if err != nil {
					errs <- err
					return
				}
				if got[len(got)-1] != want {
					errs <- fmt.Errorf("got %q, want last line %q", got, want)
					return
				}
				if i%7 == 0 {
					_, err := c.Run(ctx, Cmd{"send-keys", "-t", "%9999", want})
					if err == nil || !strings.Contains(err.Error(), "can't find pane") {
						errs <- fmt.Errorf("want error, got %v", err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestCloseAndExit(t *testing.T) {
	s := newTestServer(t, "main", "sleep 1000")
	c := s.dial(Options{})
	if err := c.Err(); err != nil {
		t.Fatalf("Err before close = %v", err)
	}
	c.Close()
	select {
	case <-c.Done():
	default:
		t.Fatal("Done not closed after Close")
	}
	if !errors.Is(c.Err(), ErrClosed) {
		t.Fatalf("Err = %v, want ErrClosed", c.Err())
	}
	if _, err := c.Command(testCtx(t), "display -p x"); !errors.Is(err, ErrClosed) {
		t.Fatalf("Command after Close = %v, want ErrClosed", err)
	}
	c.Close()

	c2 := s.dial(Options{})
	s.tmux("kill-server")
	select {
	case <-c2.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("client did not notice the server exiting")
	}
	if !errors.Is(c2.Err(), ErrExited) {
		t.Fatalf("Err = %v, want ErrExited", c2.Err())
	}
	if _, err := c2.Command(testCtx(t), "display -p x"); !errors.Is(err, ErrExited) {
		t.Fatalf("Command after exit = %v, want ErrExited", err)
	}
	// The notification channel is closed once the client has ended.
	for range c2.Notifications() {
	}
}

func TestCommandContextCancel(t *testing.T) {
	s := newTestServer(t, "main", "sleep 1000")
	c := s.dial(Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Command(ctx, "display -p x"); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	// The abandoned reply is consumed and the next one matches.
	got, err := c.Command(testCtx(t), "display -p next")
	if err != nil || len(got) != 1 || got[0] != "next" {
		t.Fatalf("got %q, %v", got, err)
	}
}

func TestServerEntryPoint(t *testing.T) {
	s := newTestServer(t, "main", "sleep 1000")
	srv := Server{Socket: s.sock}
	c, err := srv.Dial(testCtx(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, r := range []Runner{c, srv.Exec(nil)} {
		got, err := r.Run(testCtx(t), Cmd{"list-sessions", "-F", "#{session_name}"})
		if err != nil || len(got) != 1 || got[0] != "main" {
			t.Fatalf("got %q, %v", got, err)
		}
	}
}

func TestDialOptions(t *testing.T) {
	s := newTestServer(t, "main", "sleep 1000")
	s.tmux("new-session", "-d", "-s", "second one", "sleep 1000")
	s.tmux("new-session", "-d", "-s", "third", "sleep 1000")
	ctx := testCtx(t)
	c := s.dial(Options{Session: "=second one", NoOutput: true})
	got, err := c.Run(ctx, Cmd{"display-message", "-p", "#{session_name}/#{client_flags}"})
	if err != nil || len(got) != 1 || !strings.HasPrefix(got[0], "second one/") ||
		!strings.Contains(got[0], "no-output") || !strings.Contains(got[0], "ignore-size") {
		t.Fatalf("got %q, %v", got, err)
	}
	col := collect(c)
	id := s.tmux("new-window", "-d", "-P", "-F", "#{pane_id}", "-t", "=second one:", "echo hi; exec sleep 1000")
	checkFor(t, 10*time.Second, 10*time.Millisecond, func() error {
		if lines, err := CapturePane(ctx, c, id); err != nil || len(lines) == 0 || lines[0] != "hi" {
			return fmt.Errorf("pane shows %q, %v", lines, err)
		}
		return nil
	})
	// Notifications arrive in order: any %output of "hi" comes before the
	// window-add of a window created after "hi" was on the screen.
	wid := s.tmux("new-window", "-d", "-P", "-F", "#{window_id}", "-t", "=second one:", "sleep 1000")
	col.waitFor(t, "window-add", func(n Notification) bool {
		return n.Kind == "window-add" && n.Args[0] == wid
	})
	for _, n := range col.seen {
		if n.Kind == "output" {
			t.Fatalf("got %%output with no-output: %q", n.Line)
		}
	}

	var ce *CommandError
	if _, err := Dial(ctx, s.sock, Options{Session: "=nope"}); !errors.As(err, &ce) ||
		!strings.Contains(ce.Message, "can't find session") {
		t.Fatalf("Dial to a missing session = %v", err)
	}
}
