package fakeapi

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func post(t *testing.T, s *Server, path, body string) *http.Response {
	t.Helper()
	resp, err := http.Post(s.URL+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// events reads a server-sent event stream into its data payloads.
func events(t *testing.T, resp *http.Response) []map[string]any {
	t.Helper()
	return parseEvents(t, resp.Body)
}

func parseEvents(t *testing.T, r io.Reader) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(data), &m); err != nil {
			t.Fatalf("event data %q: %v", data, err)
		}
		out = append(out, m)
	}
	return out
}

const turn = `{"model":"m","stream":true,"tools":[{"name":"Bash"}],"messages":[{"role":"user","content":[{"type":"text","text":"<system-reminder>x</system-reminder>"},{"type":"text","text":"hello"}]}]}`

func TestStreamedTurns(t *testing.T) {
	s, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Queue(Bash("ls", "list"), Text("second"))

	// A side call (no tools) does not take a queued reply.
	side := post(t, s, "/v1/messages?beta=true", `{"model":"small","messages":[{"role":"user","content":"title?"}]}`)
	var msg map[string]any
	if err := json.NewDecoder(side.Body).Decode(&msg); err != nil || msg["stop_reason"] != "end_turn" {
		t.Fatalf("side call answer %v, %v", msg, err)
	}

	ev := events(t, post(t, s, "/v1/messages?beta=true", turn))
	var types []string
	var partial string
	for _, e := range ev {
		types = append(types, e["type"].(string))
		if d, ok := e["delta"].(map[string]any); ok && d["type"] == "input_json_delta" {
			partial += d["partial_json"].(string)
		}
	}
	want := "message_start ping content_block_start content_block_delta content_block_delta content_block_stop message_delta message_stop"
	if got := strings.Join(types, " "); got != want {
		t.Errorf("events %q, want %q", got, want)
	}
	if partial != `{"command":"ls","description":"list"}` {
		t.Errorf("tool input %q", partial)
	}
	if d := ev[len(ev)-2]["delta"].(map[string]any); d["stop_reason"] != "tool_use" {
		t.Errorf("stop_reason %v, want tool_use", d["stop_reason"])
	}

	ev = events(t, post(t, s, "/v1/messages", turn))
	var text string
	for _, e := range ev {
		if d, ok := e["delta"].(map[string]any); ok && d["type"] == "text_delta" {
			text += d["text"].(string)
		}
	}
	if text != "second" {
		t.Errorf("second turn text %q", text)
	}
	if got := s.Prompts(); len(got) != 2 || got[0] != "hello" {
		t.Errorf("Prompts() = %q, want two times hello", got)
	}
	if len(s.Requests()) != 3 || len(s.Turns()) != 2 || s.Pending() != 0 {
		t.Errorf("requests %d turns %d pending %d", len(s.Requests()), len(s.Turns()), s.Pending())
	}
}

func TestOtherEndpointsAndErrors(t *testing.T) {
	s, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Queue(Error(529))
	if resp := post(t, s, "/v1/messages", turn); resp.StatusCode != 529 {
		t.Errorf("queued error answered %d", resp.StatusCode)
	}
	var n map[string]int
	if err := json.NewDecoder(post(t, s, "/v1/messages/count_tokens?beta=true", turn).Body).Decode(&n); err != nil || n["input_tokens"] <= 0 {
		t.Errorf("count_tokens %v, %v", n, err)
	}
	resp, err := http.Get(s.URL + "/v1/models")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET: %v %v", resp, err)
	}
	resp.Body.Close()
	if resp := post(t, s, "/v1/nothing", "{}"); resp.StatusCode != 404 {
		t.Errorf("unknown path answered %d", resp.StatusCode)
	}
}

func TestHeldReplyAndWaitRequest(t *testing.T) {
	s, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	release := make(chan struct{})
	s.Queue(Text("late").Until(release))
	done := make(chan []byte)
	go func() {
		resp, err := http.Post(s.URL+"/v1/messages", "application/json", strings.NewReader(turn))
		if err != nil {
			done <- nil
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		done <- b
	}()
	if _, ok := s.WaitRequest(10*time.Second, HasPrompt("hello")); !ok {
		t.Fatal("WaitRequest did not see the turn")
	}
	select {
	case <-done:
		t.Fatal("held reply finished before it was released")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if ev := parseEvents(t, bytes.NewReader(<-done)); len(ev) == 0 || ev[len(ev)-1]["type"] != "message_stop" {
		t.Errorf("held reply ended with %v", ev)
	}
}
