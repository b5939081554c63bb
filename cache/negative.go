package cache

import (
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// negEntryOverhead is what one negative entry is charged beyond its path's
// bytes: the LRU's list element and map slot, the string header and the
// expiry time, rounded up.
const negEntryOverhead = 128

// negCache remembers, for a short TTL, paths the origin answered "not found",
// so a client (or a hostile one cycling random paths) asking again costs no
// origin call. Only a definite ErrNotFound is remembered, never a transient
// failure. It is bounded twice, by entries and by bytes (paths are charged
// their length plus negEntryOverhead), and evicts the least recently used
// entry, one at a time, to stay within both: cycling through fresh paths
// pushes out the oldest, it never resets the table.
type negCache struct {
	ttl      time.Duration
	maxBytes int64

	mu    sync.Mutex                        // guards the following
	l     *simplelru.LRU[string, time.Time] // path → expiry
	bytes int64
}

// newNegCache returns a negative cache; nil (which remembers nothing) when
// ttl is not positive.
func newNegCache(ttl time.Duration, maxEntries int, maxBytes int64) (*negCache, error) {
	if ttl <= 0 {
		return nil, nil
	}
	n := &negCache{ttl: ttl, maxBytes: maxBytes}
	l, err := simplelru.NewLRU(maxEntries, func(p string, _ time.Time) {
		n.bytes -= negCost(p) // called with n.mu held
	})
	if err != nil {
		return nil, err
	}
	n.l = l
	return n, nil
}

func negCost(p string) int64 { return int64(len(p)) + negEntryOverhead }

// hit reports whether p is known missing at now, marking it recently used.
func (n *negCache) hit(p string, now time.Time) bool {
	if n == nil {
		return false
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	exp, ok := n.l.Get(p)
	if !ok {
		return false
	}
	if !now.Before(exp) {
		n.l.Remove(p)
		return false
	}
	return true
}

// add remembers p as missing from now for the TTL.
func (n *negCache) add(p string, now time.Time) {
	if n == nil {
		return
	}
	cost := negCost(p)
	n.mu.Lock()
	defer n.mu.Unlock()
	if cost > n.maxBytes {
		return
	}
	isNew := !n.l.Contains(p)
	n.l.Add(p, now.Add(n.ttl)) // an existing key: new expiry, no callback
	if isNew {
		n.bytes += cost
	}
	for n.bytes > n.maxBytes {
		n.l.RemoveOldest()
	}
}

// remove forgets p: the origin has it now.
func (n *negCache) remove(p string) {
	if n == nil {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.l.Remove(p)
}

// stats returns the entries and bytes held.
func (n *negCache) stats() (entries int, bytes int64) {
	if n == nil {
		return 0, 0
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.l.Len(), n.bytes
}
