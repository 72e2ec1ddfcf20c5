package subjects

import (
	"crypto/rand"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Root is the first token of every tmux-orc subject.
const Root = "orc"

// Subjects outside the priority streams.
const (
	// AckRoot prefixes acknowledgements: orc.ack.<priority>.<id>, stored in AckStream.
	AckRoot = Root + ".ack"
	// ReceiptRoot prefixes delivery receipts: orc.receipt.<priority>.<id>.
	ReceiptRoot = Root + ".receipt"
	// StatusSubject answers requests for the daemon's status (request/reply, not stored).
	StatusSubject = Root + ".sys.status"
	// AckStream stores acknowledgements, one (the latest) per message id.
	AckStream = "ORC_ACKS"
	// ReceiptStream stores delivery claims and outcomes.
	ReceiptStream = "ORC_RECEIPTS"
)

// ReceiptSubjectFor is where a delivery claim or outcome of message id in one pane is
// stored: orc.receipt.<priority>.<state>.<id>.<pane>, state being "claim" (the bridge is
// typing it), "delivered", "unconfirmed" or "undeliverable"; pane is "p<N>" for tmux pane
// %N, or "none".
func ReceiptSubjectFor(p Priority, state, id, pane string) string {
	return ReceiptRoot + "." + p.String() + "." + state + "." + id + "." + pane
}

// MessageSubject is the subject a message is published on:
//
//	orc.<priority>.session.<session>.<window|~>.<id>
//	orc.<priority>.group.<group>.<session|~>.<id>
//
// Session and window names are encoded with EncodeToken; "~" stands for "any".
func MessageSubject(p Priority, a Address, id string) (string, error) {
	if !p.Valid() {
		return "", fmt.Errorf("%w: %d", ErrPriority, int(p))
	}
	if err := a.Validate(); err != nil {
		return "", err
	}
	if err := ValidateID(id); err != nil {
		return "", err
	}
	return Root + "." + p.String() + "." + a.tokens() + "." + id, nil
}

// ParseMessageSubject reverses MessageSubject.
func ParseMessageSubject(subject string) (Priority, Address, string, error) {
	t := strings.Split(subject, ".")
	if len(t) != 6 || t[0] != Root {
		return 0, Address{}, "", fmt.Errorf("%w: %q", ErrSubject, subject)
	}
	p, err := ParsePriority(t[1])
	if err != nil || t[1] != p.String() {
		return 0, Address{}, "", fmt.Errorf("%w: %q: bad priority token", ErrSubject, subject)
	}
	if err := ValidateID(t[5]); err != nil {
		return 0, Address{}, "", fmt.Errorf("%w: %q: %v", ErrSubject, subject, err)
	}
	var a Address
	switch Kind(t[2]) {
	case KindSession:
		a.Kind = KindSession
		if a.Session, err = DecodeToken(t[3]); err != nil {
			return 0, Address{}, "", err
		}
		if a.Window, err = fromAny(t[4]); err != nil {
			return 0, Address{}, "", err
		}
	case KindGroup:
		a.Kind = KindGroup
		a.Group = t[3]
		if a.Session, err = fromAny(t[4]); err != nil {
			return 0, Address{}, "", err
		}
	default:
		return 0, Address{}, "", fmt.Errorf("%w: %q: unknown address kind", ErrSubject, subject)
	}
	if err := a.Validate(); err != nil {
		return 0, Address{}, "", fmt.Errorf("%w: %q: %v", ErrSubject, subject, err)
	}
	return p, a, t[5], nil
}

// StreamSubjects is the subject filter of the stream that stores priority p.
func StreamSubjects(p Priority) string { return Root + "." + p.String() + ".>" }

// Filters returns the subject filters that select messages of priority p for a query.
// A zero Address selects everything. A session address without a window selects the whole
// session (every window and messages for the session as a whole); with a window, that window
// only. A group address without a session selects the group everywhere; with a session,
// the group's messages for that session plus those for the group in every session.
func Filters(p Priority, a Address) []string {
	prefix := Root + "." + p.String() + "."
	switch a.Kind {
	case KindSession:
		if a.Window == "" {
			return []string{prefix + "session." + EncodeToken(a.Session) + ".*.*"}
		}
		return []string{prefix + "session." + EncodeToken(a.Session) + "." + EncodeToken(a.Window) + ".*"}
	case KindGroup:
		if a.Session == "" {
			return []string{prefix + "group." + a.Group + ".*.*"}
		}
		return []string{
			prefix + "group." + a.Group + "." + EncodeToken(a.Session) + ".*",
			prefix + "group." + a.Group + "." + Any + ".*",
		}
	}
	return []string{prefix + ">"}
}

// AckSubject is where the acknowledgement of message id (of priority p) is stored.
func AckSubject(p Priority, id string) string { return AckRoot + "." + p.String() + "." + id }

// AckSubjectAny matches the acknowledgement of id whatever its priority.
func AckSubjectAny(id string) string { return AckRoot + ".*." + id }

// MessageSubjectAny matches message id in its priority stream, whatever its address.
func MessageSubjectAny(p Priority, id string) string { return Root + "." + p.String() + ".*.*.*." + id }

var idRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$`)

// ValidateID checks a message id: 1-128 ASCII letters, digits, '-' or '_', starting with a
// letter or digit (it is a subject token and a Nats-Msg-Id).
func ValidateID(id string) error {
	if !idRE.MatchString(id) {
		return fmt.Errorf("%w %q: want 1-128 letters, digits, '-' or '_', starting with a letter or digit", ErrID, id)
	}
	return nil
}

const crockford = "0123456789abcdefghjkmnpqrstvwxyz"

// NewID returns a new message id: 9 characters of millisecond time (so ids sort by time)
// and 7 random ones, in lower-case Crockford base32, e.g. "01kb2x3yzq7f4m2c".
func NewID(now time.Time) string {
	var b [16]byte
	ms := uint64(now.UnixMilli())
	for i := 8; i >= 0; i-- {
		b[i] = crockford[ms&31]
		ms >>= 5
	}
	var r [7]byte
	_, _ = rand.Read(r[:]) // crypto/rand.Read never fails on supported platforms.
	for i, c := range r {
		b[9+i] = crockford[c&31]
	}
	return string(b[:])
}
