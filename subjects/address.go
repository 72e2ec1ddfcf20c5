package subjects

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Kind says how a message is addressed.
type Kind string

// Address kinds.
const (
	// KindSession addresses one tmux window ("session:window") or a session as a whole.
	KindSession Kind = "session"
	// KindGroup addresses every pane of a group (management, agents...), in every session
	// or in one session.
	KindGroup Kind = "group"
)

// MaxNameBytes bounds session and window names (tmux itself has no small limit).
const MaxNameBytes = 256

// Address says who a message is for.
//
// For KindSession, Session is required and Window is optional ("" = the session as a whole).
// For KindGroup, Group is required and Session optionally scopes it to one session
// ("" = the group in every session).
type Address struct {
	Kind    Kind   `json:"kind"`
	Session string `json:"session,omitempty"`
	Window  string `json:"window,omitempty"`
	Group   string `json:"group,omitempty"`
}

var groupRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// ParseTarget parses a tmux-style target: "session" or "session:window". The session name
// ends at the first ':'; the window (an index such as "2" or a name) is everything after it,
// so window names may themselves contain ':' and '.'.
func ParseTarget(s string) (Address, error) {
	session, window, hasWindow := strings.Cut(s, ":")
	a := Address{Kind: KindSession, Session: session, Window: window}
	if hasWindow && window == "" {
		return Address{}, fmt.Errorf("%w %q: the window after ':' is empty (want session:window)", ErrTarget, s)
	}
	if err := a.Validate(); err != nil {
		return Address{}, err
	}
	return a, nil
}

// GroupAddress addresses a group, optionally only in one session.
func GroupAddress(group, session string) (Address, error) {
	a := Address{Kind: KindGroup, Group: group, Session: session}
	if err := a.Validate(); err != nil {
		return Address{}, err
	}
	return a, nil
}

// Validate checks the address and says what is wrong.
func (a Address) Validate() error {
	switch a.Kind {
	case KindSession:
		if a.Session == "" {
			return fmt.Errorf("%w %q: the session name is empty (want session or session:window)", ErrTarget, a.String())
		}
		if err := checkName("session", a.Session); err != nil {
			return err
		}
		if strings.Contains(a.Session, ":") {
			return fmt.Errorf("%w: session name %q contains ':'", ErrTarget, a.Session)
		}
		if a.Window != "" {
			return checkName("window", a.Window)
		}
		return nil
	case KindGroup:
		if !groupRE.MatchString(a.Group) {
			return fmt.Errorf("%w %q: want 1-64 lower-case letters, digits, '-' or '_', starting with a letter or digit", ErrGroup, a.Group)
		}
		if a.Window != "" {
			return fmt.Errorf("%w: a group address cannot name a window", ErrGroup)
		}
		if a.Session != "" {
			if err := checkName("session", a.Session); err != nil {
				return err
			}
			if strings.Contains(a.Session, ":") {
				return fmt.Errorf("%w: session name %q contains ':'", ErrTarget, a.Session)
			}
		}
		return nil
	}
	return fmt.Errorf("%w: unknown address kind %q", ErrTarget, a.Kind)
}

func checkName(what, name string) error {
	if !utf8.ValidString(name) {
		return fmt.Errorf("%w: %s name %q is not valid UTF-8", ErrTarget, what, name)
	}
	if len(name) > MaxNameBytes {
		return fmt.Errorf("%w: %s name is %d bytes, the limit is %d", ErrTarget, what, len(name), MaxNameBytes)
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return fmt.Errorf("%w: %s name %q contains a control character", ErrTarget, what, name)
		}
	}
	return nil
}

// String renders the address as a user writes it: "backend-dev:2", "backend-dev",
// "group:management" or "group:management@backend-dev".
func (a Address) String() string {
	switch a.Kind {
	case KindGroup:
		if a.Session != "" {
			return "group:" + a.Group + "@" + a.Session
		}
		return "group:" + a.Group
	default:
		if a.Window != "" {
			return a.Session + ":" + a.Window
		}
		return a.Session
	}
}

// tokens renders the three address tokens of a message subject.
func (a Address) tokens() string {
	switch a.Kind {
	case KindGroup:
		return "group." + a.Group + "." + orAny(a.Session)
	default:
		return "session." + EncodeToken(a.Session) + "." + orAny(a.Window)
	}
}

func orAny(name string) string {
	if name == "" {
		return Any
	}
	return EncodeToken(name)
}

func fromAny(tok string) (string, error) {
	if tok == Any {
		return "", nil
	}
	return DecodeToken(tok)
}
