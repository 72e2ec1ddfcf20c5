package tmux

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestParseNotification(t *testing.T) {
	tests := []struct {
		line   string
		kind   string
		args   []string
		pane   string
		data   string
		noData bool
	}{
		{line: `%output %3 a\033[1mb\134c\015\012 é`, kind: "output", args: []string{"%3"}, pane: "%3", data: "a\x1b[1mb\\c\r\n é"},
		{line: `%output %3 `, kind: "output", args: []string{"%3"}, pane: "%3", data: ""},
		{line: `%output %3 \12x\1`, kind: "output", args: []string{"%3"}, pane: "%3", data: `\12x\1`},
		{line: `%extended-output %4 120 : x\011y`, kind: "extended-output", args: []string{"%4", "120"}, pane: "%4", data: "x\ty"},
		{line: `%window-add @7`, kind: "window-add", args: []string{"@7"}, noData: true},
		{line: `%window-close @7`, kind: "window-close", args: []string{"@7"}, noData: true},
		{line: `%unlinked-window-close @8`, kind: "unlinked-window-close", args: []string{"@8"}, noData: true},
		{line: `%sessions-changed`, kind: "sessions-changed", noData: true},
		{line: `%session-changed $1 my session`, kind: "session-changed", args: []string{"$1", "my session"}, noData: true},
		{line: `%window-renamed @2 a b: c`, kind: "window-renamed", args: []string{"@2", "a b: c"}, noData: true},
		{line: `%pane-mode-changed %5`, kind: "pane-mode-changed", args: []string{"%5"}, pane: "%5", noData: true},
		{line: `%window-pane-changed @1 %6`, kind: "window-pane-changed", args: []string{"@1", "%6"}, pane: "%6", noData: true},
		{line: `%subscription-changed dead $0 @1 0 %2 : 1/bash x`, kind: "subscription-changed", args: []string{"dead", "$0", "@1", "0", "%2"}, pane: "%2", data: "1/bash x"},
		{line: `%exit`, kind: "exit", noData: true},
		{line: `%exit server exited`, kind: "exit", args: []string{"server exited"}, noData: true},
	}
	for _, tt := range tests {
		n := parseNotification([]byte(tt.line))
		if n.Kind != tt.kind || n.PaneID != tt.pane || strings.Join(n.Args, "|") != strings.Join(tt.args, "|") {
			t.Errorf("%q: got kind %q pane %q args %q", tt.line, n.Kind, n.PaneID, n.Args)
		}
		if tt.noData && n.Data != nil || !tt.noData && string(n.Data) != tt.data {
			t.Errorf("%q: got data %q, want %q", tt.line, n.Data, tt.data)
		}
		if n.Line != tt.line {
			t.Errorf("%q: Line = %q", tt.line, n.Line)
		}
	}
}

// collector gathers notifications from a control client in the background.
type collector struct {
	ch   chan Notification
	seen []Notification
}

func collect(c *Control) *collector {
	col := &collector{ch: make(chan Notification, 1<<16)}
	go func() {
		for n := range c.Notifications() {
			col.ch <- n
		}
	}()
	return col
}

// waitFor waits for a notification for which match returns true.
func (col *collector) waitFor(t *testing.T, what string, match func(Notification) bool) Notification {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for _, n := range col.seen {
		if match(n) {
			return n
		}
	}
	for {
		select {
		case n := <-col.ch:
			col.seen = append(col.seen, n)
			if match(n) {
				return n
			}
		case <-timeout:
			t.Fatalf("no %s notification; saw %d others", what, len(col.seen))
		}
	}
}

func TestOutputNotificationDecoded(t *testing.T) {
	s := newTestServer(t, "main", "sleep 1000")
	c := s.dial(Options{})
	col := collect(c)
	// The program writes a control character, a backslash and non-ASCII.
	id := s.tmux("new-window", "-d", "-P", "-F", "#{pane_id}", "-t", "main:",
		`printf 'x\001y\\z é ü 日本\n'; exec sleep 1000`)
	want := "x\x01y\\z é ü 日本\r\n"
	var got bytes.Buffer
	col.waitFor(t, "output", func(n Notification) bool {
		if n.Kind == "output" && n.PaneID == id {
			got.Write(n.Data)
		}
		return strings.Contains(got.String(), want)
	})
}

func TestWindowAndSessionNotifications(t *testing.T) {
	s := newTestServer(t, "main", "sleep 1000")
	c := s.dial(Options{})
	col := collect(c)
	ctx := testCtx(t)

	wid := s.tmux("new-window", "-d", "-P", "-F", "#{window_id}", "-t", "main:", "sleep 1000")
	col.waitFor(t, "window-add", func(n Notification) bool {
		return n.Kind == "window-add" && len(n.Args) == 1 && n.Args[0] == wid
	})
	s.tmux("new-session", "-d", "-s", "later", "sleep 1000")
	col.waitFor(t, "sessions-changed", func(n Notification) bool { return n.Kind == "sessions-changed" })
	panes, err := ListPanes(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	sessions := map[string]bool{}
	for _, p := range panes {
		sessions[p.Session] = true
	}
	if !sessions["later"] || len(panes) != 3 {
		t.Fatalf("ListPanes after new session: %+v", panes)
	}

	// tmux 3.3a reports a killed window of the attached session as
	// unlinked-window-close: it is unlinked by the time the client is told.
	s.tmux("kill-window", "-t", wid)
	col.waitFor(t, "window-close", func(n Notification) bool {
		return (n.Kind == "window-close" || n.Kind == "unlinked-window-close") &&
			len(n.Args) == 1 && n.Args[0] == wid
	})
	other := s.tmux("new-window", "-d", "-P", "-F", "#{window_id}", "-t", "later:", "sleep 1000")
	s.tmux("kill-window", "-t", other)
	col.waitFor(t, "unlinked-window-close", func(n Notification) bool {
		return n.Kind == "unlinked-window-close" && len(n.Args) == 1 && n.Args[0] == other
	})

	pane := s.tmux("display-message", "-p", "-t", "main:0", "#{pane_id}")
	s.tmux("copy-mode", "-t", pane)
	col.waitFor(t, "pane-mode-changed", func(n Notification) bool {
		return n.Kind == "pane-mode-changed" && n.PaneID == pane
	})
	if in, err := PaneInMode(ctx, c, pane); err != nil || !in {
		t.Fatalf("PaneInMode = %v, %v; want true", in, err)
	}
	for i := 0; i < 2; i++ { // the second time the pane is in no mode
		if err := CancelMode(ctx, c, pane); err != nil {
			t.Fatal(err)
		}
	}
	if in, err := PaneInMode(ctx, c, pane); err != nil || in {
		t.Fatalf("PaneInMode after CancelMode = %v, %v; want false", in, err)
	}

	if err := c.Subscribe(ctx, "state", "%*", "#{pane_dead}/#{pane_current_command}"); err != nil {
		t.Fatal(err)
	}
	col.waitFor(t, "subscription-changed", func(n Notification) bool {
		return n.Kind == "subscription-changed" && n.PaneID == pane && string(n.Data) == "0/sleep"
	})
	if err := c.Unsubscribe(ctx, "state"); err != nil {
		t.Fatal(err)
	}
	if err := c.Subscribe(ctx, "a:b", "", "x"); !errors.Is(err, ErrInvalidCommand) {
		t.Fatalf("Subscribe with ':' in the name = %v", err)
	}

	s.tmux("kill-session", "-t", "main")
	col.waitFor(t, "exit", func(n Notification) bool { return n.Kind == "exit" })
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("client did not end after its session was killed")
	}
}

func TestSlowConsumerDropsNotifications(t *testing.T) {
	s := newTestServer(t, "main", "sleep 1000")
	c := s.dial(Options{NotifyBuffer: 1})
	ctx := testCtx(t)
	// Nobody reads Notifications. A chatty pane must not stall commands.
	s.tmux("new-window", "-d", "-t", "main:", "exec yes 'some output'")
	checkFor(t, 10*time.Second, 10*time.Millisecond, func() error {
		if _, err := c.Command(ctx, "display -p alive"); err != nil {
			return err
		}
		if c.Dropped() < 100 {
			return fmt.Errorf("dropped %d notifications so far", c.Dropped())
		}
		return nil
	})
}
