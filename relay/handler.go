package relay

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/p2pcache/p2pcache/cache"
	"github.com/p2pcache/p2pcache/relay/wire"
)

// handleFrame acts on one frame from the peer. It runs on a reader goroutine
// and never blocks: requests get a goroutine of their own (a token from
// reqSem, else ERROR busy), PINGs a PONG through the control queue.
func (s *session) handleFrame(ctx context.Context, via transport, f wire.Frame, decodeErr error) {
	out := s.outFor(via)
	if decodeErr != nil {
		s.r.stats.badFrames.Add(1)
		code := wire.CodeBadRequest
		if errors.Is(decodeErr, wire.ErrUnknownType) || errors.Is(decodeErr, wire.ErrVersion) {
			code = wire.CodeUnsupported
		}
		s.log.Debug("bad frame", "err", decodeErr)
		s.sendError(out, f.ID, code, decodeErr.Error())
		return
	}
	switch f.Type {
	case wire.TypePing:
		b := getBuf()
		*b, _ = wire.AppendFrame(*b, &wire.Frame{Type: wire.TypePong, ID: f.ID, Data: f.Data})
		if !out.trySend(msg{typ: wire.BinaryMessage, b: *b, pooled: b}) {
			s.r.stats.pongDrops.Add(1)
		}
	case wire.TypePong:
		sent := time.Duration(binary.BigEndian.Uint64(f.Data))
		if now := time.Since(s.start); sent > 0 && sent <= now {
			s.rtt.Add(now - sent)
			s.r.rttHist.Observe((now - sent).Seconds())
		}
	case wire.TypeCancel:
		s.mu.Lock()
		cancel := s.requests[reqKey{via, f.ID}]
		s.mu.Unlock()
		if cancel != nil {
			cancel()
		}
	case wire.TypeGetFile, wire.TypeGetManifest, wire.TypeGetChunk:
		s.startRequest(ctx, via, out, f)
	case wire.TypeChunk, wire.TypeError:
		s.onAnswer(&f)
	case wire.TypeHave:
		s.onHave(&f)
	case wire.TypeManifest:
		s.log.Debug("unexpected MANIFEST from a peer", "id", f.ID)
	}
}

// onHave records which chunks of a file version the peer holds. Only a
// version the relay knows (its manifest is held) is indexed: chunks are
// named by hash, so the relay only needs to know which hashes those are.
func (s *session) onHave(f *wire.Frame) {
	m := s.r.cache.Cached(f.Path)
	if m == nil || m.SHA256 != f.Hash || int(f.Count) != len(m.Chunks) {
		s.log.Debug("HAVE for an unknown file version ignored", "path", f.Path)
		return
	}
	s.mu.Lock()
	had, known := s.files[f.Hash]
	full := !known && len(s.files) >= maxFilesPerPeer
	closed := s.closed
	s.mu.Unlock()
	if full || closed {
		return
	}
	now := s.r.holders.set(s, m.Chunks, f.Bitmap, had)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.files == nil { // torn down meanwhile: teardown already dropped the rest
		s.r.holders.drop(s, []map[wire.Hash]struct{}{now})
		return
	}
	if len(now) == 0 {
		delete(s.files, f.Hash)
	} else {
		s.files[f.Hash] = now
	}
}

func (s *session) startRequest(ctx context.Context, via transport, out *outbox, f wire.Frame) {
	if !s.reqRate.Allow() {
		s.r.stats.rateLimited.Add(1)
		s.sendError(out, f.ID, wire.CodeBusy, fmt.Sprintf("over %g requests per second", float64(s.reqRate.Limit())))
		return
	}
	select {
	case s.reqSem <- struct{}{}:
	default:
		s.r.stats.busy.Add(1)
		s.sendError(out, f.ID, wire.CodeBusy, fmt.Sprintf("more than %d requests in flight", cap(s.reqSem)))
		return
	}
	key := reqKey{via, f.ID}
	rctx, cancel := context.WithCancel(ctx)
	s.mu.Lock()
	if _, dup := s.requests[key]; dup || s.closed {
		s.mu.Unlock()
		cancel()
		<-s.reqSem
		if dup {
			s.sendError(out, f.ID, wire.CodeBadRequest, fmt.Sprintf("request id %d is already in flight", f.ID))
		}
		return
	}
	s.requests[key] = cancel
	s.wg.Add(1)
	s.mu.Unlock()
	s.lastReq.Store(int64(time.Since(s.start)))
	go func() {
		defer s.wg.Done()
		defer func() {
			s.mu.Lock()
			delete(s.requests, key)
			s.mu.Unlock()
			s.lastReq.Store(int64(time.Since(s.start)))
			cancel()
			<-s.reqSem
		}()
		err := s.serveRequest(rctx, out, &f)
		if err == nil {
			return
		}
		if ctx.Err() != nil { // the session is ending: nobody to tell
			return
		}
		code := errorCode(err)
		if code != wire.CodeCancelled {
			s.r.stats.requestErrors.Add(1)
			s.log.Debug("request failed", "type", f.Type, "path", f.Path, "err", err)
		}
		s.sendError(out, f.ID, code, err.Error())
	}()
}

func (s *session) serveRequest(ctx context.Context, out *outbox, f *wire.Frame) error {
	c := s.r.cache
	if s.allow != nil {
		p, err := wire.CleanPath(f.Path)
		if f.Path == "" {
			return fmt.Errorf("%w: this peer's token needs a path with every request", errForbidden)
		}
		if err != nil {
			return err
		}
		if !s.allow(p) {
			return fmt.Errorf("%w: the token does not cover %s", errForbidden, p)
		}
	}
	ctx = context.WithValue(ctx, requesterKey{}, s)
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
			b, src, err := c.Chunk(ctx, m, i)
			if err != nil {
				return err
			}
			if err := s.sendChunk(ctx, out, f.ID, m.Path, uint32(i), b); err != nil {
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
		if err := s.sendChunk(ctx, out, f.ID, f.Path, f.Index, b); err != nil {
			return err
		}
		s.r.stats.countChunk(src)
		return nil
	}
	return fmt.Errorf("%w: %s is not a request", wire.ErrBadFrame, f.Type)
}

// lookupChunk finds a GET_CHUNK's bytes. With a path, the index must name
// the hash in the path's current manifest; a chunk of an older version is
// still served if it is cached (its hash proves it), else the answer is stale.
func (s *session) lookupChunk(ctx context.Context, f *wire.Frame) ([]byte, cache.Source, error) {
	c := s.r.cache
	if f.Path == "" {
		return c.ChunkByHash(ctx, f.Hash)
	}
	m, err := c.Manifest(ctx, f.Path)
	if err != nil {
		return nil, 0, err
	}
	if int64(f.Index) >= int64(len(m.Chunks)) {
		if b, ok := c.Peek(f.Hash); ok {
			return b, cache.SourceCache, nil
		}
		return nil, 0, fmt.Errorf("%w: %s has %d chunks, asked for %d", cache.ErrStale, m.Path, len(m.Chunks), f.Index)
	}
	if m.Chunks[f.Index] != f.Hash {
		if b, ok := c.Peek(f.Hash); ok {
			return b, cache.SourceCache, nil
		}
		return nil, 0, fmt.Errorf("%w: %s chunk %d has another hash now", cache.ErrStale, m.Path, f.Index)
	}
	return c.Chunk(ctx, m, int(f.Index))
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
		b := getBuf()
		*b, _ = wire.AppendFrame(*b, &wire.Frame{Type: wire.TypeManifest, ID: id, Total: uint32(len(js)), Offset: uint32(off), Data: js[off:end]})
		if err := out.send(ctx, msg{typ: wire.BinaryMessage, b: *b, pooled: b}); err != nil {
			return err
		}
		if end == len(js) {
			break
		}
	}
	return nil
}

// sendChunk sends chunk bytes in CHUNK fragments of at most wire.MaxChunkData.
func (s *session) sendChunk(ctx context.Context, out *outbox, id uint32, path string, index uint32, data []byte) error {
	if s.r.cfg.Corrupt != nil {
		data = s.r.cfg.Corrupt(path, index, data)
	}
	off := 0
	for {
		end := min(off+wire.MaxChunkData, len(data))
		b := getBuf()
		*b = wire.AppendChunkHeader(*b, id, index, uint32(len(data)), uint32(off))
		*b = append(*b, data[off:end]...)
		if err := out.send(ctx, msg{typ: wire.BinaryMessage, b: *b, pooled: b}); err != nil {
			return err
		}
		if off = end; off >= len(data) {
			return nil
		}
	}
}

func (s *session) sendError(out *outbox, id uint32, code wire.ErrorCode, message string) {
	if len(message) > wire.MaxErrorMessageLen {
		message = message[:wire.MaxErrorMessageLen]
	}
	b := getBuf()
	var err error
	*b, err = wire.AppendFrame(*b, &wire.Frame{Type: wire.TypeError, ID: id, Code: code, Message: message})
	if err != nil { // a message cut inside a UTF-8 sequence
		*b, _ = wire.AppendFrame((*b)[:0], &wire.Frame{Type: wire.TypeError, ID: id, Code: code})
	}
	if !out.trySend(msg{typ: wire.BinaryMessage, b: *b, pooled: b}) {
		s.r.stats.slowConsumers.Add(1)
		s.close(fmt.Errorf("%w: control queue full", ErrSlowConsumer))
	}
}

var errForbidden = errors.New("forbidden")

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
	case errors.Is(err, cache.ErrOrigin), errors.Is(err, context.DeadlineExceeded):
		return wire.CodeOrigin
	}
	return wire.CodeInternal
}
