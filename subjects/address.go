package subjects

import (
	"fmt"
	"os"
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
// ("" = the group in every session, on every host).
//
// Host names the tmux server's host (a token of ValidateHost) of the session. It is empty
// for a group everywhere; for the other addresses an empty Host means "not said yet": a
// message subject needs one, and bus.Client.Publish resolves it from the session registry.
type Address struct {
	Kind    Kind   `json:"kind"`
	Host    string `json:"host,omitempty"`
	Session string `json:"session,omitempty"`
	Window  string `json:"window,omitempty"`
	Group   string `json:"group,omitempty"`
}

// ParseTarget parses a tmux-style target: "session", "session:window", "host.session" or
// "host.session:window". The session part ends at the first ':'; the window (an index such as
// "2" or a name) is everything after it, so window names may themselves contain ':' and '.'.
// tmux turns '.' and ':' in session names into '_', so a session part with a '.' is
// host-qualified: the host is what comes before its first '.'.
func ParseTarget(s string) (Address, error) {
	before, window, hasWindow := strings.Cut(s, ":")
	if hasWindow && window == "" {
		return Address{}, fmt.Errorf("%w %q: the window after ':' is empty (want session:window)", ErrTarget, s)
	}
	host, session, err := SplitHost(before)
	if err != nil {
		return Address{}, err
	}
	a := Address{Kind: KindSession, Host: host, Session: session, Window: window}
	if err := a.Validate(); err != nil {
		return Address{}, err
	}
	return a, nil
}

// SplitHost splits "host.session" at its first '.'; a name without '.' is a session alone
// (host ""). An empty host or session around the '.' is an error.
func SplitHost(s string) (host, session string, err error) {
	host, session, ok := strings.Cut(s, ".")
	if !ok {
		return "", s, nil
	}
	if host == "" {
		return "", "", fmt.Errorf("%w %q: the host before '.' is empty (want host.session)", ErrTarget, s)
	}
	if session == "" {
		return "", "", fmt.Errorf("%w %q: the session after '.' is empty (want host.session)", ErrTarget, s)
	}
	if err := ValidateHost(host); err != nil {
		return "", "", err
	}
	return host, session, nil
}

// GroupAddress addresses a group, optionally only in one session; session may be
// host-qualified ("host.session").
func GroupAddress(group, session string) (Address, error) {
	host, session, err := SplitHost(session)
	if err != nil {
		return Address{}, err
	}
	a := Address{Kind: KindGroup, Group: group, Host: host, Session: session}
	if err := a.Validate(); err != nil {
		return Address{}, err
	}
	return a, nil
}

// Everywhere reports whether a is a group in every session on every host: the one address
// that needs no host.
func (a Address) Everywhere() bool { return a.Kind == KindGroup && a.Session == "" }

// ValidateHost checks a host token: 1-64 ASCII letters, digits, '-' or '_'.
func ValidateHost(host string) error {
	if !matches(host, wordDash, wordDash, 64) {
		return fmt.Errorf("%w: host %q: want 1-64 letters, digits, '-' or '_' (see SanitizeHost)", ErrTarget, host)
	}
	return nil
}

// SanitizeHost turns a host name into a host token: every byte outside [A-Za-z0-9_-] becomes
// '_', and it is cut to 64 bytes; an empty name gives "localhost".
func SanitizeHost(name string) string {
	b := []byte(name)
	for i, c := range b {
		if !(c == '-' || c == '_' || ('0' <= c && c <= '9') || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')) {
			b[i] = '_'
		}
	}
	if len(b) > 64 {
		b = b[:64]
	}
	if len(b) == 0 {
		return "localhost"
	}
	return string(b)
}

// EnvHost names the environment variable that sets this side's host name.
const EnvHost = "TMUX_ORC_HOST"

// LocalHost is this machine's host token: $TMUX_ORC_HOST, else the host name, sanitized.
func LocalHost() string {
	if h := os.Getenv(EnvHost); h != "" {
		return SanitizeHost(h)
	}
	h, _ := os.Hostname()
	return SanitizeHost(h)
}

// Validate checks the address and says what is wrong.
func (a Address) Validate() error {
	if a.Host != "" {
		if err := ValidateHost(a.Host); err != nil {
			return err
		}
	}
	switch a.Kind {
	case KindSession:
		if a.Session == "" {
			return fmt.Errorf("%w %q: the session name is empty (want session or session:window)", ErrTarget, a.String())
		}
		if err := checkSession(a.Session); err != nil {
			return err
		}
		if a.Window != "" {
			return checkName("window", a.Window)
		}
		return nil
	case KindGroup:
		if !matches(a.Group, lowerAlnum, groupRest, 64) {
			return fmt.Errorf("%w %q: want 1-64 lower-case letters, digits, '-' or '_', starting with a letter or digit", ErrGroup, a.Group)
		}
		if a.Window != "" {
			return fmt.Errorf("%w: a group address cannot name a window", ErrGroup)
		}
		if a.Session != "" {
			return checkSession(a.Session)
		}
		if a.Host != "" {
			return fmt.Errorf("%w: a group in every session names no host (want group:%s@host.session for one session)", ErrGroup, a.Group)
		}
		return nil
	}
	return fmt.Errorf("%w: unknown address kind %q", ErrTarget, a.Kind)
}

// checkSession checks a session name: tmux never makes one with ':' or '.' (it writes '_').
func checkSession(name string) error {
	if err := checkName("session", name); err != nil {
		return err
	}
	if strings.ContainsAny(name, ":.") {
		return fmt.Errorf("%w: session name %q contains ':' or '.' (tmux writes them as '_'; host.session names a host)", ErrTarget, name)
	}
	return nil
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

// String renders the address as a user writes it: "backend-dev:2", "h1.backend-dev:2",
// "backend-dev", "group:management" or "group:management@h1.backend-dev".
func (a Address) String() string {
	session := a.Session
	if a.Host != "" {
		session = a.Host + "." + session
	}
	switch a.Kind {
	case KindGroup:
		if a.Session != "" {
			return "group:" + a.Group + "@" + session
		}
		return "group:" + a.Group
	default:
		if a.Window != "" {
			return session + ":" + a.Window
		}
		return session
	}
}

// tokens renders the four address tokens of a message subject (host, session, window or
// @group); the caller has checked that a has a host unless it is a group everywhere.
func (a Address) tokens() string {
	switch {
	case a.Everywhere():
		return Any + "." + Any + "." + GroupPrefix + a.Group
	case a.Kind == KindGroup:
		return a.Host + "." + EncodeToken(a.Session) + "." + GroupPrefix + a.Group
	default:
		return a.Host + "." + EncodeToken(a.Session) + "." + orAny(a.Window)
	}
}

// GroupPrefix starts the fifth subject token of a group address ("@management"). EncodeToken
// escapes '@', so a window token never starts with it.
const GroupPrefix = "@"

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
