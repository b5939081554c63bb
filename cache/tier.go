package cache

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/p2pcache/p2pcache/relay/wire"
)

// Tier is a cluster cache tier: the other relays of a cluster, among which
// every file and chunk has an owner (relay/mesh is one, on NATS). A
// manifest miss asks the tier before the origin; a chunk miss asks it after
// the peer source and before the origin. So the origin is asked by the
// owner only, once per cluster, and the other relays get the owner's copy.
//
// An error wrapping ErrTierMiss means "go to the origin": this relay is the
// owner, the tier is unreachable, or no owner could answer in time. The
// tier must return it at once when this relay is the key's owner (the
// owner answering another relay calls its own cache, which asks the tier:
// that must not come back to it, or to any relay waiting on it), and
// without waiting when it is disconnected. ErrNotFound from Manifest is
// a definite answer (the owner's origin has no such file) and is
// remembered in the negative cache as the origin's would be. Any other
// error also falls through to the origin.
//
// Nothing from the tier is trusted further than peer bytes: manifests are
// validated (wire.Manifest.Validate, the path asked for, MaxFileSize) and
// chunks verified against the manifest before they are cached or returned;
// what fails is counted in Stats.TierRejects and the origin is asked.
//
// What a relay gets from the tier it keeps in its own LRU, like what it
// gets from peers or the origin: its own peers ask it for the same chunks
// again, and a hot file is then served from every relay's memory instead
// of crossing the cluster for every request, at the cost of one copy per
// relay that serves it (the owner's copy is only the one the others fill
// from). A tier manifest is held for the freshness the owner has left,
// with the owner's origin validators, so a relay revalidates through the
// owner (who asks the origin once for all) and can still revalidate or
// range-fetch on its own if the owner goes away.
type Tier interface {
	// Manifest returns path's current manifest from its owner.
	Manifest(ctx context.Context, path string) (TierManifest, error)
	// Chunk returns chunk i of m from its owner.
	Chunk(ctx context.Context, m *wire.Manifest, i int) ([]byte, error)
}

// TierManifest is a manifest as one relay hands it to another.
type TierManifest struct {
	Manifest *wire.Manifest
	// Validators are the origin's for the version Manifest describes, for
	// conditional and If-Range requests.
	Validators Validators
	// MaxAge is how much longer the manifest is fresh at the sender: a
	// duration, not a time, so the relays' clocks need not agree.
	MaxAge time.Duration
}

type tierSource struct{ Tier }

// tierState is kept apart so Stats can report it.
type tierState struct {
	tier                                 atomic.Pointer[tierSource]
	tierManifests, tierFills, tierReject atomic.Uint64
}

// SetTier installs t as the cluster tier asked on a miss before the
// origin; nil removes it. As with SetPeers, the tier does not install
// itself: its caller does, c.SetTier(mesh), and removes it before closing
// the tier.
func (c *Cache) SetTier(t Tier) {
	if t == nil {
		c.tier.Store(nil)
		return
	}
	c.tier.Store(&tierSource{t})
}

// ManifestForTier is Manifest for another relay of the tier: it also
// returns the origin's validators and the freshness left, which the
// requester holds the manifest with. The owner's side of Tier.Manifest.
func (c *Cache) ManifestForTier(ctx context.Context, p string) (TierManifest, error) {
	m, err := c.Manifest(ctx, p)
	if err != nil {
		return TierManifest{}, err
	}
	tm := TierManifest{Manifest: m}
	if e := c.entry(m.Path); e != nil && e.m == m {
		tm.Validators = e.origin
		tm.MaxAge = max(0, e.expires.Sub(c.cfg.Now()))
	}
	return tm, nil
}

// manifestFromTier asks the tier for p's manifest; ok when that settles
// the request: a valid manifest, now held, or a definite "not found", now
// remembered. e is p's stale entry, if any.
func (c *Cache) manifestFromTier(ctx context.Context, p string, e *manifestEntry) (m *wire.Manifest, ok bool, err error) {
	t := c.tier.Load()
	if t == nil {
		return nil, false, nil
	}
	tm, err := t.Manifest(ctx, p)
	switch {
	case err == nil:
	case errors.Is(err, ErrNotFound):
		c.neg.add(p, c.cfg.Now())
		return nil, true, err
	default:
		if !errors.Is(err, ErrTierMiss) {
			c.cfg.Logger.Debug("tier manifest failed; asking the origin", "path", p, "err", err)
		}
		return nil, false, nil
	}
	if err := c.checkTierManifest(p, tm.Manifest); err != nil {
		c.tierReject.Add(1)
		c.cfg.Logger.Warn("tier returned a bad manifest; asking the origin", "path", p, "err", err)
		return nil, false, nil
	}
	m = tm.Manifest
	if e != nil && e.m.SHA256 == m.SHA256 && e.m.ChunkSize == m.ChunkSize {
		m = e.m // the same version: keep the held one (and its chunk index)
	}
	c.tierManifests.Add(1)
	c.put(p, &manifestEntry{m: m, origin: tm.Validators, expires: c.cfg.Now().Add(tm.MaxAge)})
	c.neg.remove(p)
	return m, true, nil
}

func (c *Cache) checkTierManifest(p string, m *wire.Manifest) error {
	switch {
	case m == nil:
		return fmt.Errorf("%w: none", ErrBadManifest)
	case m.Path != p:
		return fmt.Errorf("%w: path %q, asked for %q", ErrBadManifest, m.Path, p)
	case m.Size > c.cfg.MaxFileSize:
		return fmt.Errorf("%w: %s is %d bytes, the limit is %d", ErrTooLarge, p, m.Size, c.cfg.MaxFileSize)
	}
	return m.Validate()
}

// fromTier asks the tier for chunk i of m; ok only for verified bytes,
// which are then cached.
func (c *Cache) fromTier(ctx context.Context, m *wire.Manifest, i int) (chunkResult, bool) {
	t := c.tier.Load()
	if t == nil {
		return chunkResult{}, false
	}
	b, err := t.Chunk(ctx, m, i)
	if err != nil {
		if !errors.Is(err, ErrTierMiss) {
			c.cfg.Logger.Debug("tier chunk failed; asking the origin", "path", m.Path, "chunk", i, "err", err)
		}
		return chunkResult{}, false
	}
	if len(b) != m.ChunkLen(i) || wire.Sum(b) != m.Chunks[i] {
		c.tierReject.Add(1)
		c.cfg.Logger.Warn("tier returned bytes that do not match the manifest", "path", m.Path, "chunk", i)
		return chunkResult{}, false
	}
	c.tierFills.Add(1)
	c.chunks.add(m.Chunks[i], b)
	return chunkResult{b, SourceRelay}, true
}
