package mesh

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/nats-io/nats.go"

	"github.com/p2pcache/p2pcache/cache"
	"github.com/p2pcache/p2pcache/relay/wire"
)

// ServedStats count the requests other relays sent this one.
type ServedStats struct {
	Manifests, Chunks, Peeks uint64 // requests received, by kind
	Answered                 uint64 // answered with the bytes (DATA)
	Misses                   uint64 // answered MISS (Busy included)
	Busy                     uint64 // of them: over Config.MaxServing
	NotFound                 uint64 // answered NOTFOUND
	Errors                   uint64 // answered ERROR (BadRequests included)
	BadRequests              uint64 // of them: the request did not decode or validate
	Bytes                    uint64 // answer bytes sent
}

type servedCounters struct {
	manifests, chunks, peeks, answered, misses, busy atomic.Uint64
	notFound, errors, badRequests, bytes             atomic.Uint64
}

func (s *servedCounters) stats() ServedStats {
	return ServedStats{
		Manifests: s.manifests.Load(), Chunks: s.chunks.Load(), Peeks: s.peeks.Load(),
		Answered: s.answered.Load(), Misses: s.misses.Load(), Busy: s.busy.Load(),
		NotFound: s.notFound.Load(), Errors: s.errors.Load(), BadRequests: s.badRequests.Load(), Bytes: s.bytes.Load(),
	}
}

// beats is the set of reply subjects of requests being worked on: each
// gets a WORKING every Config.Heartbeat until its answer.
type beats struct {
	mu sync.Mutex
	m  map[string]struct{}
}

func (b *beats) add(reply string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.m == nil {
		b.m = make(map[string]struct{})
	}
	b.m[reply] = struct{}{}
}

func (b *beats) remove(reply string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.m, reply)
}

func (b *beats) list() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]string, 0, len(b.m))
	for r := range b.m {
		out = append(out, r)
	}
	return out
}

var (
	replyAckMsg     = encodeReply(replyAck, nil)
	replyWorkingMsg = encodeReply(replyWorking, nil)
	replyNotFound1  = encodeReply(replyNotFound, nil)
)

// onRequest is the handler of this relay's subjects: it answers a peek
// or a held chunk at once, and otherwise acknowledges and works in a
// goroutine of its own (the handler must not block the subscription).
func (m *Mesh) onRequest(msg *nats.Msg) {
	if msg.Reply == "" {
		return
	}
	kind := msg.Subject[strings.LastIndexByte(msg.Subject, '.')+1:]
	req, err := decodeRequest(kind, msg.Data)
	if err != nil {
		m.served.badRequests.Add(1)
		m.reply(msg.Reply, replyError, err.Error())
		return
	}
	f := m.faults.Load()
	if f != nil && f.drop != nil && f.drop(&req) {
		return
	}
	switch {
	case kind == kindManifest:
		m.served.manifests.Add(1)
	case req.Peek:
		m.served.peeks.Add(1)
		if b, ok := m.cache.Peek(req.Hash); ok {
			m.sendChunk(msg.Reply, &req, b)
		} else {
			m.reply(msg.Reply, replyMiss, "not held")
		}
		return
	default:
		m.served.chunks.Add(1)
		if b, ok := m.cache.Peek(req.Hash); ok {
			m.sendChunk(msg.Reply, &req, b)
			return
		}
	}
	if ok, closed := m.startServing(); !ok {
		reason := "busy"
		if closed {
			reason = "leaving the cluster"
		}
		m.reply(msg.Reply, replyMiss, reason)
		return
	}
	m.publish(msg.Reply, replyAckMsg)
	m.beats.add(msg.Reply)
	go func() {
		defer m.stopServing()
		ctx, cancel := context.WithTimeout(m.ctx, m.cfg.ServeTimeout)
		defer cancel()
		if kind == kindManifest {
			m.serveManifest(ctx, msg.Reply, req)
		} else {
			m.serveChunk(ctx, msg.Reply, req)
		}
	}()
}

// startServing admits one more request to work on, within MaxServing and
// while the mesh is open; the worker calls stopServing.
func (m *Mesh) startServing() (ok, closed bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return false, true
	}
	if m.serving >= m.cfg.MaxServing {
		m.served.busy.Add(1)
		return false, false
	}
	m.serving++
	m.wg.Add(1)
	return true, false
}

func (m *Mesh) stopServing() {
	m.mu.Lock()
	m.serving--
	m.mu.Unlock()
	m.wg.Done()
}

func (m *Mesh) serveManifest(ctx context.Context, reply string, req request) {
	tm, err := m.cache.ManifestForTier(ctx, req.Path)
	if err != nil {
		m.fail(reply, err)
		return
	}
	b, err := encodeManifestAnswer(tm)
	if err != nil {
		m.fail(reply, err)
		return
	}
	m.beats.remove(reply)
	m.sendData(reply, b)
}

// serveChunk answers chunk req.I of the version of req.Path the requester
// has: through this relay's own cache, so its singleflight, its peers and
// (for the owner) the origin serve it, once however many relays ask. The
// manifest comes from this relay's cache too, which asks the file's owner
// for it: the chunk's owner need not be the file's.
func (m *Mesh) serveChunk(ctx context.Context, reply string, req request) {
	man, err := m.cache.Manifest(ctx, req.Path)
	if err != nil {
		m.fail(reply, err)
		return
	}
	if man.SHA256 != req.File || req.I >= len(man.Chunks) || man.Chunks[req.I] != req.Hash {
		m.beats.remove(reply)
		m.reply(reply, replyMiss, "another version of the file")
		return
	}
	b, _, err := m.cache.Chunk(ctx, man, req.I)
	if err != nil {
		m.fail(reply, err)
		return
	}
	m.beats.remove(reply)
	m.sendChunk(reply, &req, b)
}

// sendChunk sends chunk bytes b, the answer to req.
func (m *Mesh) sendChunk(to string, req *request, b []byte) {
	if f := m.faults.Load(); f != nil && f.rewrite != nil {
		b = f.rewrite(req, b)
	}
	m.sendData(to, b)
}

// faults are test hooks (see export_test.go); nil otherwise.
type faults struct {
	drop    func(req *request) bool             // true: leave the request unanswered (a hung relay)
	rewrite func(req *request, b []byte) []byte // the chunk bytes sent instead of b (a lying relay)
	mute    bool                                // announce nothing (with drop: a partitioned relay)
}

// fail answers NOTFOUND for a file the origin does not have, ERROR for
// any other failure.
func (m *Mesh) fail(reply string, err error) {
	m.beats.remove(reply)
	if errors.Is(err, cache.ErrNotFound) && !errors.Is(err, cache.ErrOrigin) {
		m.served.notFound.Add(1)
		m.publish(reply, replyNotFound1)
		return
	}
	m.cfg.Logger.Debug("request from another relay failed", "err", err)
	m.reply(reply, replyError, err.Error())
}

// reply sends a MISS or ERROR with its reason.
func (m *Mesh) reply(to string, k replyKind, reason string) {
	switch k {
	case replyMiss:
		m.served.misses.Add(1)
	case replyError:
		m.served.errors.Add(1)
	}
	m.publish(to, encodeText(k, reason))
}

// sendData sends b as PARTs and a final DATA, each of at most MaxPart
// bytes (less if the server's max_payload is smaller).
func (m *Mesh) sendData(to string, b []byte) {
	part := MaxPart
	if mp := int(m.nc.MaxPayload()) - 2; mp > 0 && mp < part {
		part = mp
	}
	for len(b) > part {
		if !m.publish(to, encodeReply(replyPart, b[:part])) {
			return
		}
		b = b[part:]
	}
	if m.publish(to, encodeReply(replyData, b)) {
		m.served.answered.Add(1)
	}
}

func (m *Mesh) publish(to string, b []byte) bool {
	if err := m.nc.Publish(to, b); err != nil {
		m.cfg.Logger.Debug("answer to another relay not sent", "err", err)
		return false
	}
	m.served.bytes.Add(uint64(len(b)))
	return true
}

// heartbeat sends WORKING to every request being worked on.
func (m *Mesh) heartbeat() {
	for _, r := range m.beats.list() {
		m.publish(r, replyWorkingMsg)
	}
}

var _ Cache = (*cache.Cache)(nil)

// Cache is what a Mesh serves other relays from; *cache.Cache is one.
type Cache interface {
	// ManifestForTier returns a file's manifest, with its origin
	// validators and the freshness left.
	ManifestForTier(ctx context.Context, path string) (cache.TierManifest, error)
	// Manifest returns a file's manifest.
	Manifest(ctx context.Context, path string) (*wire.Manifest, error)
	// Chunk returns a chunk, from the LRU, peers, the tier or the origin.
	Chunk(ctx context.Context, m *wire.Manifest, i int) ([]byte, cache.Source, error)
	// Peek returns a chunk if it is held, and nothing otherwise.
	Peek(h wire.Hash) ([]byte, bool)
}
