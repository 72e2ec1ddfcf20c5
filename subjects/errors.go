// Package subjects defines the language every part of tmux-orc shares: priorities, the
// subject grammar on the bus, message ids, and the message envelope with its validation.
// It uses the standard library only.
package subjects

import "errors"

var (
	// ErrPriority is returned for a priority that is not critical, high, normal or low.
	ErrPriority = errors.New("unknown priority")
	// ErrTarget is returned for a malformed session[:window] target.
	ErrTarget = errors.New("invalid target")
	// ErrGroup is returned for a malformed group name.
	ErrGroup = errors.New("invalid group")
	// ErrID is returned for a malformed message id.
	ErrID = errors.New("invalid message id")
	// ErrSubject is returned when a NATS subject is not part of the tmux-orc grammar.
	ErrSubject = errors.New("not a tmux-orc subject")
	// ErrEnvelope is returned for a message envelope that fails validation.
	ErrEnvelope = errors.New("invalid message")
	// ErrNoHost is returned for a message subject of an address that names no host.
	ErrNoHost = errors.New("the target names no host")
	// ErrTag is returned for a malformed tag.
	ErrTag = errors.New("invalid tag")
	// ErrFilter is returned for a --filter that is not a valid regular expression.
	ErrFilter = errors.New("invalid filter")
	// ErrAck is returned for an acknowledgement whose sender or note is invalid.
	ErrAck = errors.New("invalid acknowledgement")
)
