package bridge

import (
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/tmux-orc/tmux-orc/subjects"
)

// DefaultMaxInline bounds the text typed into a pane for one message, in bytes.
const DefaultMaxInline = 1000

// Render turns a message into the one line typed into an agent's prompt:
//
//	⚠️ HIGH PRIORITY Agent backend-dev:2 idle 15min [id 1m8f5mkjsd2tgd7t, ack: tmux-orc ack 1m8f5mkjsd2tgd7t]
//
// Newlines become " ⏎ " so the text is one line: agents treat pasted newlines
// inconsistently (submitted, fused, or a paste marker that never submits). A body longer
// than maxInline bytes is cut, and the line says how to read the rest.
func Render(e *subjects.Envelope, maxInline int) string {
	p := e.Message.Priority
	suffix := " [id " + e.ID
	if e.Metadata.RequiresAck {
		suffix += ", ack: tmux-orc ack " + e.ID
	}
	suffix += "]"
	head := p.Marker() + " " + p.Label() + " "
	return head + flatten(e.Message.Content.Body, maxInline-len(head)-len(suffix), e.ID) + suffix
}

// RenderBatch renders several low-priority messages as one line.
func RenderBatch(es []*subjects.Envelope, maxInline int) string {
	if len(es) == 1 {
		return Render(es[0], maxInline)
	}
	var b strings.Builder
	b.WriteString(subjects.Low.Marker() + " " + subjects.Low.Label() + " ")
	b.WriteString(itoa(len(es)) + " messages: ")
	per := max(80, (maxInline-b.Len())/len(es))
	for i, e := range es {
		if i > 0 {
			b.WriteString(" | ")
		}
		b.WriteString("[" + e.ID + "] " + flatten(e.Message.Content.Body, per-len(e.ID)-3, e.ID))
	}
	return b.String()
}

func flatten(body string, limit int, id string) string {
	body = strings.TrimSpace(strings.ReplaceAll(body, "\r\n", "\n"))
	body = strings.ReplaceAll(body, "\n", " ⏎ ")
	body = strings.ReplaceAll(body, "\t", " ")
	if limit < 40 {
		limit = 40
	}
	if len(body) <= limit {
		return body
	}
	more := "… (full text: tmux-orc read --id " + id + ")"
	cut := max(0, limit-len(more))
	for cut > 0 && !utf8.RuneStart(body[cut]) {
		cut--
	}
	return body[:cut] + more
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for ; n > 0; n /= 10 {
		i--
		b[i] = byte('0' + n%10)
	}
	return string(b[i:])
}

// Ref is a message named in a rendered line: its id and priority.
type Ref struct {
	ID       string
	Priority subjects.Priority
}

var (
	renderedHead = regexp.MustCompile(`(CRITICAL|HIGH PRIORITY|NORMAL|LOW PRIORITY) `)
	renderedID   = regexp.MustCompile(`\[id ([0-9a-z]{16})[,\]]`)
	batchedID    = regexp.MustCompile(`\[([0-9a-z]{16})\] `)
)

// ParseRendered finds the messages named in text as Render and RenderBatch write them (an
// agent's prompt, or a Stop hook's hand-over), line by line: the priority from the line's
// label, the ids from "[id ID" (one message) or "[ID] " (a batch of low ones).
func ParseRendered(text string) []Ref {
	var out []Ref
	seen := map[string]bool{}
	for _, line := range strings.Split(text, "\n") {
		m := renderedHead.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		var p subjects.Priority
		for _, q := range subjects.Priorities {
			if q.Label() == m[1] {
				p = q
			}
		}
		ids := renderedID.FindAllStringSubmatch(line, -1)
		if p == subjects.Low {
			ids = append(ids, batchedID.FindAllStringSubmatch(line, -1)...)
		}
		for _, id := range ids {
			if !seen[id[1]] {
				seen[id[1]] = true
				out = append(out, Ref{ID: id[1], Priority: p})
			}
		}
	}
	return out
}
