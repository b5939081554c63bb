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
//
// A chunk added with addFresh (read from the origin while a manifest was
// built, for no one yet) is fresh until take first returns it or it leaves
// the LRU: the first to be served it gets it from the origin.
type byteLRU struct {
	mu        sync.Mutex // guards the following
	l         *simplelru.LRU[wire.Hash, []byte]
	bytes     int64
	max       int64
	evictions uint64
	fresh     map[wire.Hash]struct{} // held chunks added by addFresh and not yet taken
}

func newByteLRU(maxBytes int64) (*byteLRU, error) {
	c := &byteLRU{max: maxBytes, fresh: make(map[wire.Hash]struct{})}
	l, err := simplelru.NewLRU[wire.Hash, []byte](maxLRUEntries, func(h wire.Hash, v []byte) {
		c.bytes -= int64(len(v)) // called with c.mu held
		c.evictions++
		delete(c.fresh, h)
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

// take is get that also reports whether the chunk was fresh (addFresh),
// and makes it no longer so.
func (c *byteLRU) take(h wire.Hash) (b []byte, fresh, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if b, ok = c.l.Get(h); ok {
		if _, fresh = c.fresh[h]; fresh {
			delete(c.fresh, h)
		}
	}
	return b, fresh, ok
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
func (c *byteLRU) add(h wire.Hash, b []byte) { c.insert(h, b, false) }

// addFresh is add for a chunk read from the origin for no one yet: unless h
// was already held, it is fresh until taken.
func (c *byteLRU) addFresh(h wire.Hash, b []byte) { c.insert(h, b, true) }

// insert is add and addFresh.
func (c *byteLRU) insert(h wire.Hash, b []byte, fresh bool) {
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
	if fresh {
		c.fresh[h] = struct{}{}
	}
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
