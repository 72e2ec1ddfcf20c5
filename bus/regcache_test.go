package bus

import (
	"testing"
	"time"
)

// An entry the bucket's TTL removed sends no update to a watch: the copy must age it out
// itself, as the registry does.
func TestWatchedRegistryEntriesExpireLikeTheBucket(t *testing.T) {
	rc := &regCache{ready: true, byTok: map[string]map[string]cachedEntry{
		sessionKeyToken("s"): {
			"fresh": {e: SessionEntry{Host: "fresh", Session: "s"}, stored: time.Now().Add(-SessionRefresh)},
			"dead":  {e: SessionEntry{Host: "dead", Session: "s"}, stored: time.Now().Add(-SessionTTL - time.Second)},
		}}}
	got, ok := rc.lookup("s")
	if !ok || len(got) != 1 || got[0].Host != "fresh" {
		t.Fatalf("lookup: %+v, %v; want only the fresh entry", got, ok)
	}
	rc.ready = false
	if _, ok := rc.lookup("s"); ok {
		t.Fatal("a copy whose watch ended still answers")
	}
}
