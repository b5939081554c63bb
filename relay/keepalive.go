package relay

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/p2pcache/p2pcache/relay/wire"
)

// maxPingsInFlight bounds the PINGs the relay remembers per peer: with one
// a PingInterval, a PONG later than this many intervals gives no sample.
const maxPingsInFlight = 8

// expireGrace is how long a session whose token expired waits for its
// token_expired message to be written before it closes.
const expireGrace = time.Second

// liveness is what the keepalive knows of the peer: when it was last heard
// from, and its round-trip time from PING/PONG.
//
// A round trip is measured from the relay's own record, never from what
// the peer says: each PING carries a random nonce, remembered with its send
// time; a PONG whose nonce is not remembered (forged, duplicated, too late)
// gives no sample, and one that is answers it once. So a peer can make its
// round trip look longer (by answering late), never shorter than it is.
type liveness struct {
	lastHeard atomic.Int64 // ns since the session's start
	rtt       wire.RTTEstimator

	mu    sync.Mutex // guards the following
	pings [maxPingsInFlight]pingSent
	next  int // the slot the next PING takes (the oldest)
}

// pingSent is one PING awaiting its PONG; sent is 0 for an empty slot.
type pingSent struct {
	nonce uint64
	sent  time.Duration // since the session's start
}

// record remembers a PING, forgetting the oldest one if the table is full.
func (l *liveness) record(nonce uint64, sent time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pings[l.next] = pingSent{nonce: nonce, sent: sent}
	l.next = (l.next + 1) % len(l.pings)
}

// answered returns when the PING with nonce was sent and forgets it; false
// if no PING in the table has it.
func (l *liveness) answered(nonce uint64) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, p := range l.pings {
		if p.sent != 0 && p.nonce == nonce {
			l.pings[i] = pingSent{}
			return p.sent, true
		}
	}
	return 0, false
}

// heard notes that the peer sent something, on either transport.
func (s *session) heard() { s.live.lastHeard.Store(int64(time.Since(s.start))) }

// keepalive pings the peer every PingInterval, over the data channel once it
// is open, drops a peer heard nothing from for IdleTimeout, and ends the
// session when the peer's token expires. Each tick also gives the budget
// back what the peer has acknowledged while nothing was being written, and
// drops a peer that has acknowledged nothing for PressureTimeout while
// others wait for memory.
func (s *session) keepalive(ctx context.Context) {
	t := time.NewTicker(s.r.cfg.PingInterval)
	defer t.Stop()
	var expiry <-chan time.Time
	if !s.expires.IsZero() {
		e := time.NewTimer(time.Until(s.expires))
		defer e.Stop()
		expiry = e.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-expiry:
			s.expire(ctx)
			return
		case <-t.C:
		}
		idle := time.Since(s.start) - time.Duration(s.live.lastHeard.Load())
		if idle > s.r.cfg.IdleTimeout {
			s.close(fmt.Errorf("%w: idle for %v", ErrTimeout, idle.Round(time.Millisecond)))
			return
		}
		// A peer that stopped reading (nothing acknowledged, its receive
		// window shut) gives up the memory it holds when others wait for
		// some: it is dropped as a slow consumer. One that is merely slow
		// (a loaded machine, a long round trip) keeps its window open.
		now := time.Now()
		if stalled := s.ch.sync(now); stalled >= s.r.cfg.PressureTimeout && s.r.memoryWanted(now) && s.windowShut() {
			s.r.stats.slowConsumers.Add(1)
			s.close(fmt.Errorf("%w: nothing delivered for %v, receive window shut, while others wait for memory", ErrSlowConsumer, stalled.Round(time.Millisecond)))
			return
		}
		s.ping(s.outFor(viaDC))
	}
}

// expire ends a session whose token expired: it tells the peer (a
// signaling error, code token_expired, so the SDK reconnects with a fresh
// token) and closes once that is written, or after expireGrace.
func (s *session) expire(ctx context.Context) {
	s.r.stats.expired.Add(1)
	written := make(chan struct{})
	m := msg{typ: wire.TextMessage, written: written,
		b: wire.Signal{Type: wire.SignalError, Code: codeTokenExpired, Message: "the token has expired; reconnect with a fresh one"}.Marshal()}
	if s.sig.out.trySend(m) {
		t := time.NewTimer(expireGrace)
		defer t.Stop()
		select {
		case <-written:
		case <-t.C:
		case <-ctx.Done():
		}
	}
	s.close(fmt.Errorf("%w at %s", ErrTokenExpired, s.expires.Format(time.RFC3339)))
}

// ping sends a PING carrying a fresh random nonce, remembered with its send
// time; the PONG's echo of it gives the RTT.
func (s *session) ping(out *outbox) {
	nonce := rand.Uint64()
	var payload [wire.PingLen]byte
	binary.BigEndian.PutUint64(payload[:], nonce)
	m, _ := controlFrame(&wire.Frame{Type: wire.TypePing, Data: payload[:]})
	s.live.record(nonce, max(time.Since(s.start), 1))
	if !out.trySend(m) {
		s.r.stats.pingDrops.Add(1)
	}
}

// onPing answers the peer's PING through the control queue; a full queue
// drops the PONG (counted), not the peer.
func (s *session) onPing(out *outbox, f *wire.Frame) {
	m, _ := controlFrame(&wire.Frame{Type: wire.TypePong, ID: f.ID, Data: f.Data})
	if !out.trySend(m) {
		s.r.stats.pongDrops.Add(1)
	}
}

// onPong takes an RTT sample from the answer to one of our PINGs; a nonce
// not awaited is ignored and counted.
func (s *session) onPong(f *wire.Frame) {
	sent, ok := s.live.answered(binary.BigEndian.Uint64(f.Data))
	if !ok {
		s.r.stats.badPongs.Add(1)
		return
	}
	rtt := time.Since(s.start) - sent
	s.live.rtt.Add(rtt)
	s.r.rttHist.Observe(rtt.Seconds())
}

// windowShut reports whether the peer's SCTP receive window, as it last
// advertised it less what is in flight to it, has no room for a frame: it
// has stopped reading its data channel.
func (s *session) windowShut() bool {
	pc := s.sig.peerConnection()
	if pc == nil {
		return false
	}
	sctp := pc.SCTP()
	return sctp != nil && sctp.Stats().ReceiverWindow < wire.MaxMessageSize
}
