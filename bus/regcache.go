package bus

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// regCache is a copy of the session registry kept current by a watch of its bucket, so
// that a long-lived publisher resolves a target's host without the three requests a lookup
// takes (stream, its subjects, the entry: 0.3-0.6 ms at p50 and a tail of milliseconds on a
// loaded machine, on the path of every publish to a target without a host).
type regCache struct {
	mu    sync.Mutex
	ready bool                              // the watch delivered the bucket's contents and runs
	byTok map[string]map[string]cachedEntry // session key token -> host -> entry
}

type cachedEntry struct {
	e      SessionEntry
	stored time.Time // when the server stored it: the entry expires SessionTTL after
}

// WatchRegistry keeps a copy of the session registry in the client, kept current by a
// watch of its bucket, until ctx ends or the client is closed: ResolveHost (and so Publish
// to a target without a host) then answers from it. For long-lived publishers (the load
// test, the daemon's own); a one-shot command asks the registry, which costs less than
// loading all of it. It returns once the copy holds the registry's contents; an error (a
// role without the right to watch the bucket, say) leaves ResolveHost asking the registry.
// When the watch ends (ctx, a closed connection), ResolveHost asks the registry again.
//
// Entries age as in the registry: one the bucket's TTL removed (its bridge died) is
// ignored SessionTTL after its last put, measured against the server's timestamp.
func (c *Client) WatchRegistry(ctx context.Context) error {
	kv, err := c.sessions(ctx)
	if err != nil {
		return err
	}
	w, err := kv.WatchAll(ctx)
	if err != nil {
		return fmt.Errorf("watching the session registry: %w", err)
	}
	rc := &regCache{byTok: map[string]map[string]cachedEntry{}}
	loaded := make(chan struct{})
	go func() {
		defer func() {
			_ = w.Stop()
			rc.mu.Lock()
			rc.ready = false
			rc.mu.Unlock()
		}()
		first := true
		for u := range w.Updates() {
			if u == nil {
				if first {
					first = false
					rc.mu.Lock()
					rc.ready = true
					rc.mu.Unlock()
					close(loaded)
				}
				continue
			}
			rc.apply(u)
		}
		if first {
			close(loaded)
		}
		c.log.Debug("the watch of the session registry ended; host lookups ask the registry")
	}()
	select {
	case <-loaded:
	case <-ctx.Done():
		return ctx.Err()
	}
	rc.mu.Lock()
	ok := rc.ready
	rc.mu.Unlock()
	if !ok {
		return fmt.Errorf("watching the session registry: the watch ended before it delivered the registry")
	}
	c.regMu.Lock()
	c.reg = rc
	c.regMu.Unlock()
	c.log.Debug("host lookups answered from a watched copy of the session registry")
	return nil
}

// apply records one update of the bucket.
func (rc *regCache) apply(u jetstream.KeyValueEntry) {
	i := strings.LastIndexByte(u.Key(), '.')
	if i < 0 {
		return
	}
	tok, host := u.Key()[:i], u.Key()[i+1:]
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if u.Operation() != jetstream.KeyValuePut {
		delete(rc.byTok[tok], host)
		return
	}
	e, ok := decodeEntry(u.Value())
	if !ok {
		delete(rc.byTok[tok], host)
		return
	}
	m := rc.byTok[tok]
	if m == nil {
		m = map[string]cachedEntry{}
		rc.byTok[tok] = m
	}
	m[host] = cachedEntry{e: e, stored: u.Created()}
}

// lookup returns the live entries of session, sorted by host, and whether the copy could
// answer (it is loaded and its watch runs).
func (rc *regCache) lookup(session string) ([]SessionEntry, bool) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if !rc.ready {
		return nil, false
	}
	var out []SessionEntry
	for _, ce := range rc.byTok[sessionKeyToken(session)] {
		if time.Since(ce.stored) < SessionTTL {
			out = append(out, ce.e)
		}
	}
	sortEntries(out)
	return out, true
}
