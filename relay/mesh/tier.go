package mesh

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/p2pcache/p2pcache/cache"
	"github.com/p2pcache/p2pcache/relay/wire"
)

// Mesh is a cache.Tier: install it with cache.SetTier.
var _ cache.Tier = (*Mesh)(nil)

// Manifest asks path's owners, in rendezvous order and at most Tries of
// them, for its manifest, and stops at this relay: the first that answers
// with a valid manifest, or says the origin has no such file, settles it.
// It falls through (cache.ErrTierMiss) when this relay is the owner, is
// not connected, or no owner answered.
func (m *Mesh) Manifest(ctx context.Context, path string) (cache.TierManifest, error) {
	if miss := m.unavailable(); miss != nil {
		return cache.TierManifest{}, miss
	}
	key := ManifestKey(path)
	req := request{V: Version, From: m.cfg.ID, Path: path}
	tried := 0
	for _, id := range m.candidates(key) {
		if id == m.cfg.ID || tried == m.cfg.Tries {
			break
		}
		tried++
		a, err := m.ask(ctx, id, kindManifest, &req, maxManifestBody)
		res := m.result(a, err)
		var tm cache.TierManifest
		if res == resultOK {
			if tm, err = decodeManifestAnswer(path, a.body); err != nil {
				res = resultBadBytes
				m.cfg.Logger.Warn("relay sent a bad manifest", "member", id, "path", path, "err", err)
			}
		}
		m.record(id, kindManifest, res, a)
		switch {
		case res == resultOK:
			return tm, nil
		case res == resultNotFound:
			return cache.TierManifest{}, fmt.Errorf("%w: %s (relay %s)", cache.ErrNotFound, path, id)
		case ctx.Err() != nil:
			return cache.TierManifest{}, ctx.Err()
		case errors.Is(err, ErrClosed):
			return cache.TierManifest{}, missClosed
		}
	}
	if tried == 0 {
		return cache.TierManifest{}, missSelf
	}
	return cache.TierManifest{}, missNoOwner
}

// Chunk asks chunk i's owners, in rendezvous order and at most Tries of
// them, and stops at this relay. When this relay is to answer for the
// chunk itself (no owner before it answered), it peeks at the file's
// owner: that relay built the manifest from one read of the
// whole file and may hold the chunk still. Only then does it fall through
// (cache.ErrTierMiss) to the origin. Bytes are verified against m; a
// relay whose bytes are not the chunk gets a strike.
func (m *Mesh) Chunk(ctx context.Context, man *wire.Manifest, i int) ([]byte, error) {
	if i < 0 || i >= len(man.Chunks) {
		return nil, fmt.Errorf("%w: %d of %d in %s", cache.ErrBadIndex, i, len(man.Chunks), man.Path)
	}
	if miss := m.unavailable(); miss != nil {
		return nil, miss
	}
	h := man.Chunks[i]
	key := ChunkKey(h)
	req := request{V: Version, From: m.cfg.ID, Path: man.Path, File: man.SHA256, I: i, Hash: h}
	var asked []string
	b, err := m.chunkFromOwners(ctx, key, &req, man, &asked)
	if err == nil || !errors.Is(err, cache.ErrTierMiss) {
		return b, err
	}
	miss := err
	owner := Owner(ManifestKey(man.Path), m.usable())
	if owner == "" || owner == m.cfg.ID || slices.Contains(asked, owner) {
		return nil, miss
	}
	req.Peek = true
	if b, ok := m.fetchChunk(ctx, owner, kindPeek, &req, man); ok {
		return b, nil
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return nil, missNoOwner
}

// chunkFromOwners asks the chunk's owners before this relay, at most Tries.
func (m *Mesh) chunkFromOwners(ctx context.Context, key string, req *request, man *wire.Manifest, asked *[]string) ([]byte, error) {
	for _, id := range m.candidates(key) {
		if id == m.cfg.ID {
			break
		}
		if len(*asked) == m.cfg.Tries {
			return nil, missNoOwner
		}
		*asked = append(*asked, id)
		if b, ok := m.fetchChunk(ctx, id, kindChunk, req, man); ok {
			return b, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	if len(*asked) == 0 {
		return nil, missSelf
	}
	return nil, missNoOwner
}

// kindPeek names a peek (a chunk request with Peek set) in stats.
const kindPeek = "peek"

// fetchChunk asks relay id for chunk req.I of man and verifies the bytes.
func (m *Mesh) fetchChunk(ctx context.Context, id, kind string, req *request, man *wire.Manifest) ([]byte, bool) {
	i := req.I
	a, err := m.ask(ctx, id, kindChunk, req, man.ChunkLen(i))
	res := m.result(a, err)
	if res == resultOK && (len(a.body) != man.ChunkLen(i) || wire.Sum(a.body) != man.Chunks[i]) {
		res = resultBadBytes
		m.cfg.Logger.Warn("relay sent bytes that do not match the manifest", "member", id, "path", man.Path, "chunk", i)
	}
	m.record(id, kind, res, a)
	return a.body, res == resultOK
}

// result classifies an answer, or the failure to get one.
func (m *Mesh) result(a answer, err error) string {
	switch {
	case err == nil:
	case errors.Is(err, errLostNATS): // this relay's connection, not the owner
		return ""
	case errors.Is(err, ErrUnreachable):
		return resultUnreachable
	case errors.Is(err, ErrBadMessage):
		return resultBadBytes
	case errors.Is(err, ErrTimeout):
		return resultTimeout
	default: // ctx or mesh ended: the owner is not to blame
		return ""
	}
	switch a.kind {
	case replyData:
		return resultOK
	case replyMiss:
		return resultMiss
	case replyNotFound:
		return resultNotFound
	}
	return resultError
}

// record counts a request's result, reports it to Config.Observe, and
// excludes the relay when it has struck out.
func (m *Mesh) record(id, kind, res string, a answer) {
	if kind == kindManifest || kind == kindChunk || kind == kindPeek {
		m.remotes.sent(id, kind)
	}
	if res == "" {
		return
	}
	if res != resultOK {
		m.cfg.Logger.Debug("request to another relay failed", "member", id, "kind", kind, "result", res)
	}
	if m.remotes.done(id, res, a.took, len(a.body), time.Now()) {
		m.cfg.Logger.Warn("relay excluded for bad bytes", "member", id, "for", m.cfg.ExcludeFor)
	}
	if m.cfg.Observe != nil {
		m.cfg.Observe(id, kind, res, a.took)
	}
}

// unavailable is the miss to return at once when the tier cannot be
// asked: the mesh is closed or NATS is down.
func (m *Mesh) unavailable() error {
	select {
	case <-m.closing:
		return missClosed
	default:
	}
	if m.downSignal() == nil {
		return missDisconnected
	}
	return nil
}

// usable returns the live members this relay may ask, itself included:
// neither excluded nor suspect.
func (m *Mesh) usable() []string {
	live := m.members.live()
	now := time.Now()
	out := make([]string, 0, len(live))
	for _, id := range live {
		if id == m.cfg.ID || m.remotes.usable(id, now) {
			out = append(out, id)
		}
	}
	return out
}

// candidates returns the usable members in key's rendezvous order.
func (m *Mesh) candidates(key string) []string { return Owners(key, m.usable()) }

// Owners returns the live members this relay would ask for key, in the
// order it would ask them, itself included (it stops there: the keys
// it owns it fetches from the origin). Relays excluded for bad bytes, or
// skipped for a while after a timeout, are left out.
func (m *Mesh) Owners(key string) []string { return m.candidates(key) }
