package cache

import "github.com/p2pcache/p2pcache/relay/wire"

// ChunkLRU is a byte-bounded LRU of chunks by hash, for peers that keep what
// they fetched (the Go peer). It is safe for concurrent use.
type ChunkLRU struct{ l *byteLRU }

// NewChunkLRU returns an LRU holding at most maxBytes of chunks.
func NewChunkLRU(maxBytes int64) (*ChunkLRU, error) {
	if maxBytes <= 0 {
		return nil, ErrBadConfig
	}
	l, err := newByteLRU(maxBytes)
	if err != nil {
		return nil, err
	}
	return &ChunkLRU{l}, nil
}

// Get returns chunk h and marks it recently used.
func (c *ChunkLRU) Get(h wire.Hash) ([]byte, bool) { return c.l.get(h) }

// Contains reports whether h is held, without touching its recency.
func (c *ChunkLRU) Contains(h wire.Hash) bool { return c.l.contains(h) }

// Add holds b as chunk h; the caller must not modify b afterwards.
func (c *ChunkLRU) Add(h wire.Hash, b []byte) { c.l.add(h, b) }

// Bytes returns the bytes held.
func (c *ChunkLRU) Bytes() int64 {
	b, _, _ := c.l.stats()
	return b
}
