package relay

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/p2pcache/p2pcache/cache"
	"github.com/p2pcache/p2pcache/relay/wire"
)

// requestServer is the peer as a client of the relay: the bounds on its
// requests (a token per request in flight, a request rate), the paths it
// may ask for, and the cancel of each request in flight.
type requestServer struct {
	allow func(path string) bool // nil: every path
	sem   chan struct{}          // a token per request in flight
	rate  *rate.Limiter          // requests per second
	last  atomic.Int64           // ns since the session's start: a request began or ended

	mu       sync.Mutex // guards the following
	inflight map[reqKey]context.CancelFunc
}

// reqKey names a request in flight: ids are the peer's, one space per
// transport.
type reqKey struct {
	via transport
	id  uint32
}

func (q *requestServer) init(cfg Config, allow func(string) bool) {
	q.allow = allow
	q.sem = make(chan struct{}, cfg.MaxRequests)
	q.rate = rate.NewLimiter(rate.Limit(cfg.RequestRate), cfg.RequestRate)
	q.inflight = make(map[reqKey]context.CancelFunc)
}

// add records a request in flight; false if its id already is.
func (q *requestServer) add(key reqKey, cancel context.CancelFunc) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if _, dup := q.inflight[key]; dup {
		return false
	}
	q.inflight[key] = cancel
	return true
}

func (q *requestServer) remove(key reqKey) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.inflight, key)
}

// cancel stops a request in flight (the peer sent CANCEL).
func (q *requestServer) cancel(key reqKey) {
	q.mu.Lock()
	cancel := q.inflight[key]
	q.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

// busy reports whether a request is in flight, or one began or ended less
// than quiet before now (both since the session's start).
func (q *requestServer) busy(now, quiet time.Duration) bool {
	q.mu.Lock()
	n := len(q.inflight)
	q.mu.Unlock()
	last := q.last.Load()
	return n > 0 || last != 0 && now-time.Duration(last) < quiet
}

// startRequest admits a GET_FILE, GET_MANIFEST or GET_CHUNK and serves it in
// a goroutine of its own; over the rate or the in-flight bound it answers
// ERROR busy at once.
func (s *session) startRequest(ctx context.Context, via transport, out *outbox, f wire.Frame) {
	q := &s.reqs
	if !q.rate.Allow() {
		s.r.stats.rateLimited.Add(1)
		s.sendError(out, f.ID, wire.CodeBusy, fmt.Sprintf("over %g requests per second", float64(q.rate.Limit())))
		return
	}
	select {
	case q.sem <- struct{}{}:
	default:
		s.r.stats.busy.Add(1)
		s.sendError(out, f.ID, wire.CodeBusy, fmt.Sprintf("more than %d requests in flight", cap(q.sem)))
		return
	}
	key := reqKey{via, f.ID}
	rctx, cancel := context.WithCancel(ctx)
	if !q.add(key, cancel) {
		cancel()
		<-q.sem
		s.sendError(out, f.ID, wire.CodeBadRequest, fmt.Sprintf("request id %d is already in flight", f.ID))
		return
	}
	if !s.admit(1) {
		q.remove(key)
		cancel()
		<-q.sem
		return
	}
	q.last.Store(int64(time.Since(s.start)))
	go func() {
		defer s.wg.Done()
		defer func() {
			q.remove(key)
			q.last.Store(int64(time.Since(s.start)))
			cancel()
			<-q.sem
		}()
		err := s.serveRequest(rctx, out, &f)
		if err == nil {
			return
		}
		if ctx.Err() != nil { // the session is ending: nobody to tell
			return
		}
		code := errorCode(err)
		if errors.Is(err, cache.ErrMemoryBudget) {
			s.r.stats.memoryBusy.Add(1)
		}
		if code != wire.CodeCancelled {
			s.r.stats.requestErrors.Add(1)
			s.log.Debug("request failed", "type", f.Type, "path", f.Path, "err", err)
		}
		s.sendError(out, f.ID, code, err.Error())
	}()
}

// serveRequest answers one request from the cache. A miss asks the cache
// for the chunk on this peer's behalf (ChunkFrom): the router then never
// asks this peer for the chunk it is asking for.
func (s *session) serveRequest(ctx context.Context, out *outbox, f *wire.Frame) error {
	c := s.r.cache
	if allow := s.reqs.allow; allow != nil {
		p, err := wire.CleanPath(f.Path)
		if f.Path == "" {
			return fmt.Errorf("%w: this peer's token needs a path with every request", errForbidden)
		}
		if err != nil {
			return err
		}
		if !allow(p) {
			return fmt.Errorf("%w: the token does not cover %s", errForbidden, p)
		}
	}
	switch f.Type {
	case wire.TypeGetManifest:
		m, err := c.Manifest(ctx, f.Path)
		if err != nil {
			return err
		}
		return s.sendManifest(ctx, out, f.ID, m)
	case wire.TypeGetFile:
		m, err := c.Manifest(ctx, f.Path)
		if err != nil {
			return err
		}
		if err := s.sendManifest(ctx, out, f.ID, m); err != nil {
			return err
		}
		for i := range m.Chunks {
			b, src, err := c.ChunkFrom(ctx, m, i, s.id)
			if err != nil {
				return err
			}
			if err := s.sendChunk(ctx, out, f.ID, m.Path, uint32(i), b, src); err != nil {
				return err
			}
			s.r.stats.countChunk(src)
		}
		s.r.stats.files.Add(1)
		return nil
	case wire.TypeGetChunk:
		b, src, err := s.lookupChunk(ctx, f)
		if err != nil {
			return err
		}
		if err := s.sendChunk(ctx, out, f.ID, f.Path, f.Index, b, src); err != nil {
			return err
		}
		s.r.stats.countChunk(src)
		return nil
	}
	return fmt.Errorf("%w: %s is not a request", wire.ErrBadFrame, f.Type)
}

// lookupChunk finds a GET_CHUNK's bytes. With a path, the index must name
// the hash in the path's current manifest; a chunk of an older version is
// still served if it is cached (its hash proves it), else the answer is
// stale. A peer whose grant restricts paths gets no such fallback: a cached
// hash could be any file's, so it is served only m.Chunks[index] of a path
// the grant covers (serveRequest checked the path), and is told stale
// otherwise: neither another file's bytes nor whether they are cached.
func (s *session) lookupChunk(ctx context.Context, f *wire.Frame) ([]byte, cache.Source, error) {
	c := s.r.cache
	if f.Path == "" {
		return c.ChunkByHashFrom(ctx, f.Hash, s.id)
	}
	m, err := c.Manifest(ctx, f.Path)
	if err != nil {
		return nil, 0, err
	}
	past := int64(f.Index) >= int64(len(m.Chunks))
	if !past && m.Chunks[f.Index] == f.Hash {
		return c.ChunkFrom(ctx, m, int(f.Index), s.id)
	}
	if s.reqs.allow == nil {
		if b, ok := c.Peek(f.Hash); ok {
			return b, cache.SourceCache, nil
		}
	}
	if past {
		return nil, 0, fmt.Errorf("%w: %s has %d chunks, asked for %d", cache.ErrStale, m.Path, len(m.Chunks), f.Index)
	}
	return nil, 0, fmt.Errorf("%w: %s chunk %d has another hash now", cache.ErrStale, m.Path, f.Index)
}

// sendManifest sends m's JSON in MANIFEST fragments.
func (s *session) sendManifest(ctx context.Context, out *outbox, id uint32, m *wire.Manifest) error {
	js, err := m.MarshalJSON()
	if err != nil {
		return fmt.Errorf("encode manifest: %w", err)
	}
	if len(js) > wire.MaxManifestLen {
		return fmt.Errorf("%w: manifest of %s is %d bytes, over %d", cache.ErrTooLarge, m.Path, len(js), wire.MaxManifestLen)
	}
	for off := 0; off < len(js) || off == 0; off += wire.MaxManifestData {
		end := min(off+wire.MaxManifestData, len(js))
		f := &wire.Frame{Type: wire.TypeManifest, ID: id, Total: uint32(len(js)), Offset: uint32(off), Data: js[off:end]}
		err := out.send(ctx, wire.MaxMessageSize-wire.MaxManifestData+end-off, func(b []byte) []byte {
			b, _ = wire.AppendFrame(b, f)
			return b
		})
		if err != nil {
			return err
		}
		if end == len(js) {
			break
		}
	}
	return nil
}

// sendChunk sends chunk bytes in CHUNK fragments of at most
// wire.MaxChunkData, each saying where the relay got them (src).
func (s *session) sendChunk(ctx context.Context, out *outbox, id uint32, path string, index uint32, data []byte, src cache.Source) error {
	if fault := s.r.chunkFault.Load(); fault != nil {
		data = (*fault)(path, index, data)
	}
	ws := wireSource(src)
	off := 0
	for {
		end := min(off+wire.MaxChunkData, len(data))
		err := out.send(ctx, wire.MaxMessageSize-wire.MaxChunkData+end-off, func(b []byte) []byte {
			b = wire.AppendChunkHeader(b, id, index, uint32(len(data)), uint32(off), ws)
			return append(b, data[off:end]...)
		})
		if err != nil {
			return err
		}
		if off = end; off >= len(data) {
			return nil
		}
	}
}

// wireSource is the CHUNK flags' name for where the cache got a chunk (the
// two numberings differ: the wire's 0 means unspecified).
func wireSource(src cache.Source) wire.ChunkSource {
	switch src {
	case cache.SourceCache:
		return wire.SourceRelayCache
	case cache.SourceOrigin:
		return wire.SourceOrigin
	case cache.SourcePeer:
		return wire.SourcePeer
	case cache.SourceRelay:
		return wire.SourceRelay
	}
	return wire.SourceUnspecified
}

// sendError queues an ERROR frame ahead of answers; a peer whose control
// queue is full is dropped.
func (s *session) sendError(out *outbox, id uint32, code wire.ErrorCode, message string) {
	if len(message) > wire.MaxErrorMessageLen {
		message = message[:wire.MaxErrorMessageLen]
	}
	m, err := controlFrame(&wire.Frame{Type: wire.TypeError, ID: id, Code: code, Message: message})
	if err != nil { // a message cut inside a UTF-8 sequence
		m, _ = controlFrame(&wire.Frame{Type: wire.TypeError, ID: id, Code: code})
	}
	if !out.trySend(m) {
		s.r.stats.slowConsumers.Add(1)
		s.close(fmt.Errorf("%w: control queue full", ErrSlowConsumer))
	}
}

// errorCode maps an error to the wire's error code.
func errorCode(err error) wire.ErrorCode {
	switch {
	case errors.Is(err, context.Canceled):
		return wire.CodeCancelled
	case errors.Is(err, errForbidden):
		return wire.CodeForbidden
	case errors.Is(err, cache.ErrNotFound):
		return wire.CodeNotFound
	case errors.Is(err, cache.ErrBadPath):
		return wire.CodeBadPath
	case errors.Is(err, cache.ErrStale):
		return wire.CodeStale
	case errors.Is(err, cache.ErrTooLarge):
		return wire.CodeTooLarge
	case errors.Is(err, cache.ErrUnknownChunk):
		return wire.CodeUnknown
	case errors.Is(err, cache.ErrBadIndex):
		return wire.CodeBadRequest
	case errors.Is(err, cache.ErrMemoryBudget): // it may wrap a deadline: before that case
		return wire.CodeBusy
	case errors.Is(err, cache.ErrOrigin), errors.Is(err, context.DeadlineExceeded):
		return wire.CodeOrigin
	}
	return wire.CodeInternal
}
