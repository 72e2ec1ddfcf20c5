package tmux

import (
	"context"
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
