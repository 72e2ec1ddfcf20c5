// Package fakeapi is a local stand-in for the Anthropic Messages API, good enough for the real
// Claude Code TUI to run against it offline: turns complete, tools are requested (so real
// permission dialogs open), errors end a turn. Tests script it: queue the replies the next
// conversation turns get, and read back every request it received.
//
// It listens on 127.0.0.1 only and depends on the standard library only.
package fakeapi

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// DefaultText is what a conversation turn is answered with when no reply is queued.
const DefaultText = "OK from the stand-in."

// Server is a running stand-in. Its zero value is not usable; call Start.
type Server struct {
	// URL is the base URL to give Claude Code as ANTHROPIC_BASE_URL (http://127.0.0.1:PORT).
	URL string

	srv *httptest.Server

	mu       sync.Mutex
	queue    []Reply
	requests []Request
	def      Reply
	seq      int
	changed  chan struct{} // closed and replaced on every recorded request
}

// Start starts a stand-in on 127.0.0.1 at a random port. Close it when done.
func Start() (*Server, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listening for the API stand-in: %w", err)
	}
	s := &Server{def: Text(DefaultText), changed: make(chan struct{})}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.srv.Listener.Close()
	s.srv.Listener = l
	s.srv.Start()
	s.URL = s.srv.URL
	return s, nil
}

// Close stops the server; replies still waiting (Hold) are cut off.
func (s *Server) Close() {
	s.srv.CloseClientConnections()
	s.srv.Close()
}

// Queue appends replies for the next conversation turns, in order. Requests that are not
// conversation turns (titles, side calls on a small model, token counts) never take a queued
// reply.
func (s *Server) Queue(replies ...Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queue = append(s.queue, replies...)
}

// SetDefault sets the reply of conversation turns when the queue is empty.
func (s *Server) SetDefault(r Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.def = r
}

// Pending reports how many queued replies have not been used yet.
func (s *Server) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queue)
}

// Requests returns a copy of every request received so far, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Turns returns the conversation-turn requests received so far, oldest first.
func (s *Server) Turns() []Request {
	var out []Request
	for _, r := range s.Requests() {
		if r.Turn {
			out = append(out, r)
		}
	}
	return out
}

// Prompts returns the user prompts that reached the model: the text of the last user message
// of each conversation turn that ends in a text (not a tool result), oldest first.
func (s *Server) Prompts() []string {
	var out []string
	for _, r := range s.Turns() {
		if r.Prompt != "" {
			out = append(out, r.Prompt)
		}
	}
	return out
}

// WaitRequest waits until a request for which match is true has been received, and returns
// it. It gives up after timeout.
func (s *Server) WaitRequest(timeout time.Duration, match func(Request) bool) (Request, bool) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	seen := 0
	for {
		s.mu.Lock()
		reqs := s.requests[seen:]
		ch := s.changed
		s.mu.Unlock()
		for _, r := range reqs {
			if match(r) {
				return r, true
			}
		}
		seen += len(reqs)
		select {
		case <-ch:
		case <-deadline.C:
			return Request{}, false
		}
	}
}

// HasPrompt returns a matcher for WaitRequest: a conversation turn whose prompt contains sub.
func HasPrompt(sub string) func(Request) bool {
	return func(r Request) bool { return r.Turn && strings.Contains(r.Prompt, sub) }
}

func (s *Server) record(r Request) Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	r.Seq = s.seq
	if r.Turn && r.Method == http.MethodPost && r.Kind == KindMessages {
		if len(s.queue) > 0 {
			r.reply = s.queue[0]
			s.queue = s.queue[1:]
		} else {
			r.reply = s.def
		}
	}
	s.requests = append(s.requests, r)
	close(s.changed)
	s.changed = make(chan struct{})
	return r
}

// writeJSON answers with status and v encoded as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func apiError(kind, msg string) map[string]any {
	return map[string]any{"type": "error", "error": map[string]any{"type": kind, "message": msg}}
}
