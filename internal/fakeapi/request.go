package fakeapi

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
)

// Kind says which endpoint a request went to.
type Kind string

// The endpoints the stand-in knows.
const (
	KindMessages    Kind = "messages"     // POST .../v1/messages
	KindCountTokens Kind = "count_tokens" // POST .../v1/messages/count_tokens
	KindOther       Kind = "other"        // anything else (GETs, unknown paths)
)

// Request is one request the stand-in received.
type Request struct {
	// Seq numbers the requests from 1 in the order they arrived.
	Seq int
	// Method and Path are the HTTP method and the URL path; Query is the raw query.
	Method, Path, Query string
	// Kind is the endpoint.
	Kind Kind
	// Model, Stream and Tools are the fields of a messages request (Tools holds the tool names).
	Model  string
	Stream bool
	Tools  []string
	// Turn is true for a turn of the main conversation: a messages request that offers tools.
	// Side calls (titles, summaries, small-model checks) offer none.
	Turn bool
	// Prompt is the text the person (or a program typing) submitted: the last text block of the
	// last user message that is not one of Claude Code's <system-reminder> blocks. Empty when that
	// message carries only a tool result (a prompt sent after a refused tool call comes with
	// the tool result and "[Request interrupted by user for tool use]").
	Prompt string
	// Texts holds all those text blocks (a prompt sent after an interruption comes with the
	// interrupted one and "[Request interrupted by user]").
	Texts []string
	// ToolResult is true when the last user message carries a tool result (the turn goes on
	// after a tool ran or was refused); ToolResultText is its content.
	ToolResult     bool
	ToolResultText string
	// Body is the raw request body.
	Body []byte

	reply Reply
}

type messagesBody struct {
	Model    string `json:"model"`
	Stream   bool   `json:"stream"`
	Messages []struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	} `json:"messages"`
	Tools []struct {
		Name string `json:"name"`
	} `json:"tools"`
}

type contentBlock struct {
	Type    string          `json:"type"`
	Text    string          `json:"text"`
	Content json.RawMessage `json:"content"`
}

// parseRequest reads r into a Request; a body that is not JSON leaves the message fields empty.
func parseRequest(r *http.Request) Request {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	req := Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Kind: KindOther, Body: body}
	switch {
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/v1/messages/count_tokens"):
		req.Kind = KindCountTokens
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/v1/messages"):
		req.Kind = KindMessages
	}
	if req.Kind == KindOther {
		return req
	}
	var mb messagesBody
	if json.Unmarshal(body, &mb) != nil {
		return req
	}
	req.Model, req.Stream = mb.Model, mb.Stream
	for _, t := range mb.Tools {
		req.Tools = append(req.Tools, t.Name)
	}
	req.Turn = req.Kind == KindMessages && len(req.Tools) > 0
	for i := len(mb.Messages) - 1; i >= 0; i-- {
		if mb.Messages[i].Role != "user" {
			continue
		}
		req.Texts, req.ToolResult, req.ToolResultText = userText(mb.Messages[i].Content)
		if len(req.Texts) > 0 {
			req.Prompt = req.Texts[len(req.Texts)-1]
		}
		break
	}
	return req
}

// userText extracts the submitted text (or the tool result) from a user message's content,
// which is a string or a list of blocks.
func userText(raw json.RawMessage) (texts []string, toolResult bool, resultText string) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []string{s}, false, ""
	}
	var blocks []contentBlock
	if json.Unmarshal(raw, &blocks) != nil {
		return nil, false, ""
	}
	for _, b := range blocks {
		switch b.Type {
		case "text":
			if strings.HasPrefix(strings.TrimSpace(b.Text), "<system-reminder>") {
				continue
			}
			texts = append(texts, b.Text)
		case "tool_result":
			toolResult = true
			resultText += flatten(b.Content)
		}
	}
	return texts, toolResult, resultText
}

// flatten turns a tool_result content (a string or text blocks) into text.
func flatten(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var blocks []contentBlock
	_ = json.Unmarshal(raw, &blocks)
	var b strings.Builder
	for _, c := range blocks {
		b.WriteString(c.Text)
	}
	return b.String()
}
