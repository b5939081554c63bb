package peer

import (
	"bytes"
	"time"

	"github.com/p2pcache/p2pcache/relay/wire"
)

// maxServing bounds the relay's requests this peer answers at once; more
// are answered ERROR busy.
const maxServing = 16

// hold keeps a verified file's chunks and tells the relay which it holds.
func (p *Peer) hold(m *wire.Manifest, data []byte) {
	if p.held == nil {
		return
	}
	for i, h := range m.Chunks {
		if _, ok := p.held.Get(h); ok { // held already: only its recency moves
			continue
		}
		// A copy per chunk (the caller owns data): an evicted chunk frees
		// its own bytes, not a share of a file the rest still pins.
		off := m.ChunkOffset(i)
		p.held.Add(h, bytes.Clone(data[off:off+int64(m.ChunkLen(i))]))
	}
	p.announce(m)
}

// announce sends a HAVE frame for m: one bit per chunk still held.
func (p *Peer) announce(m *wire.Manifest) {
	bitmap := make([]byte, (len(m.Chunks)+7)/8)
	for i, h := range m.Chunks {
		if p.held.Contains(h) {
			bitmap[i/8] |= 1 << (i % 8)
		}
	}
	if err := p.send(&wire.Frame{Type: wire.TypeHave, Hash: m.SHA256, Count: uint32(len(m.Chunks)), Bitmap: bitmap, Path: m.Path}); err != nil {
		p.log.Debug("HAVE not sent", "err", err)
	}
}

// serveChunk answers the relay's GET_CHUNK from the held chunks. It runs on
// the reader goroutine, so anything slow (a ServeDelay) goes to a goroutine
// of its own, bounded by maxServing.
func (p *Peer) serveChunk(f wire.Frame) {
	if p.hooks.stallServe.Load() {
		return
	}
	var b []byte
	ok := false
	if p.held != nil {
		b, ok = p.held.Get(f.Hash)
	}
	if !ok {
		p.send(&wire.Frame{Type: wire.TypeError, ID: f.ID, Code: wire.CodeUnknown, Message: "not held"})
		return
	}
	if p.opts.Tamper != nil {
		b = p.opts.Tamper(int(f.Index), append([]byte(nil), b...))
	}
	select {
	case p.serving <- struct{}{}:
	default:
		p.send(&wire.Frame{Type: wire.TypeError, ID: f.ID, Code: wire.CodeBusy, Message: "too many requests"})
		return
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		defer func() { <-p.serving }()
		if d := p.opts.ServeDelay; d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-p.done:
				t.Stop()
				return
			}
		}
		if p.sendChunk(f.ID, f.Index, b) {
			p.served.Add(1)
			p.hooks.served(f.ID, f.Index)
		}
	}()
}

// Served counts the chunks this peer sent to the relay.
func (p *Peer) Served() uint64 { return p.served.Load() }

// sendChunk sends b as CHUNK frames; a Tamper hook may make b any length, so
// the total is whatever b is (up to what a frame can say).
func (p *Peer) sendChunk(id, index uint32, b []byte) bool {
	if len(b) > wire.MaxChunkSize {
		b = b[:wire.MaxChunkSize] // the most a CHUNK frame can announce
	}
	for off := 0; ; {
		end := min(off+wire.MaxChunkData, len(b))
		if err := p.send(&wire.Frame{Type: wire.TypeChunk, ID: id, Index: index, Total: uint32(len(b)), Offset: uint32(off), Data: b[off:end]}); err != nil {
			return false
		}
		if off = end; off >= len(b) {
			return true
		}
	}
}
