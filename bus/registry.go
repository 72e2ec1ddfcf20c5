package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tmux-orc/tmux-orc/subjects"
)

// The session registry: a KV bucket in which every bridge keeps the tmux sessions it serves,
// so that a message for a session can be published on the subject of the host that has it.
const (
	// SessionsBucket is the registry's KV bucket.
	SessionsBucket = subjects.SessionsBucket
	// SessionTTL is how long an entry lives unless its bridge puts it again (it does every
	// SessionRefresh): the sessions of a host whose bridge died disappear after it.
	SessionTTL = subjects.SessionTTL
	// SessionRefresh is how often a bridge puts its sessions again.
	SessionRefresh = 30 * time.Second
)

// ErrAmbiguous is returned (in an *AmbiguousError) when a target without a host names a
// session that exists on more than one host.
// It is bad input (subjects.ErrInvalid): the target must name the host.
var ErrAmbiguous = subjects.Invalid("the session exists on several hosts")

// AmbiguousError says which hosts have the session and how to name one.
type AmbiguousError struct {
	Target subjects.Address
	Hosts  []string
}

func (e *AmbiguousError) Error() string {
	hosts := e.Hosts[0]
	if n := len(e.Hosts); n > 1 {
		hosts = strings.Join(e.Hosts[:n-1], ", ") + " and " + e.Hosts[n-1]
	}
	example := e.Target
	example.Host = e.Hosts[0]
	return fmt.Sprintf("session %q exists on hosts %s; name one: %s", e.Target.Session, hosts, example)
}

// Is makes errors.Is(err, ErrAmbiguous) hold, and so errors.Is(err, subjects.ErrInvalid).
func (e *AmbiguousError) Is(target error) bool {
	return target == ErrAmbiguous || target == subjects.ErrInvalid
}

// SessionEntry is one session of one host in the registry.
type SessionEntry struct {
	Host    string    `json:"host"`
	Session string    `json:"session"`
	Windows int       `json:"windows"`
	Panes   int       `json:"panes"`
	Updated time.Time `json:"updated"`
}

// sessionKeyToken renders a session name as a KV key token: KV keys allow fewer bytes than
// subject tokens ([-/_=.A-Za-z0-9]), so every byte outside [A-Za-z0-9_-] is "=XX".
func sessionKeyToken(session string) string {
	var b strings.Builder
	for _, c := range []byte(session) {
		if c == '-' || c == '_' || ('0' <= c && c <= '9') || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "=%02X", c)
		}
	}
	return b.String()
}

// SessionKey is the registry key of session on host: <session key token>.<host>.
func SessionKey(host, session string) string { return sessionKeyToken(session) + "." + host }

// sessions opens the registry, which the daemon provisions with the streams.
func (c *Client) sessions(ctx context.Context) (jetstream.KeyValue, error) {
	c.regMu.Lock()
	defer c.regMu.Unlock()
	if c.kv != nil {
		return c.kv, nil
	}
	var kv jetstream.KeyValue
	err := c.retry(ctx, func(ctx context.Context) (err error) {
		kv, err = c.js.KeyValue(ctx, SessionsBucket)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("opening the session registry %s: %w", SessionsBucket, err)
	}
	c.kv = kv
	return kv, nil
}

// RegisterSession puts (or refreshes) session e.Session of host e.Host in the registry.
func (c *Client) RegisterSession(ctx context.Context, e SessionEntry) error {
	kv, err := c.sessions(ctx)
	if err != nil {
		return err
	}
	if e.Updated.IsZero() {
		e.Updated = time.Now().UTC()
	}
	data, _ := json.Marshal(e)
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	if _, err := kv.Put(ctx, SessionKey(e.Host, e.Session), data); err != nil {
		return fmt.Errorf("registering session %q of host %s: %w", e.Session, e.Host, err)
	}
	return nil
}

// UnregisterSession removes session of host from the registry.
func (c *Client) UnregisterSession(ctx context.Context, host, session string) error {
	kv, err := c.sessions(ctx)
	if err != nil {
		return err
	}
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	if err := kv.Delete(ctx, SessionKey(host, session)); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("unregistering session %q of host %s: %w", session, host, err)
	}
	return nil
}

// registered returns the live registry entries whose keys match filter (a key with
// wildcards), sorted by session and host. It asks the bucket's stream which subjects it holds
// (one request) and reads each, skipping deleted ones.
func (c *Client) registered(ctx context.Context, filter string) (out []SessionEntry, err error) {
	err = c.retry(ctx, func(ctx context.Context) error {
		out, err = c.registeredOnce(ctx, filter)
		return err
	})
	return out, err
}

func (c *Client) registeredOnce(ctx context.Context, filter string) ([]SessionEntry, error) {
	kv, err := c.sessions(ctx)
	if err != nil {
		return nil, err
	}
	st, err := c.js.Stream(ctx, "KV_"+SessionsBucket)
	if err != nil {
		return nil, fmt.Errorf("reading the session registry: %w", err)
	}
	prefix := "$KV." + SessionsBucket + "."
	info, err := st.Info(ctx, jetstream.WithSubjectFilter(prefix+filter))
	if err != nil {
		return nil, fmt.Errorf("reading the session registry: %w", err)
	}
	var out []SessionEntry
	for subj := range info.State.Subjects {
		en, err := kv.Get(ctx, strings.TrimPrefix(subj, prefix))
		if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading the session registry: %w", err)
		}
		if e, ok := decodeEntry(en.Value()); ok {
			out = append(out, e)
		}
	}
	sortEntries(out)
	return out, nil
}

// decodeEntry decodes a registry entry; ok is false for one that is not an entry.
func decodeEntry(b []byte) (e SessionEntry, ok bool) {
	ok = json.Unmarshal(b, &e) == nil && e.Host != ""
	return e, ok
}

// sortEntries sorts registry entries by session and host.
func sortEntries(out []SessionEntry) {
	slices.SortFunc(out, func(a, b SessionEntry) int {
		if c := strings.Compare(a.Session, b.Session); c != 0 {
			return c
		}
		return strings.Compare(a.Host, b.Host)
	})
}

// SessionHosts returns the registry entries of session, one per host that has it: from the
// watched copy when WatchRegistry runs, else from the registry.
func (c *Client) SessionHosts(ctx context.Context, session string) ([]SessionEntry, error) {
	c.regMu.Lock()
	rc := c.reg
	c.regMu.Unlock()
	if rc != nil {
		if out, ok := rc.lookup(session); ok {
			return out, nil
		}
	}
	return c.registered(ctx, sessionKeyToken(session)+".*")
}

// Sessions returns every registry entry.
func (c *Client) Sessions(ctx context.Context) ([]SessionEntry, error) {
	return c.registered(ctx, ">")
}

// Duplicates returns the session names registered by more than one host, with their hosts.
func Duplicates(entries []SessionEntry) map[string][]string {
	hosts := map[string][]string{}
	for _, e := range entries {
		hosts[e.Session] = append(hosts[e.Session], e.Host)
	}
	for s, hs := range hosts {
		if len(hs) < 2 {
			delete(hosts, s)
		}
	}
	return hosts
}

// DaemonHost is the host of the daemon the client is connected to, as its status says;
// the client's own host (Options.Host) when the daemon does not say or cannot be asked.
func (c *Client) DaemonHost(ctx context.Context) string {
	c.regMu.Lock()
	h := c.daemonHost
	c.regMu.Unlock()
	if h != "" {
		return h
	}
	st, err := c.status(ctx, subjects.StatusRequest{})
	if err == nil && subjects.ValidateHost(st.Host) == nil {
		h = st.Host
	} else {
		h = c.host
	}
	c.regMu.Lock()
	c.daemonHost = h
	c.regMu.Unlock()
	return h
}

// ResolveHost fills in the host of a target that names a session but no host: the one host
// that registered the session, else (no host has it) the daemon's host. A session on more
// than one host is an *AmbiguousError. A group everywhere, or a target with a host, is left
// as it is.
func (c *Client) ResolveHost(ctx context.Context, a *subjects.Address) error {
	if a.Host != "" || a.Everywhere() || a.Session == "" {
		return nil
	}
	entries, err := c.SessionHosts(ctx, a.Session)
	if err != nil {
		return err
	}
	switch len(entries) {
	case 0:
		a.Host = c.DaemonHost(ctx)
	case 1:
		a.Host = entries[0].Host
	default:
		hosts := make([]string, len(entries))
		for i, e := range entries {
			hosts[i] = e.Host
		}
		return &AmbiguousError{Target: *a, Hosts: hosts}
	}
	return nil
}
