package relay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/p2pcache/p2pcache/relay/wire"
)

// session is one connected peer. It composes the peer's roles, each a small
// struct with its own state and lock, in the file of its step of the
// request flow:
//   - sig (signaling.go): the WebSocket and the offer/answer;
//   - ch (datachannel.go): the data channel, its writer and watermarks;
//   - live (keepalive.go): when the peer was last heard from, its RTT;
//   - reqs (serve.go): the peer as a client: its requests in flight;
//   - up (pull.go): the peer as a source: the relay's pulls from it, what
//     it holds, its strikes.
//
// This file keeps the lifecycle: run, close, teardown, and the dispatch of
// the peer's frames to the roles.
//
// Its goroutines, each waited for by wg but the first:
//   - the caller of Accept: reads the WebSocket (run, readLoop);
//   - sig.out.run: the WebSocket's one writer (run waits for it);
//   - keepalive: pings, measures RTT, drops the idle, ends the session
//     when its token expires;
//   - once the data channel opens, readDC and ch.out.run;
//   - one per request in flight, at most Config.MaxRequests.
//
// The session ends (close) on the first of: WebSocket or data-channel error,
// ICE failure, idle timeout, a slow consumer, bye, a ban, relay Close or ctx
// end.
type session struct {
	r        *Relay
	id       string
	remote   string
	identity string    // what bans apply to
	expires  time.Time // when the peer's token expires; zero: never
	adm      *Admission
	log      *slog.Logger
	start    time.Time
	gone     chan struct{}  // closed when the session ends
	wg       sync.WaitGroup // the session's goroutines but run's own

	bytesSent atomic.Uint64 // frame bytes sent on either transport

	sig  signaling
	ch   dataChannel
	live liveness
	reqs requestServer
	up   uploadSource

	mu     sync.Mutex // guards the following
	cancel context.CancelCauseFunc
	closed bool
}

// transport tells which way a request came, and so which way it is answered.
type transport uint8

const (
	viaWS transport = iota
	viaDC
)

// admit counts n more session goroutines unless the session is closed.
// closed and wg change under one lock, so teardown's wg.Wait, which follows
// close, waits for every goroutine admitted.
func (s *session) admit(n int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Add(n)
	return true
}

func (s *session) isGone() bool {
	select {
	case <-s.gone:
		return true
	default:
		return false
	}
}

// close ends the session with cause; safe to call from any goroutine, any
// number of times, including pion callbacks: it does not block.
func (s *session) close(cause error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	s.log.Debug("session closing", "cause", cause)
	close(s.gone)
	if s.cancel != nil {
		s.cancel(cause)
	}
	s.sig.unblock()
}

// run runs the session on the caller's goroutine (Accept's).
func (s *session) run(ctx context.Context) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	s.mu.Lock()
	s.cancel = cancel
	if s.closed { // the relay closed between newSession and here
		cancel(ErrClosed)
	}
	s.mu.Unlock()

	var wsDone sync.WaitGroup
	wsDone.Go(func() {
		if err := s.sig.out.run(ctx); err != nil {
			s.close(fmt.Errorf("websocket write: %w", err))
		}
	})
	s.wg.Go(func() { s.keepalive(ctx) })
	s.log.Debug("peer connected")
	s.signal(wire.Signal{Type: wire.SignalHello, PeerID: s.id, ChunkSize: s.r.cache.ChunkSize(), MaxMessageSize: wire.MaxMessageSize})

	err := s.readLoop(ctx)
	s.close(err)
	s.sig.conn.Close() // unblocks the writer
	wsDone.Wait()      // after this nothing touches conn: the caller may release it

	cause := context.Cause(ctx)
	go s.teardown(cause)
	if errors.Is(cause, errBye) || errors.Is(cause, ErrClosed) {
		return nil
	}
	return cause
}

// teardown closes the WebRTC side, waits for every goroutine of the session
// and takes the peer out of the holder index; the relay owns it
// (Relay.Close waits).
func (s *session) teardown(cause error) {
	defer s.r.forget(s)
	if pc := s.sig.peerConnection(); pc != nil {
		if err := pc.Close(); err != nil {
			s.log.Debug("peer connection close", "err", err)
		}
	}
	s.wg.Wait()
	s.ch.buffered.release() // the peer connection is closed: SCTP holds nothing
	s.adm.end()
	s.r.holders.drop(s, s.up.forgetHeld())
	rtt := s.live.rtt.Get()
	s.log.Info("peer left", "cause", cause, "duration", time.Since(s.start).Round(time.Millisecond),
		"bytes_sent", s.bytesSent.Load(), "srtt", rtt.SRTT, "rtt_samples", rtt.Samples)
}

// handleFrame hands one frame from the peer to the role it is for. It runs
// on a reader goroutine and never blocks: requests get a goroutine of their
// own (serve.go), PINGs a PONG through the control queue (keepalive.go),
// answers go to the pull waiting for them (pull.go).
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
		s.onPing(out, &f)
	case wire.TypePong:
		s.onPong(&f)
	case wire.TypeCancel:
		s.reqs.cancel(reqKey{via, f.ID})
	case wire.TypeGetFile, wire.TypeGetManifest, wire.TypeGetChunk:
		s.startRequest(ctx, via, out, f)
	case wire.TypeChunk, wire.TypeError:
		s.up.onAnswer(via, &f)
	case wire.TypeHave:
		s.onHave(&f)
	case wire.TypeManifest:
		s.log.Debug("unexpected MANIFEST from a peer", "id", f.ID)
	}
}
