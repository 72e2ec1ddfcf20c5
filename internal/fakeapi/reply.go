package fakeapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// Reply is the answer to one conversation turn: text, a tool call, or an HTTP error, possibly
// late.
type Reply struct {
	// Text is the assistant's text (with Tool, it comes before the tool call).
	Text string
	// Tool, when set, ends the reply with a tool_use block (stop_reason "tool_use").
	Tool *ToolUse
	// Status, when non-zero, answers with that HTTP status and an error body instead.
	Status int
	// Delay holds the reply back (after message_start when streaming) so the agent stays busy.
	Delay time.Duration
	// Hold, when set, holds the reply back until it is closed (after Delay).
	Hold <-chan struct{}
}

// ToolUse is a tool call the model asks for.
type ToolUse struct {
	Name  string
	Input map[string]any
}

// Text returns a reply of plain text: the turn completes and Claude Code's Stop hook fires.
func Text(text string) Reply { return Reply{Text: text} }

// Bash returns a reply asking to run command with the Bash tool. With --permission-mode
// default Claude Code opens its permission dialog ("Do you want to proceed?").
func Bash(command, description string) Reply {
	return Reply{Tool: &ToolUse{Name: "Bash", Input: map[string]any{"command": command, "description": description}}}
}

// Error returns a reply of an HTTP error: 500 (api_error), 529 (overloaded_error), 429
// (rate_limit_error) or any other status (invalid_request_error). Claude Code retries
// 5xx/529 up to CLAUDE_CODE_MAX_RETRIES times, then fires StopFailure.
func Error(status int) Reply { return Reply{Status: status} }

// After returns r delayed by d.
func (r Reply) After(d time.Duration) Reply { r.Delay = d; return r }

// Until returns r held back until ch is closed.
func (r Reply) Until(ch <-chan struct{}) Reply { r.Hold = ch; return r }

func errorType(status int) string {
	switch {
	case status == 529:
		return "overloaded_error"
	case status == 429:
		return "rate_limit_error"
	case status >= 500:
		return "api_error"
	case status == 401:
		return "authentication_error"
	}
	return "invalid_request_error"
}

// serve answers every request; see the package doc for what each endpoint gets.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	req := s.record(parseRequest(r))
	switch {
	case req.Kind == KindCountTokens:
		writeJSON(w, http.StatusOK, map[string]any{"input_tokens": 1 + len(req.Body)/4})
	case req.Kind == KindMessages:
		rep := req.reply
		if !req.Turn {
			rep = Text(DefaultText)
		}
		s.answer(w, r, req, rep)
	case r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, map[string]any{"data": []any{}, "has_more": false, "first_id": nil, "last_id": nil})
	default:
		writeJSON(w, http.StatusNotFound, apiError("not_found_error", fmt.Sprintf("the API stand-in has no %s %s", r.Method, r.URL.Path)))
	}
}

// wait sleeps for the reply's delay and hold, or until the client goes away.
func wait(r *http.Request, rep Reply) bool {
	if rep.Delay > 0 {
		t := time.NewTimer(rep.Delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return false
		}
	}
	if rep.Hold != nil {
		select {
		case <-rep.Hold:
		case <-r.Context().Done():
			return false
		}
	}
	return true
}

func (s *Server) answer(w http.ResponseWriter, r *http.Request, req Request, rep Reply) {
	id := fmt.Sprintf("msg_standin_%d", req.Seq)
	model := req.Model
	if model == "" {
		model = "claude-standin"
	}
	if rep.Status != 0 {
		if !wait(r, rep) {
			return
		}
		w.Header().Set("x-should-retry", "true")
		writeJSON(w, rep.Status, apiError(errorType(rep.Status), fmt.Sprintf("stand-in error %d", rep.Status)))
		return
	}
	var blocks []map[string]any
	if rep.Text != "" {
		blocks = append(blocks, map[string]any{"type": "text", "text": rep.Text})
	}
	stop := "end_turn"
	if rep.Tool != nil {
		stop = "tool_use"
		blocks = append(blocks, map[string]any{"type": "tool_use", "id": fmt.Sprintf("toolu_standin_%d", req.Seq), "name": rep.Tool.Name, "input": rep.Tool.Input})
	}
	if len(blocks) == 0 {
		blocks = append(blocks, map[string]any{"type": "text", "text": DefaultText})
	}
	usage := map[string]any{"input_tokens": 10, "output_tokens": 5, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
	if !req.Stream {
		if !wait(r, rep) {
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"id": id, "type": "message", "role": "assistant", "model": model,
			"content": blocks, "stop_reason": stop, "stop_sequence": nil, "usage": usage})
		return
	}
	sse := newSSE(w)
	sse.event("message_start", map[string]any{"type": "message_start", "message": map[string]any{"id": id, "type": "message",
		"role": "assistant", "model": model, "content": []any{}, "stop_reason": nil, "stop_sequence": nil, "usage": usage}})
	sse.event("ping", map[string]any{"type": "ping"})
	if !wait(r, rep) {
		return
	}
	for i, b := range blocks {
		switch b["type"] {
		case "text":
			sse.event("content_block_start", map[string]any{"type": "content_block_start", "index": i, "content_block": map[string]any{"type": "text", "text": ""}})
			for _, part := range halves(b["text"].(string)) {
				sse.event("content_block_delta", map[string]any{"type": "content_block_delta", "index": i, "delta": map[string]any{"type": "text_delta", "text": part}})
			}
		case "tool_use":
			sse.event("content_block_start", map[string]any{"type": "content_block_start", "index": i, "content_block": map[string]any{"type": "tool_use", "id": b["id"], "name": b["name"], "input": map[string]any{}}})
			in, _ := json.Marshal(b["input"])
			for _, part := range halves(string(in)) {
				sse.event("content_block_delta", map[string]any{"type": "content_block_delta", "index": i, "delta": map[string]any{"type": "input_json_delta", "partial_json": part}})
			}
		}
		sse.event("content_block_stop", map[string]any{"type": "content_block_stop", "index": i})
	}
	sse.event("message_delta", map[string]any{"type": "message_delta", "delta": map[string]any{"stop_reason": stop, "stop_sequence": nil}, "usage": map[string]any{"output_tokens": 5}})
	sse.event("message_stop", map[string]any{"type": "message_stop"})
}

// halves splits s in two deltas (one when short), as a real stream sends several.
func halves(s string) []string {
	if len(s) < 8 {
		return []string{s}
	}
	cut := len(s) / 2
	for cut < len(s) && s[cut]&0xC0 == 0x80 { // not inside a UTF-8 sequence
		cut++
	}
	return []string{s[:cut], s[cut:]}
}

type sseWriter struct {
	w http.ResponseWriter
	f http.Flusher
}

func newSSE(w http.ResponseWriter) *sseWriter {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	f, _ := w.(http.Flusher)
	return &sseWriter{w: w, f: f}
}

func (s *sseWriter) event(name string, data any) {
	b, _ := json.Marshal(data)
	fmt.Fprintf(s.w, "event: %s\ndata: %s\n\n", name, b)
	if s.f != nil {
		s.f.Flush()
	}
}
