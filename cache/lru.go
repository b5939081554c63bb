package cache

import (
	"sync"

	"github.com/hashicorp/golang-lru/v2/simplelru"

	"github.com/p2pcache/p2pcache/relay/wire"
)

// maxLRUEntries only satisfies simplelru's entry bound; the byte budget is
// what evicts.
const maxLRUEntries = 1 << 30

// byteLRU is a least-recently-used map from chunk hash to chunk bytes whose
// total size never exceeds a byte budget. golang-lru bounds entries, not
// bytes, so the byte count is kept here: it grows on add and shrinks in the
// eviction callback, which simplelru calls for RemoveOldest and Remove. An add
// of a present key is a no-op touch (the content is addressed by its hash, so
// it is the same bytes), which keeps the count exact: replacing a key would
// not call the callback.
type byteLRU struct {
	mu        sync.Mutex // guards the following
	l         *simplelru.LRU[wire.Hash, []byte]
	bytes     int64
	max       int64
	evictions uint64
}

func newByteLRU(maxBytes int64) (*byteLRU, error) {
	c := &byteLRU{max: maxBytes}
	l, err := simplelru.NewLRU[wire.Hash, []byte](maxLRUEntries, func(_ wire.Hash, v []byte) {
		c.bytes -= int64(len(v)) // called with c.mu held
		c.evictions++
	})
	if err != nil {
		return nil, err
	}
	c.l = l
	return c, nil
}

// get returns the chunk and marks it recently used.
func (c *byteLRU) get(h wire.Hash) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.l.Get(h)
}

// contains reports whether h is cached without touching its recency.
func (c *byteLRU) contains(h wire.Hash) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.l.Contains(h)
}

// add caches b under h, evicting the least recently used chunks until the
// budget holds. A chunk larger than the whole budget is not cached. The caller
// must not modify b afterwards.
func (c *byteLRU) add(h wire.Hash, b []byte) {
	n := int64(len(b))
	c.mu.Lock()
	defer c.mu.Unlock()
	if n > c.max {
		return
	}
	if _, ok := c.l.Get(h); ok {
		return
	}
	c.l.Add(h, b)
	c.bytes += n
	for c.bytes > c.max {
		c.l.RemoveOldest()
	}
}

// remove drops h if present.
func (c *byteLRU) remove(h wire.Hash) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.l.Remove(h)
}

// stats returns the byte total, entry count and eviction count.
func (c *byteLRU) stats() (bytes int64, entries int, evictions uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bytes, c.l.Len(), c.evictions
}
