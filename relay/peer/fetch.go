package peer

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/p2pcache/p2pcache/cache"
	"github.com/p2pcache/p2pcache/relay/wire"
)

// File is a fetched, verified file.
type File struct {
	Manifest *wire.Manifest
	Data     []byte
	// Sources says, for each chunk, where the relay got it (its CHUNK
	// frames' source): its cache, the origin, another peer or another relay
	// of its cluster. A relay that does not say sends SourceUnspecified.
	Sources []wire.ChunkSource
	// FirstByte is the time from the request to the first chunk byte.
	FirstByte time.Duration
	// Elapsed is the time from the request to verified bytes.
	Elapsed time.Duration
}

// Fetch fetches path with one GET_FILE request: the manifest, then every
// chunk. Each chunk is verified against its hash as it completes and the
// whole file against the manifest's; nothing unverified is returned.
func (p *Peer) Fetch(ctx context.Context, path string) ([]byte, error) {
	f, err := p.FetchFile(ctx, path)
	if err != nil {
		return nil, err
	}
	return f.Data, nil
}

// FetchFile is Fetch with the manifest and timings.
func (p *Peer) FetchFile(ctx context.Context, path string) (*File, error) {
	clean, err := wire.CleanPath(path)
	if err != nil {
		return nil, err
	}
	a := &assembly{path: clean, maxSize: p.opts.MaxFileSize, start: time.Now()}
	if err := p.do(ctx, &wire.Frame{Type: wire.TypeGetFile, Path: clean}, a); err != nil {
		return nil, fmt.Errorf("fetch %s: %w", clean, err)
	}
	p.hold(a.m, a.data)
	p.countSources(a.sources)
	return &File{Manifest: a.m, Data: a.data, Sources: a.sources, FirstByte: a.firstByte, Elapsed: time.Since(a.start)}, nil
}

// FetchManifest fetches path's manifest.
func (p *Peer) FetchManifest(ctx context.Context, path string) (*wire.Manifest, error) {
	clean, err := wire.CleanPath(path)
	if err != nil {
		return nil, err
	}
	a := &assembly{path: clean, maxSize: p.opts.MaxFileSize, manifestOnly: true}
	if err := p.do(ctx, &wire.Frame{Type: wire.TypeGetManifest, Path: clean}, a); err != nil {
		return nil, fmt.Errorf("manifest %s: %w", clean, err)
	}
	return a.m, nil
}

// FetchChunk fetches chunk i of m with GET_CHUNK and verifies it. The
// request names the chunk by m.Path, i and its hash; with m.Path empty, by
// its hash alone (the relay finds it in any manifest it holds).
func (p *Peer) FetchChunk(ctx context.Context, m *wire.Manifest, i int) ([]byte, error) {
	if i < 0 || i >= len(m.Chunks) {
		return nil, fmt.Errorf("%w: %d of %d", cache.ErrBadIndex, i, len(m.Chunks))
	}
	a := &assembly{m: m, single: true, one: i, data: make([]byte, m.ChunkLen(i)), got: make([]int, len(m.Chunks)),
		sources: make([]wire.ChunkSource, len(m.Chunks)), start: time.Now()}
	a.remaining = 1
	f := &wire.Frame{Type: wire.TypeGetChunk, Path: m.Path, Index: uint32(i), Hash: m.Chunks[i]}
	if err := p.do(ctx, f, a); err != nil {
		return nil, fmt.Errorf("chunk %d of %s: %w", i, m.Path, err)
	}
	p.countSources(a.sources[i : i+1])
	return a.data, nil
}

// countSources adds a request's verified chunks to ChunksBySource.
func (p *Peer) countSources(srcs []wire.ChunkSource) {
	for _, s := range srcs {
		if !s.Known() {
			s = wire.SourceUnspecified
		}
		p.bySource[s].Add(1)
	}
}

// ChunksBySource counts the verified chunks the relay has sent this peer
// (FetchFile, Fetch and FetchChunk) by where it said it got them; sources
// this package does not know (5-7, reserved) count as SourceUnspecified.
// Sources with no chunk are left out.
func (p *Peer) ChunksBySource() map[wire.ChunkSource]uint64 {
	out := make(map[wire.ChunkSource]uint64)
	for s := range p.bySource {
		if n := p.bySource[s].Load(); n > 0 {
			out[wire.ChunkSource(s)] = n
		}
	}
	return out
}

// call is a request in flight. Its handler runs on the reader goroutine.
type call struct {
	h    handler
	once sync.Once
	err  error
	done chan struct{}
}

func (c *call) finish(err error) {
	c.once.Do(func() {
		c.err = err
		close(c.done)
	})
}

// handler consumes a request's answer frames; it returns done when the
// answer is complete, or an error that ends the request.
type handler interface {
	onFrame(f *wire.Frame) (done bool, err error)
}

// do sends req and waits until h has its whole answer.
func (p *Peer) do(ctx context.Context, req *wire.Frame, h handler) error {
	c := &call{h: h, done: make(chan struct{})}
	p.mu.Lock()
	if p.err != nil {
		err := p.err
		p.mu.Unlock()
		return err
	}
	p.nextID++
	id := p.nextID
	p.pending[id] = c
	p.mu.Unlock()
	req.ID = id
	if err := p.send(req); err != nil {
		p.forget(id)
		return err
	}
	select {
	case <-c.done:
		return c.err
	case <-ctx.Done():
		if p.forget(id) {
			p.send(&wire.Frame{Type: wire.TypeCancel, ID: id})
		}
		return ctx.Err()
	}
}

// forget drops a pending call; false if it was already gone.
func (p *Peer) forget(id uint32) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, ok := p.pending[id]
	delete(p.pending, id)
	return ok
}

func (p *Peer) send(f *wire.Frame) error {
	b, err := wire.AppendFrame(make([]byte, 0, 64), f)
	if err != nil {
		return err
	}
	p.mu.Lock()
	raw := p.raw
	p.mu.Unlock()
	if raw == nil {
		return fmt.Errorf("%w: no data channel", ErrClosed)
	}
	p.dcMu.Lock()
	defer p.dcMu.Unlock()
	if _, err := raw.WriteDataChannel(b, false); err != nil {
		return fmt.Errorf("%w: data channel write: %w", ErrClosed, err)
	}
	return nil
}

func (p *Peer) readDC() {
	buf := make([]byte, wire.MaxMessageSize)
	for {
		select {
		case <-p.stalled:
			<-p.done
			p.fail(ErrClosed)
			return
		default:
		}
		n, isString, err := p.raw.ReadDataChannel(buf)
		if err != nil {
			if errors.Is(err, io.EOF) || isClosedErr(err) {
				err = ErrClosed
			}
			p.fail(fmt.Errorf("%w: data channel: %w", ErrClosed, err))
			return
		}
		p.bytesIn.Add(uint64(n))
		if isString {
			continue
		}
		f, err := wire.DecodeFrame(buf[:n])
		if err != nil {
			p.log.Debug("bad frame from relay", "err", err)
			continue
		}
		switch f.Type {
		case wire.TypePing:
			p.pong(f, false)
		case wire.TypePong:
			sent := time.Duration(binary.BigEndian.Uint64(f.Data))
			if now := time.Since(p.start); sent > 0 && sent <= now {
				p.rtt.Add(now - sent)
			}
		case wire.TypeGetChunk:
			p.serveChunk(f)
		case wire.TypeCancel:
			// Answers are small and quick; nothing to stop.
		case wire.TypeManifest, wire.TypeChunk, wire.TypeError:
			p.mu.Lock()
			c := p.pending[f.ID]
			p.mu.Unlock()
			if c == nil {
				continue // cancelled, or already failed
			}
			done, err := c.h.onFrame(&f)
			if done || err != nil {
				p.forget(f.ID)
				c.finish(err)
			}
		}
	}
}

func (p *Peer) pong(ping wire.Frame, viaWS bool) {
	at := time.Now()
	data := append([]byte(nil), ping.Data...)
	pong := func() *wire.Frame {
		return &wire.Frame{Type: wire.TypePong, ID: ping.ID, Data: p.hooks.pongPayload(data, time.Since(at))}
	}
	if !viaWS {
		if d := p.opts.ServeDelay; d > 0 {
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				t := time.NewTimer(d)
				defer t.Stop()
				select {
				case <-t.C:
					p.send(pong())
				case <-p.done:
				}
			}()
			return
		}
		p.send(pong())
		return
	}
	p.sendWS(pong())
}

// sendWS sends f over the signaling WebSocket (the WebSocket rung).
func (p *Peer) sendWS(f *wire.Frame) error {
	b, err := wire.AppendFrame(nil, f)
	if err != nil {
		return err
	}
	p.wsMu.Lock()
	defer p.wsMu.Unlock()
	p.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if err := p.ws.WriteMessage(wire.BinaryMessage, b); err != nil {
		return fmt.Errorf("%w: websocket write: %w", ErrClosed, err)
	}
	return nil
}

func (p *Peer) pinger() {
	t := time.NewTicker(p.opts.PingInterval)
	defer t.Stop()
	for {
		var payload [wire.PingLen]byte
		binary.BigEndian.PutUint64(payload[:], uint64(time.Since(p.start)))
		if err := p.send(&wire.Frame{Type: wire.TypePing, Data: payload[:]}); err != nil {
			return
		}
		select {
		case <-p.done:
			return
		case <-t.C:
		}
	}
}

// assembly collects a MANIFEST and CHUNK fragments into a verified file (or,
// with one set, a single verified chunk).
type assembly struct {
	path         string
	maxSize      int64
	manifestOnly bool
	single       bool // FetchChunk: the assembly holds chunk one only
	one          int
	start        time.Time

	mbuf      []byte
	mgot      int
	m         *wire.Manifest
	data      []byte
	got       []int              // bytes received per chunk
	sources   []wire.ChunkSource // per chunk, as its first fragment said
	remaining int                // chunks not yet verified
	firstByte time.Duration
}

func (a *assembly) onFrame(f *wire.Frame) (bool, error) {
	switch f.Type {
	case wire.TypeError:
		return true, &wire.RemoteError{Code: f.Code, Message: f.Message}
	case wire.TypeManifest:
		return a.onManifest(f)
	case wire.TypeChunk:
		return a.onChunk(f)
	}
	return false, nil
}

func (a *assembly) onManifest(f *wire.Frame) (bool, error) {
	if a.m != nil {
		return true, fmt.Errorf("%w: a second manifest", wire.ErrBadFrame)
	}
	if a.mbuf == nil {
		a.mbuf = make([]byte, f.Total)
	}
	if int(f.Total) != len(a.mbuf) {
		return true, fmt.Errorf("%w: manifest length changed from %d to %d", wire.ErrBadFrame, len(a.mbuf), f.Total)
	}
	a.mgot += copy(a.mbuf[f.Offset:], f.Data)
	if a.mgot < len(a.mbuf) {
		return false, nil
	}
	m, err := wire.ParseManifest(a.mbuf)
	if err != nil {
		return true, err
	}
	if m.Path != a.path {
		return true, fmt.Errorf("%w: manifest is for %q, asked for %q", wire.ErrBadFrame, m.Path, a.path)
	}
	if m.Size > a.maxSize {
		return true, fmt.Errorf("%w: %d bytes, over %d", cache.ErrTooLarge, m.Size, a.maxSize)
	}
	a.m, a.mbuf = m, nil
	if a.manifestOnly {
		return true, nil
	}
	a.data = make([]byte, m.Size)
	a.got = make([]int, len(m.Chunks))
	a.sources = make([]wire.ChunkSource, len(m.Chunks))
	a.remaining = len(m.Chunks)
	if a.remaining == 0 {
		return true, a.verifyWhole()
	}
	return false, nil
}

func (a *assembly) onChunk(f *wire.Frame) (bool, error) {
	if a.m == nil {
		return true, fmt.Errorf("%w: chunk before manifest", wire.ErrBadFrame)
	}
	i := int(f.Index)
	if i >= len(a.m.Chunks) || a.data == nil {
		return true, fmt.Errorf("%w: chunk %d of %d", wire.ErrBadFrame, i, len(a.m.Chunks))
	}
	want := a.m.ChunkLen(i)
	if int(f.Total) != want {
		return true, fmt.Errorf("%w: chunk %d is %d bytes, manifest says %d", wire.ErrVerify, i, f.Total, want)
	}
	var dst []byte
	if a.single {
		if i != a.one {
			return true, fmt.Errorf("%w: got chunk %d, asked for %d", wire.ErrBadFrame, i, a.one)
		}
		dst = a.data
	} else {
		off := a.m.ChunkOffset(i)
		dst = a.data[off : off+int64(want)]
	}
	if a.firstByte == 0 {
		a.firstByte = time.Since(a.start)
	}
	if a.got[i] == 0 {
		a.sources[i] = f.Source // the relay sends one source for all of a chunk's fragments
	}
	a.got[i] += copy(dst[f.Offset:], f.Data)
	if a.got[i] < want {
		return false, nil
	}
	if a.got[i] > want {
		return true, fmt.Errorf("%w: chunk %d: %d bytes for %d", wire.ErrVerify, i, a.got[i], want)
	}
	if wire.Sum(dst) != a.m.Chunks[i] {
		return true, fmt.Errorf("%w: chunk %d: sha-256 mismatch", wire.ErrVerify, i)
	}
	if a.remaining--; a.remaining > 0 {
		return false, nil
	}
	if a.single {
		return true, nil
	}
	return true, a.verifyWhole()
}

func (a *assembly) verifyWhole() error {
	if sha256.Sum256(a.data) != a.m.SHA256 {
		return fmt.Errorf("%w: whole-file sha-256 mismatch", wire.ErrVerify)
	}
	return nil
}
