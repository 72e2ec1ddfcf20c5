package tmux

import (
	"context"
	"strings"
	"testing"
)

func benchSendKeys(b *testing.B, pick func(*testServer) Runner) {
	s := newTestServer(b, "main", "sleep 1000")
	r := pick(s)
	id, _ := s.rawPane("main", false)
	// A typical 70-byte notification line.
	text := "[orc] high: please rebase onto main; tests in ./bridge fail -- see log"
	ctx := context.Background()
	b.SetBytes(int64(len(text)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := SendText(ctx, r, id, text); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkControlSendKeys measures SendText of a 70-byte line over a
// control connection, until tmux has answered (the keys are queued to the
// pane by then).
func BenchmarkControlSendKeys(b *testing.B) {
	benchSendKeys(b, func(s *testServer) Runner { return s.dial(Options{}) })
}

// BenchmarkExecSendKeys measures the same over a spawned tmux per message.
func BenchmarkExecSendKeys(b *testing.B) {
	benchSendKeys(b, func(s *testServer) Runner { return s.exec })
}

// BenchmarkListPanes100 measures ListPanes of 100 panes (10 sessions of 10 windows) over a
// control connection, and, for comparison, the same list-panes with the names, the command and
// the user options printed raw (forgeable, as before TextField).
func BenchmarkListPanes100(b *testing.B) {
	s := newTestServer(b, "s0", "sleep 1000")
	for i := 0; i < 10; i++ {
		name := "s" + string(rune('0'+i))
		if i > 0 {
			s.tmux("new-session", "-d", "-s", name, "sleep 1000")
		}
		for j := 1; j < 10; j++ {
			s.tmux("new-window", "-d", "-t", "="+name+":", "sleep 1000")
		}
	}
	c := s.dial(Options{})
	ctx := context.Background()
	raw := strings.NewReplacer(TextField("session_name"), "#{session_name}", TextField("window_name"), "#{window_name}",
		TextField("pane_current_command"), "#{pane_current_command}",
		optionField("@orc-role"), "#{@orc-role}", optionField("@orc-group"), "#{@orc-group}").Replace(paneFormat)
	b.Run("sanitized", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			panes, err := ListPanes(ctx, c)
			if err != nil || len(panes) != 100 {
				b.Fatalf("%d panes, %v", len(panes), err)
			}
		}
	})
	b.Run("raw", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			lines, err := c.Run(ctx, Cmd{"list-panes", "-a", "-F", raw})
			if err != nil || len(lines) != 100 {
				b.Fatalf("%d lines, %v", len(lines), err)
			}
		}
	})
}
