package peer

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/p2pcache/p2pcache/relay/wire"
)

// testHooks are the misbehaviours tests of the relay give a peer. All are
// off (nil, false) unless a *ForTest method set them.
type testHooks struct {
	forgePong  atomic.Pointer[func(payload []byte, held time.Duration) []byte]
	afterServe atomic.Pointer[func(id, index uint32)]
	stallServe atomic.Bool
}

// forTest panics outside a test binary: the hooks make a peer lie.
func forTest(name string) {
	if !testing.Testing() {
		panic("peer: " + name + " called outside a test")
	}
}

// StopReadingForTest makes the peer a stuck consumer: it stops reading the
// data channel (its requests stall, the relay's sends back up) but keeps
// its connection and pings. Tests of the relay's slow-consumer policy use
// it; it panics outside a test binary. Close still releases everything.
func (p *Peer) StopReadingForTest() {
	forTest("StopReadingForTest")
	p.stallOnce.Do(func() { close(p.stalled) })
}

// ForgePongsForTest makes the peer answer the relay's PINGs with fn's
// rewrite of their payload (to claim a round trip it did not have), fn
// being told how long the peer held the PING before its PONG goes out; nil
// stops forging. It panics outside a test binary.
func (p *Peer) ForgePongsForTest(fn func(payload []byte, held time.Duration) []byte) {
	forTest("ForgePongsForTest")
	if fn == nil {
		p.hooks.forgePong.Store(nil)
		return
	}
	p.hooks.forgePong.Store(&fn)
}

// StallServingForTest makes the peer leave the relay's GET_CHUNK requests
// unanswered while it goes on answering PINGs at once: a holder that looks
// fast and times out. It panics outside a test binary.
func (p *Peer) StallServingForTest() {
	forTest("StallServingForTest")
	p.hooks.stallServe.Store(true)
}

// AfterServeForTest calls fn after the peer has sent each chunk it serves
// the relay, with the request's id and the chunk's index; nil removes it.
// It panics outside a test binary.
func (p *Peer) AfterServeForTest(fn func(id, index uint32)) {
	forTest("AfterServeForTest")
	if fn == nil {
		p.hooks.afterServe.Store(nil)
		return
	}
	p.hooks.afterServe.Store(&fn)
}

// SendFrameForTest sends f as it is, over the data channel or, with viaWS,
// over the signaling WebSocket (as a frame of the WebSocket rung). It
// panics outside a test binary.
func (p *Peer) SendFrameForTest(f *wire.Frame, viaWS bool) error {
	forTest("SendFrameForTest")
	if !viaWS {
		return p.send(f)
	}
	return p.sendWS(f)
}

// pongPayload is the PONG payload answering a PING's: the same bytes,
// unless a test forges them.
// held is how long the PING waited for its answer.
func (h *testHooks) pongPayload(ping []byte, held time.Duration) []byte {
	b := append([]byte(nil), ping...)
	if fn := h.forgePong.Load(); fn != nil {
		b = (*fn)(b, held)
	}
	return b
}

// served runs the AfterServeForTest hook, if set.
func (h *testHooks) served(id, index uint32) {
	if fn := h.afterServe.Load(); fn != nil {
		(*fn)(id, index)
	}
}
