package subjects

import (
	"crypto/rand"
	"fmt"
	"strings"
	"time"
)

// Root is the first token of every tmux-orc subject.
const Root = "orc"

// Subjects outside the priority streams.
const (
	// AckRoot prefixes acknowledgements: orc.ack.<priority>.<id>, stored in AckStream.
	AckRoot = Root + ".ack"
	// ReceiptRoot prefixes delivery receipts (see ReceiptSubjectFor).
	ReceiptRoot = Root + ".receipt"
	// StatusSubject answers requests for the daemon's status (request/reply, not stored).
	StatusSubject = Root + ".sys.status"
	// AckStream stores acknowledgements, one (the latest) per message id.
	AckStream = "ORC_ACKS"
	// ReceiptStream stores delivery claims and outcomes.
	ReceiptStream = "ORC_RECEIPTS"
	// SessionsBucket is the KV bucket in which every bridge keeps the tmux sessions it
	// serves (the session registry).
	SessionsBucket = "ORC_SESSIONS"
	// SessionTTL is how long a registry entry lives unless its bridge puts it again.
	SessionTTL = 90 * time.Second
	// MonitorBucket is the KV bucket in which each host's monitor keeps its view of the
	// agents (briefed or not, last alert, escalation), so that it survives a restart; keys
	// start with the host.
	MonitorBucket = "ORC_MONITOR"
)

// ReceiptSubjectFor is where a delivery claim or outcome of message id in one pane is
// stored: orc.receipt.<priority>.<state>.<id>.<host>.<pane>, state being "claim" (the bridge
// is typing it), "delivered", "unconfirmed" or "undeliverable"; host is the host token of
// the tmux server ("~" when unknown), since pane ids are only unique within one server; pane
// is "p<N>" for tmux pane %N, or "none".
func ReceiptSubjectFor(p Priority, state, id, host, pane string) string {
	if host == "" {
		host = Any
	} else if ValidateHost(host) != nil {
		host = SanitizeHost(host)
	}
	return ReceiptRoot + "." + p.String() + "." + state + "." + id + "." + host + "." + pane
}

// ReceiptsOf matches every claim and outcome of message id (of priority p).
func ReceiptsOf(p Priority, id string) string {
	return ReceiptRoot + "." + p.String() + ".*." + id + ".>"
}

// StatusSubjectFor is where the daemon of the named server answers status requests; every
// daemon also answers on StatusSubject.
func StatusSubjectFor(server string) string { return StatusSubject + "." + server }

// MessageSubject is the subject a message is published on:
//
//	orc.<priority>.<host>.<session>.<window>.<id>   a window of a session on host
//	orc.<priority>.<host>.<session>.~.<id>          the session as a whole
//	orc.<priority>.<host>.<session>.@<group>.<id>   a group in one session
//	orc.<priority>.~.~.@<group>.<id>                a group everywhere
//
// Session and window names are encoded with EncodeToken; "~" stands for "any". Every address
// but a group everywhere needs a host (ErrNoHost).
func MessageSubject(p Priority, a Address, id string) (string, error) {
	if !p.Valid() {
		return "", fmt.Errorf("%w: %d", ErrPriority, int(p))
	}
	if err := a.Validate(); err != nil {
		return "", err
	}
	if a.Host == "" && !a.Everywhere() {
		return "", fmt.Errorf("%w: %s", ErrNoHost, a)
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
	group, isGroup := strings.CutPrefix(t[4], GroupPrefix)
	switch {
	case t[2] == Any:
		if t[3] != Any || !isGroup {
			return 0, Address{}, "", fmt.Errorf("%w: %q: only a group everywhere has no host", ErrSubject, subject)
		}
		a = Address{Kind: KindGroup, Group: group}
	default:
		if err := ValidateHost(t[2]); err != nil {
			return 0, Address{}, "", fmt.Errorf("%w: %q: %v", ErrSubject, subject, err)
		}
		if a.Session, err = DecodeToken(t[3]); err != nil {
			return 0, Address{}, "", err
		}
		a.Host = t[2]
		if isGroup {
			a.Kind, a.Group = KindGroup, group
		} else {
			a.Kind = KindSession
			if a.Window, err = fromAny(t[4]); err != nil {
				return 0, Address{}, "", err
			}
		}
	}
	if err := a.Validate(); err != nil {
		return 0, Address{}, "", fmt.Errorf("%w: %q: %v", ErrSubject, subject, err)
	}
	return p, a, t[5], nil
}

// StreamSubjects is the subject filter of the stream that stores priority p.
func StreamSubjects(p Priority) string { return Root + "." + p.String() + ".>" }

// HostSubjects selects every message of priority p for the sessions of one host (their
// windows and the groups in them). It is the one filter of a host's bridge consumer.
func HostSubjects(p Priority, host string) string {
	return Root + "." + p.String() + "." + host + ".>"
}

// SessionSubjects selects every message of priority p for one session on one host: the
// session, its windows and the groups in it. (Bridges of older versions had one consumer per
// session with this filter.)
func SessionSubjects(p Priority, host, session string) string {
	return Root + "." + p.String() + "." + host + "." + EncodeToken(session) + ".>"
}

// EverywhereSubjects selects every message of priority p for a group everywhere.
func EverywhereSubjects(p Priority) string {
	return Root + "." + p.String() + "." + Any + "." + Any + ".>"
}

// Filters returns the subject filters that select messages of priority p for a query.
// A zero Address selects everything. A session address without a window selects the whole
// session (every window, the session as a whole and the groups in it); with a window, that
// window only. Without a host, a session is matched on every host. A group address without a
// session selects the group everywhere and in every session; with a session, the group's
// messages for that session plus those for the group everywhere.
func Filters(p Priority, a Address) []string {
	prefix := Root + "." + p.String() + "."
	host := a.Host
	if host == "" {
		host = "*"
	}
	switch a.Kind {
	case KindSession:
		if a.Window == "" {
			return []string{prefix + host + "." + EncodeToken(a.Session) + ".>"}
		}
		return []string{prefix + host + "." + EncodeToken(a.Session) + "." + EncodeToken(a.Window) + ".*"}
	case KindGroup:
		if a.Session == "" {
			return []string{prefix + "*.*." + GroupPrefix + a.Group + ".*"}
		}
		return []string{
			prefix + host + "." + EncodeToken(a.Session) + "." + GroupPrefix + a.Group + ".*",
			prefix + Any + "." + Any + "." + GroupPrefix + a.Group + ".*",
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

// ValidateID checks a message id: 1-128 ASCII letters, digits, '-' or '_', starting with a
// letter or digit (it is a subject token and a Nats-Msg-Id).
func ValidateID(id string) error {
	if !matches(id, alnum, wordDash, 128) {
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
