package cache

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"path"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
	"golang.org/x/sync/singleflight"

	"github.com/p2pcache/p2pcache/relay/wire"
)

// ErrClosed: the cache was closed.
var ErrClosed = errors.New("cache closed")

// Source tells where a chunk came from.
type Source uint8

const (
	SourceCache  Source = iota // the relay's LRU
	SourceOrigin               // fetched from the origin for this request (by range, or kept by a manifest build and not served before)
	SourcePeer                 // fetched from a connected peer
	SourceRelay                // fetched from another relay of the cluster tier (SetTier)
)

func (s Source) String() string {
	switch s {
	case SourceCache:
		return "cache"
	case SourceOrigin:
		return "origin"
	case SourcePeer:
		return "peer"
	case SourceRelay:
		return "relay"
	}
	return fmt.Sprintf("source(%d)", uint8(s))
}

// Stats are cumulative counters and current sizes.
type Stats struct {
	Bytes          int64  // chunk bytes held
	Chunks         int    // chunks held
	Evictions      uint64 // chunks evicted to keep the byte budget
	Manifests      int    // manifests held
	Hits, Misses   uint64 // chunk lookups
	OriginFetches  uint64 // requests sent to the origin, of any kind
	OriginBytes    uint64 // body bytes read from the origin
	ManifestBuilds uint64 // whole-file fetches that built a manifest
	Revalidations  uint64 // conditional requests for stale manifests
	NotModified    uint64 // revalidations answered "not modified"
	Stale          uint64 // chunk fetches that found the origin changed
	PeerFills      uint64 // misses filled from peers
	PeerRejects    uint64 // peer bytes refused: they did not match the manifest
	OriginErrors   uint64 // origin calls that failed (5xx, timeouts, bad bodies, refusals)
	OriginRetries  uint64 // origin calls retried after a transient failure

	NegativeHits    uint64 // manifest requests answered "not found" from the negative cache
	NegativeEntries int    // missing paths remembered
	NegativeBytes   int64  // their charged size (see Config.NegativeMaxBytes)

	TierManifests uint64 // manifests taken from the cluster tier instead of the origin
	TierFills     uint64 // chunk misses filled from the cluster tier
	TierRejects   uint64 // tier manifests or chunks refused: invalid, or not matching the manifest
}

type manifestEntry struct {
	m       *wire.Manifest
	origin  Validators // the origin's validators for the version m describes
	expires time.Time
}

type chunkLoc struct {
	m *wire.Manifest
	i int
}

// Cache serves manifests and chunks, from its LRU or its origin. It is safe
// for concurrent use. See the package comment for the algorithm.
type Cache struct {
	origin  Origin
	cfg     Config
	chunks  *byteLRU
	flights singleflight.Group
	wg      sync.WaitGroup // flights running

	mu        sync.Mutex // guards the following
	manifests *simplelru.LRU[string, *manifestEntry]
	where     map[wire.Hash][]chunkLoc // chunk hash → every held manifest listing it
	cancels   map[*context.CancelFunc]struct{}
	closed    bool

	hits, misses, originFetches, originBytes         atomic.Uint64
	builds, revalidations, notModified, staleFetches atomic.Uint64
	originErrors, originRetries, negHits             atomic.Uint64
	neg                                              *negCache // nil: off
	peerCounters
	tierState
}

// New returns a cache in front of origin.
func New(origin Origin, cfg Config) (*Cache, error) {
	if origin == nil {
		return nil, fmt.Errorf("%w: nil origin", ErrBadConfig)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	chunks, err := newByteLRU(cfg.MaxBytes)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadConfig, err)
	}
	c := &Cache{
		origin:  origin,
		cfg:     cfg,
		chunks:  chunks,
		where:   make(map[wire.Hash][]chunkLoc),
		cancels: make(map[*context.CancelFunc]struct{}),
	}
	if c.neg, err = newNegCache(cfg.NegativeTTL, cfg.NegativeMaxEntries, cfg.NegativeMaxBytes); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadConfig, err)
	}
	c.manifests, err = simplelru.NewLRU(cfg.MaxManifests, func(_ string, e *manifestEntry) {
		c.forgetLocked(e.m) // called with c.mu held
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadConfig, err)
	}
	return c, nil
}

// ChunkSize is the chunk size of manifests this cache builds.
func (c *Cache) ChunkSize() int { return c.cfg.ChunkSize }

// Close cancels origin fetches in flight and waits for them. It is idempotent.
func (c *Cache) Close() error {
	c.mu.Lock()
	c.closed = true
	for cancel := range c.cancels {
		(*cancel)()
	}
	c.mu.Unlock()
	c.wg.Wait()
	return nil
}

// Stats returns current counters.
func (c *Cache) Stats() Stats {
	b, n, ev := c.chunks.stats()
	c.mu.Lock()
	nm := c.manifests.Len()
	c.mu.Unlock()
	ne, nb := c.neg.stats()
	return Stats{
		Bytes: b, Chunks: n, Evictions: ev, Manifests: nm,
		Hits: c.hits.Load(), Misses: c.misses.Load(),
		OriginFetches: c.originFetches.Load(), OriginBytes: c.originBytes.Load(),
		ManifestBuilds: c.builds.Load(), Revalidations: c.revalidations.Load(),
		NotModified: c.notModified.Load(), Stale: c.staleFetches.Load(),
		PeerFills: c.peerFills.Load(), PeerRejects: c.peerRejects.Load(),
		OriginErrors: c.originErrors.Load(), OriginRetries: c.originRetries.Load(),
		NegativeHits: c.negHits.Load(), NegativeEntries: ne, NegativeBytes: nb,
		TierManifests: c.tierManifests.Load(), TierFills: c.tierFills.Load(), TierRejects: c.tierReject.Load(),
	}
}

// Manifest returns the current manifest of path, building or revalidating it
// from the origin as needed.
func (c *Cache) Manifest(ctx context.Context, p string) (*wire.Manifest, error) {
	p, err := wire.CleanPath(p)
	if err != nil {
		return nil, err
	}
	if e := c.entry(p); e != nil && c.cfg.Now().Before(e.expires) {
		return e.m, nil
	}
	if c.neg.hit(p, c.cfg.Now()) {
		c.negHits.Add(1)
		return nil, fmt.Errorf("%w: %s", ErrNotFound, p)
	}
	v, err := c.do(ctx, "m\x00"+p, func(ctx context.Context) (any, error) { return c.loadManifest(ctx, p) })
	if err != nil {
		return nil, err
	}
	return v.(*wire.Manifest), nil
}

// Peek returns chunk h if it is cached, marking it recently used.
func (c *Cache) Peek(h wire.Hash) ([]byte, bool) { return c.chunks.get(h) }

// Chunk returns chunk i of m: from the LRU, else from the peer source (see
// SetPeers) or the origin (one fetch however many ask), verified against m
// before it is cached or returned. The returned bytes are shared and must
// not be modified.
func (c *Cache) Chunk(ctx context.Context, m *wire.Manifest, i int) ([]byte, Source, error) {
	return c.ChunkFrom(ctx, m, i, "")
}

// ChunkFrom is Chunk on behalf of the peer named from: on a miss the peer
// source is told who asked (PeerSource.FetchChunk), so that it does not ask
// that peer for the chunk it is asking for. Misses of one chunk share one
// fetch, which carries the from of the caller that started it.
func (c *Cache) ChunkFrom(ctx context.Context, m *wire.Manifest, i int, from string) ([]byte, Source, error) {
	if i < 0 || i >= len(m.Chunks) {
		return nil, 0, fmt.Errorf("%w: %d of %d in %s", ErrBadIndex, i, len(m.Chunks), m.Path)
	}
	h := m.Chunks[i]
	if b, fresh, ok := c.chunks.take(h); ok {
		c.hits.Add(1)
		return b, heldSource(fresh), nil
	}
	c.misses.Add(1)
	v, err := c.do(ctx, "c\x00"+string(h[:]), func(ctx context.Context) (any, error) { return c.loadChunk(ctx, m, i, from) })
	if err != nil {
		return nil, 0, err
	}
	r := v.(chunkResult)
	return r.b, r.src, nil
}

// ChunkByHash returns a chunk named by its hash alone: from the LRU, else
// through a held manifest that lists it. ErrUnknownChunk if neither.
func (c *Cache) ChunkByHash(ctx context.Context, h wire.Hash) ([]byte, Source, error) {
	return c.ChunkByHashFrom(ctx, h, "")
}

// ChunkByHashFrom is ChunkByHash on behalf of the peer named from, as
// ChunkFrom.
func (c *Cache) ChunkByHashFrom(ctx context.Context, h wire.Hash, from string) ([]byte, Source, error) {
	if b, fresh, ok := c.chunks.take(h); ok {
		c.hits.Add(1)
		return b, heldSource(fresh), nil
	}
	c.mu.Lock()
	locs := c.where[h]
	c.mu.Unlock()
	if len(locs) == 0 {
		return nil, 0, fmt.Errorf("%w: %s", ErrUnknownChunk, h)
	}
	return c.ChunkFrom(ctx, locs[0].m, locs[0].i, from)
}

// heldSource is the source of a chunk found in the LRU: the origin the
// first time a chunk a manifest build kept is served (the build read it
// from the origin for whoever asked for the file), else the cache.
func heldSource(fresh bool) Source {
	if fresh {
		return SourceOrigin
	}
	return SourceCache
}

type chunkResult struct {
	b   []byte
	src Source
}

// do runs fn once per key however many callers ask at once. The flight runs
// on its own context (the first caller's values, no cancellation, the origin
// timeout), so one caller leaving does not fail the others; each caller stops
// waiting when its own ctx ends.
func (c *Cache) do(ctx context.Context, key string, fn func(context.Context) (any, error)) (any, error) {
	ch := c.flights.DoChan(key, func() (any, error) {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.OriginTimeout)
		defer cancel()
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return nil, ErrClosed
		}
		c.cancels[&cancel] = struct{}{}
		c.wg.Add(1)
		c.mu.Unlock()
		defer func() {
			c.mu.Lock()
			delete(c.cancels, &cancel)
			c.mu.Unlock()
			c.wg.Done()
		}()
		return fn(fctx)
	})
	select {
	case r := <-ch:
		return r.Val, r.Err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (c *Cache) entry(p string) *manifestEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, _ := c.manifests.Peek(p)
	if e != nil {
		c.manifests.Get(p) // mark recently used
	}
	return e
}

// put stores e as path's entry, replacing (and forgetting) any older one.
func (c *Cache) put(p string, e *manifestEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.manifests.Peek(p); ok && old.m != e.m {
		c.manifests.Remove(p) // calls forgetLocked(old.m)
	}
	c.manifests.Add(p, e)
	for i, h := range e.m.Chunks {
		if !slices.ContainsFunc(c.where[h], func(l chunkLoc) bool { return l.m == e.m }) {
			c.where[h] = append(c.where[h], chunkLoc{e.m, i})
		}
	}
}

// drop forgets m if it is still path's current manifest.
func (c *Cache) drop(m *wire.Manifest) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.manifests.Peek(m.Path); ok && e.m == m {
		c.manifests.Remove(m.Path)
	}
}

// forgetLocked removes m's chunks from the location index; a chunk other
// held manifests list stays reachable through them.
func (c *Cache) forgetLocked(m *wire.Manifest) {
	for _, h := range m.Chunks {
		if locs := slices.DeleteFunc(c.where[h], func(l chunkLoc) bool { return l.m == m }); len(locs) > 0 {
			c.where[h] = locs
		} else {
			delete(c.where, h)
		}
	}
}

func (c *Cache) loadManifest(ctx context.Context, p string) (*wire.Manifest, error) {
	now := c.cfg.Now()
	e := c.entry(p)
	if e != nil && now.Before(e.expires) { // refreshed while we waited
		return e.m, nil
	}
	if m, ok, err := c.manifestFromTier(ctx, p, e); ok {
		return m, err
	}
	var m *wire.Manifest
	err := c.retry(ctx, p, func() (err error) {
		m, err = c.fetchManifest(ctx, p, e, now)
		return err
	})
	switch {
	case err == nil:
		c.neg.remove(p)
	case errors.Is(err, ErrNotFound) && !errors.Is(err, ErrOrigin): // a definite answer, not a failure
		c.neg.add(p, c.cfg.Now())
	}
	return m, err
}

// fetchManifest makes one origin call for p's manifest: a revalidation of e
// when there is one, else a whole-file fetch.
func (c *Cache) fetchManifest(ctx context.Context, p string, e *manifestEntry, now time.Time) (*wire.Manifest, error) {
	req := Request{Path: p}
	if e != nil {
		req.Cond = e.origin
		c.revalidations.Add(1)
	}
	c.originFetches.Add(1)
	resp, err := c.origin.Fetch(ctx, req)
	if err != nil {
		return nil, err
	}
	if resp.NotModified {
		if e == nil {
			return nil, fmt.Errorf("%w: %s: not modified, but nothing was asked", ErrOrigin, p)
		}
		c.notModified.Add(1)
		ne := &manifestEntry{m: e.m, origin: e.origin, expires: now.Add(resp.MaxAge)}
		c.put(p, ne)
		return e.m, nil
	}
	defer resp.Body.Close()
	if resp.Partial {
		return nil, fmt.Errorf("%w: %s: partial answer to a whole-file request", ErrOrigin, p)
	}
	m, err := c.build(ctx, p, resp)
	if err != nil {
		return nil, err
	}
	c.builds.Add(1)
	c.put(p, &manifestEntry{m: m, origin: resp.Validators, expires: now.Add(resp.MaxAge)})
	c.cfg.Logger.Debug("manifest built", "path", p, "size", m.Size, "chunks", len(m.Chunks), "max_age", resp.MaxAge)
	return m, nil
}

// build streams resp.Body once: it cuts it into chunks, hashes each and the
// whole, and caches the chunks only after the body is complete and of the
// announced length, so a truncated or failed body leaves nothing behind. At
// most the LRU's budget of chunks is held back for that (less if
// Config.Budget is short: see buildMem), reserved before it is read; the rest
// are hashed in one reused buffer and left for range fetches.
func (c *Cache) build(ctx context.Context, p string, resp *Response) (*wire.Manifest, error) {
	if resp.Size > c.cfg.MaxFileSize || resp.Length > c.cfg.MaxFileSize {
		return nil, fmt.Errorf("%w: %s is %d bytes, the limit is %d", ErrTooLarge, p, max(resp.Size, resp.Length), c.cfg.MaxFileSize)
	}
	size := resp.Length
	if size < 0 {
		size = resp.Size
	}
	mem, err := c.reserveBuild(ctx, p, size)
	if err != nil {
		return nil, err
	}
	defer mem.release()
	cs := c.cfg.ChunkSize
	m := &wire.Manifest{Version: wire.ManifestVersion, Path: p, ChunkSize: cs, LastModified: resp.Validators.LastModified.UTC()}
	whole := sha256.New()
	type pending struct {
		h wire.Hash
		b []byte
	}
	var keep []pending
	var n int64
	var first []byte
	buf := make([]byte, cs)
	for {
		k, err := readFull(resp.Body, buf)
		if k > 0 {
			n += int64(k)
			c.originBytes.Add(uint64(k))
			if n > c.cfg.MaxFileSize {
				return nil, fmt.Errorf("%w: %s is over the limit of %d bytes", ErrTooLarge, p, c.cfg.MaxFileSize)
			}
			b := buf[:k]
			h := wire.Sum(b)
			whole.Write(b)
			m.Chunks = append(m.Chunks, h)
			if first == nil {
				first = bytes.Clone(b[:min(k, sniffLen)])
			}
			if mem.keep(k) {
				keep = append(keep, pending{h, bytes.Clone(b)})
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %s: body after %d bytes: %w", ErrOrigin, p, n, err)
		}
	}
	if resp.Length >= 0 && n != resp.Length {
		return nil, fmt.Errorf("%w: %s: body is %d bytes, origin announced %d", ErrOrigin, p, n, resp.Length)
	}
	m.Size = n
	copy(m.SHA256[:], whole.Sum(nil))
	m.ETag = wire.ETagFor(m.SHA256)
	m.ContentType = contentType(p, resp.ContentType, first)
	for _, pc := range keep {
		c.chunks.addFresh(pc.h, pc.b)
	}
	return m, nil
}

// readFull fills buf unless the reader ends first. Unlike io.ReadFull, a
// short final read ends with io.EOF, so a reader's own io.ErrUnexpectedEOF (a
// truncated HTTP body) stays an error.
func readFull(r io.Reader, buf []byte) (int, error) {
	n, empty := 0, 0
	for n < len(buf) {
		k, err := r.Read(buf[n:])
		n += k
		if err != nil {
			return n, err
		}
		if k > 0 {
			empty = 0
		} else if empty++; empty > 100 {
			return n, io.ErrNoProgress
		}
	}
	return n, nil
}

// sniffLen is how much of a file http.DetectContentType looks at.
const sniffLen = 512

func contentType(p, fromOrigin string, first []byte) string {
	if fromOrigin != "" {
		return fromOrigin
	}
	if t := mime.TypeByExtension(path.Ext(p)); t != "" {
		return t
	}
	return http.DetectContentType(first)
}

func (c *Cache) loadChunk(ctx context.Context, m *wire.Manifest, i int, from string) (chunkResult, error) {
	h := m.Chunks[i]
	if b, fresh, ok := c.chunks.take(h); ok { // filled while we waited
		return chunkResult{b, heldSource(fresh)}, nil
	}
	if r, ok := c.fromPeers(ctx, m, i, from); ok {
		return r, nil
	}
	if r, ok := c.fromTier(ctx, m, i); ok {
		return r, nil
	}
	var ifRange Validators
	if e := c.entry(m.Path); e != nil && e.m.SHA256 == m.SHA256 {
		ifRange = e.origin
	}
	var r chunkResult
	err := c.retry(ctx, m.Path, func() (err error) {
		r, err = c.fetchChunk(ctx, m, i, ifRange)
		return err
	})
	return r, err
}

// fetchChunk makes one ranged origin call for chunk i of m and caches the
// bytes if they match the manifest.
func (c *Cache) fetchChunk(ctx context.Context, m *wire.Manifest, i int, ifRange Validators) (chunkResult, error) {
	h := m.Chunks[i]
	off, n := m.ChunkOffset(i), int64(m.ChunkLen(i))
	c.originFetches.Add(1)
	resp, err := c.origin.Fetch(ctx, Request{Path: m.Path, Offset: off, Length: n, IfRange: ifRange})
	if err != nil {
		return chunkResult{}, err
	}
	defer resp.Body.Close()
	if !resp.Partial { // the origin ignored the range, or the file changed: skip to ours
		if _, err := io.CopyN(io.Discard, resp.Body, off); err != nil {
			return chunkResult{}, c.stale(m, fmt.Errorf("%w: %s: whole-file answer ended before chunk %d: %w", ErrStale, m.Path, i, err))
		}
		c.originBytes.Add(uint64(off))
	}
	b := make([]byte, n)
	k, err := readFull(resp.Body, b)
	c.originBytes.Add(uint64(k))
	if k < len(b) {
		if err == io.EOF && !resp.Partial {
			return chunkResult{}, c.stale(m, fmt.Errorf("%w: %s: file shorter than chunk %d", ErrStale, m.Path, i))
		}
		return chunkResult{}, fmt.Errorf("%w: %s chunk %d: got %d of %d bytes: %w", ErrOrigin, m.Path, i, k, n, err)
	}
	if wire.Sum(b) != h {
		return chunkResult{}, c.stale(m, fmt.Errorf("%w: %s chunk %d: origin bytes no longer match the manifest", ErrStale, m.Path, i))
	}
	c.chunks.add(h, b)
	return chunkResult{b, SourceOrigin}, nil
}

func (c *Cache) stale(m *wire.Manifest, err error) error {
	c.staleFetches.Add(1)
	c.drop(m)
	c.cfg.Logger.Info("origin changed under a manifest", "path", m.Path, "err", err)
	return err
}
