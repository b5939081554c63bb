package cache

import (
	"context"
	"sync/atomic"

	"github.com/p2pcache/p2pcache/relay/wire"
)

// PeerSource fills a chunk miss from connected peers before the origin is
// asked; the relay's router is one. FetchChunk returns chunk i of m, or an
// error when no peer could provide it. from names the peer whose request
// caused the miss (ChunkFrom's from; empty for Chunk's callers, HTTP say):
// the source must not ask that peer for the chunk it is asking for. Misses
// of one chunk share one fetch, so from is the first asker's. The cache
// verifies the bytes against the manifest again before it caches or
// returns them.
type PeerSource interface {
	FetchChunk(ctx context.Context, m *wire.Manifest, i int, from string) ([]byte, error)
}

// PeerSourceFunc adapts a function to PeerSource.
type PeerSourceFunc func(ctx context.Context, m *wire.Manifest, i int, from string) ([]byte, error)

// FetchChunk calls f.
func (f PeerSourceFunc) FetchChunk(ctx context.Context, m *wire.Manifest, i int, from string) ([]byte, error) {
	return f(ctx, m, i, from)
}

type peerSource struct{ PeerSource }

// SetPeers installs ps as the source tried on a miss before the origin; nil
// removes it. The relay is built on the cache and does not install itself:
// its caller does, c.SetPeers(r), and removes it before closing the relay.
func (c *Cache) SetPeers(ps PeerSource) {
	if ps == nil {
		c.peers.Store(nil)
		return
	}
	c.peers.Store(&peerSource{ps})
}

// fromPeers tries the peer source for chunk i of m on behalf of from; ok
// only for verified bytes.
func (c *Cache) fromPeers(ctx context.Context, m *wire.Manifest, i int, from string) (chunkResult, bool) {
	ps := c.peers.Load()
	if ps == nil {
		return chunkResult{}, false
	}
	b, err := ps.FetchChunk(ctx, m, i, from)
	if err != nil {
		return chunkResult{}, false
	}
	if len(b) != m.ChunkLen(i) || wire.Sum(b) != m.Chunks[i] {
		c.peerRejects.Add(1)
		c.cfg.Logger.Warn("peer source returned bytes that do not match the manifest", "path", m.Path, "chunk", i)
		return chunkResult{}, false
	}
	c.peerFills.Add(1)
	c.chunks.add(m.Chunks[i], b)
	return chunkResult{b, SourcePeer}, true
}

// peerCounters are kept apart so Stats can report them.
type peerCounters struct {
	peers                  atomic.Pointer[peerSource]
	peerFills, peerRejects atomic.Uint64
}

// Cached returns the manifest held for path, fresh or not, without asking
// the origin; nil if none. The relay resolves peers' HAVE frames with it.
func (c *Cache) Cached(path string) *wire.Manifest {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.manifests.Peek(path); ok {
		return e.m
	}
	return nil
}
