// Package subjects defines the language every part of tmux-orc shares: priorities, the
// subject grammar on the bus, message ids, and the message envelope with its validation.
// It uses the standard library only.
package subjects

import "errors"

// ErrInvalid is what every error of bad input is (errors.Is): a malformed target, priority,
// message, configuration... Retrying the same input cannot succeed; the command line exits 2.
var ErrInvalid = errors.New("invalid input")

// Invalid returns a new error with the text msg that is ErrInvalid (errors.Is), for the
// packages that declare errors of bad input.
func Invalid(msg string) error { return &invalidError{msg} }

type invalidError struct{ msg string }

func (e *invalidError) Error() string        { return e.msg }
func (e *invalidError) Is(target error) bool { return target == ErrInvalid }

// Errors of bad input are Invalid; ErrSubject and ErrNoHost are not (they arise from the bus,
// not from what a person typed).
var (
	// ErrPriority is returned for a priority that is not critical, high, normal or low.
	ErrPriority = Invalid("unknown priority")
	// ErrTarget is returned for a malformed session[:window] target.
	ErrTarget = Invalid("invalid target")
	// ErrGroup is returned for a malformed group name.
	ErrGroup = Invalid("invalid group")
	// ErrID is returned for a malformed message id.
	ErrID = Invalid("invalid message id")
	// ErrSubject is returned when a NATS subject is not part of the tmux-orc grammar.
	ErrSubject = errors.New("not a tmux-orc subject")
	// ErrEnvelope is returned for a message envelope that fails validation.
	ErrEnvelope = Invalid("invalid message")
	// ErrNoHost is returned for a message subject of an address that names no host.
	ErrNoHost = errors.New("the target names no host")
	// ErrTag is returned for a malformed tag.
	ErrTag = Invalid("invalid tag")
	// ErrFilter is returned for a --filter that is not a valid regular expression.
	ErrFilter = Invalid("invalid filter")
	// ErrAck is returned for an acknowledgement whose sender or note is invalid.
	ErrAck = Invalid("invalid acknowledgement")
)
