package subjects

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	gojson "github.com/goccy/go-json"
)

// Size limits of a message. The body limit leaves room for the envelope under MaxEnvelopeBytes,
// which is far below the server's max_payload.
const (
	MaxBodyBytes     = 32 * 1024
	MaxSubjectChars  = 200
	MaxEnvelopeBytes = 64 * 1024
	MaxTags          = 16
	// MaxFieldBytes bounds the short fields: the sender, type, category, correlation id,
	// and an acknowledgement's sender.
	MaxFieldBytes = 256
	// MaxNoteBytes bounds an acknowledgement's note.
	MaxNoteBytes = 4 * 1024
)

// Envelope is a message as stored on the bus, in the structured format of the original guide,
// with the address it was sent to added.
type Envelope struct {
	ID        string    `json:"id"`
	Timestamp time.Time `json:"timestamp"`
	Source    Source    `json:"source"`
	Target    Address   `json:"target"`
	Message   Message   `json:"message"`
	Metadata  Metadata  `json:"metadata"`
}

// Source records who sent a message.
type Source struct {
	// Type is the kind of sender: cli, daemon, monitor, bridge, agent, pm...
	Type string `json:"type"`
	// Identifier names the sender: a tmux target ("pm:1") or user@host.
	Identifier string `json:"identifier"`
	// Host is the host the sender ran on.
	Host string `json:"host,omitempty"`
	// Pane is the tmux pane the sender ran in ("%3"), when it ran in one: a group message
	// is not typed back into it.
	Pane string `json:"pane,omitempty"`
}

// Message is the payload proper.
type Message struct {
	Type     string   `json:"type"`
	Category string   `json:"category"`
	Priority Priority `json:"priority"`
	Content  Content  `json:"content"`
}

// Content is what the recipient reads.
type Content struct {
	Subject string         `json:"subject"`
	Body    string         `json:"body"`
	Context map[string]any `json:"context,omitempty"`
}

// Metadata carries delivery hints.
type Metadata struct {
	RequiresAck   bool     `json:"requires_ack"`
	Tags          []string `json:"tags"`
	CorrelationID string   `json:"correlation_id,omitempty"`
}

// ValidateTag checks one tag: 1-64 letters, digits, '-', '_', '.', ':' or '/'.
func ValidateTag(tag string) error {
	if !matches(tag, alnum, tagRest, 64) {
		return fmt.Errorf("%w %q: want 1-64 letters, digits, '-', '_', '.', ':' or '/', starting with a letter or digit", ErrTag, tag)
	}
	return nil
}

// SubjectLine derives a one-line subject from a body: its first non-empty line, shortened.
func SubjectLine(body string) string {
	for _, line := range strings.Split(body, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if utf8.RuneCountInString(line) > 80 {
			r := []rune(line)
			return string(r[:79]) + "…"
		}
		return line
	}
	return ""
}

// Validate checks every field and says what is wrong. It is the one check of an envelope
// and runs where a message enters: the CLI when it builds one from its flags (so that bad
// input is refused before any daemon is reached or pane typed into), bus.Publish and
// bus.Schedule for every sender, and Decode for what is read back. What runs after it
// (Marshal, Subject) does not check the fields again.
func (e *Envelope) Validate() error {
	if err := ValidateID(e.ID); err != nil {
		return err
	}
	if e.Timestamp.IsZero() {
		return fmt.Errorf("%w: timestamp is missing", ErrEnvelope)
	}
	if !e.Message.Priority.Valid() {
		return fmt.Errorf("%w: %w: %q", ErrEnvelope, ErrPriority, e.Message.Priority.String())
	}
	if err := e.Target.Validate(); err != nil {
		return err
	}
	if e.Source.Type == "" || e.Source.Identifier == "" {
		return fmt.Errorf("%w: the sender (source type and identifier) is missing", ErrEnvelope)
	}
	c := e.Message.Content
	type field struct{ what, s string }
	for _, f := range [...]field{{"body", c.Body}, {"subject", c.Subject}, {"type", e.Message.Type},
		{"category", e.Message.Category}, {"source", e.Source.Identifier}, {"correlation id", e.Metadata.CorrelationID}} {
		if !utf8.ValidString(f.s) {
			return fmt.Errorf("%w: the %s is not valid UTF-8", ErrEnvelope, f.what)
		}
	}
	for _, f := range [...]field{{"type", e.Message.Type}, {"category", e.Message.Category},
		{"sender (--from)", e.Source.Identifier}, {"correlation id", e.Metadata.CorrelationID}} {
		if len(f.s) > MaxFieldBytes {
			return fmt.Errorf("%w: the %s is %d bytes, the limit is %d", ErrEnvelope, f.what, len(f.s), MaxFieldBytes)
		}
	}
	if strings.TrimSpace(c.Body) == "" {
		return fmt.Errorf("%w: the message body is empty", ErrEnvelope)
	}
	if len(c.Body) > MaxBodyBytes {
		return fmt.Errorf("%w: the body is %d bytes, the limit is %d", ErrEnvelope, len(c.Body), MaxBodyBytes)
	}
	if utf8.RuneCountInString(c.Subject) > MaxSubjectChars {
		return fmt.Errorf("%w: the subject is longer than %d characters", ErrEnvelope, MaxSubjectChars)
	}
	if len(e.Metadata.Tags) > MaxTags {
		return fmt.Errorf("%w: %d tags, the limit is %d", ErrEnvelope, len(e.Metadata.Tags), MaxTags)
	}
	for _, t := range e.Metadata.Tags {
		if err := ValidateTag(t); err != nil {
			return err
		}
	}
	return nil
}

// Subject is the NATS subject a validated envelope (see Validate) is published on; it does
// not check the fields again (MessageSubject does, for parts that were not). A target
// without a host, other than a group everywhere, is ErrNoHost.
func (e *Envelope) Subject() (string, error) {
	if e.Target.Host == "" && !e.Target.Everywhere() {
		return "", fmt.Errorf("%w: %s", ErrNoHost, e.Target)
	}
	return Root + "." + e.Message.Priority.String() + "." + e.Target.tokens() + "." + e.ID, nil
}

// Encode validates the envelope and returns its JSON (Validate, then Marshal).
func (e *Envelope) Encode() ([]byte, error) {
	if err := e.Validate(); err != nil {
		return nil, err
	}
	return e.Marshal()
}

// Marshal returns the JSON of an envelope that Validate accepted; it checks only the
// encoded size (MaxEnvelopeBytes), which is known only once encoded.
func (e *Envelope) Marshal() ([]byte, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrEnvelope, err)
	}
	if len(b) > MaxEnvelopeBytes {
		return nil, fmt.Errorf("%w: the encoded message is %d bytes, the limit is %d", ErrEnvelope, len(b), MaxEnvelopeBytes)
	}
	return b, nil
}

// Decode parses and validates an envelope. Unknown fields are ignored so that newer senders
// can add fields without breaking older readers.
//
// Every delivered message is decoded, and encoding/json's reflection cost about as much as
// the rest of the consumer's work (a broker-only load test at full speed spent 16% of its CPU
// there), so the envelope is first decoded with github.com/goccy/go-json, about 4 times
// faster. encoding/json stays the authority: what the fast decoder refuses (or a message the
// check refuses after it) is decoded again with encoding/json, so an input is accepted or
// refused exactly as before, and FuzzDecodeMatchesStdlib checks that what the fast decoder
// accepts equals what encoding/json makes of it. A panic in the fast decoder (it parses
// bytes any publisher may send) is caught and counts as a refusal.
func Decode(data []byte) (*Envelope, error) {
	if len(data) > MaxEnvelopeBytes {
		return nil, fmt.Errorf("%w: %d bytes, the limit is %d", ErrEnvelope, len(data), MaxEnvelopeBytes)
	}
	if e, ok := decodeFast(data); ok && e.Validate() == nil {
		return e, nil
	}
	return decodeStd(data)
}

// decodeStd is Decode with encoding/json.
func decodeStd(data []byte) (*Envelope, error) {
	var e Envelope
	if err := json.Unmarshal(data, &e); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrEnvelope, err)
	}
	if err := e.Validate(); err != nil {
		return nil, err
	}
	return &e, nil
}

// decodeFast decodes with goccy/go-json; ok is false when it refuses data or panics.
func decodeFast(data []byte) (e *Envelope, ok bool) {
	defer func() {
		if recover() != nil {
			e, ok = nil, false
		}
	}()
	var fe Envelope
	if err := gojson.Unmarshal(data, &fe); err != nil {
		return nil, false
	}
	return &fe, true
}

// HasTag reports whether the envelope carries tag.
func (e *Envelope) HasTag(tag string) bool {
	for _, t := range e.Metadata.Tags {
		if t == tag {
			return true
		}
	}
	return false
}

// FilterText is the text that read --filter matches: the priority label as the guide prints
// it ("HIGH PRIORITY"), the subject line, and the body.
func (e *Envelope) FilterText() string {
	return e.Message.Priority.Label() + " " + e.Message.Content.Subject + "\n" + e.Message.Content.Body
}

// ValidateAck checks an acknowledgement's sender and note: valid UTF-8, the sender
// non-empty and at most MaxFieldBytes, the note at most MaxNoteBytes.
func ValidateAck(by, note string) error {
	if strings.TrimSpace(by) == "" {
		return fmt.Errorf("%w: who acknowledges (--from) is empty", ErrAck)
	}
	if !utf8.ValidString(by) {
		return fmt.Errorf("%w: who acknowledges (--from) is not valid UTF-8", ErrAck)
	}
	if len(by) > MaxFieldBytes {
		return fmt.Errorf("%w: who acknowledges (--from) is %d bytes, the limit is %d", ErrAck, len(by), MaxFieldBytes)
	}
	if !utf8.ValidString(note) {
		return fmt.Errorf("%w: the note is not valid UTF-8", ErrAck)
	}
	if len(note) > MaxNoteBytes {
		return fmt.Errorf("%w: the note is %d bytes, the limit is %d", ErrAck, len(note), MaxNoteBytes)
	}
	return nil
}
