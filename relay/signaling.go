package relay

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/p2pcache/p2pcache/cache"
	"github.com/p2pcache/p2pcache/relay/wire"
)

// maxCandidates bounds the ICE candidates one peer may send; the relay only
// needs none of them (it is reached, it does not reach out), so a few
// suffice.
const maxCandidates = 64

// maxBadSignals is how many malformed signaling messages a peer may send
// before it is dropped.
const maxBadSignals = 8

// signaling is the session's WebSocket side: the connection (read by the
// Accept goroutine in readLoop, written by out's one writer), and the
// offer/answer that sets up the peer connection. Binary messages on it are
// wire frames (the WebSocket rung) and go to handleFrame like the data
// channel's.
type signaling struct {
	conn       Conn
	out        *outbox // the WebSocket's send queue
	badSignals int     // malformed messages so far; only the read loop touches it
	candidates int     // candidate messages so far; only the read loop touches it

	mu sync.Mutex             // guards the following
	pc *webrtc.PeerConnection // set by answer; closed by teardown
}

func (g *signaling) init(conn Conn, queue int, budget *cache.Budget, write func(msg) error) {
	g.conn = conn
	lim := wsQueue
	lim.ctrlMsgs = queue
	g.out = newOutbox(lim, budget, write)
}

func (g *signaling) peerConnection() *webrtc.PeerConnection {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.pc
}

// unblock ends the read loop. Close alone may not: a WebSocket hijacked from
// fasthttp is only closed when its handler returns.
func (g *signaling) unblock() {
	g.conn.SetReadDeadline(time.Unix(1, 0))
	g.conn.Close()
}

// readLoop reads the WebSocket until it fails, the peer says bye or sends
// too much junk; it returns why.
func (s *session) readLoop(ctx context.Context) error {
	for {
		typ, b, err := s.sig.conn.ReadMessage()
		if err != nil {
			if c := context.Cause(ctx); c != nil {
				return c
			}
			return fmt.Errorf("websocket read: %w", err)
		}
		s.heard()
		switch typ {
		case wire.TextMessage:
			sig, err := wire.ParseSignal(b)
			if err != nil {
				s.r.stats.badSignals.Add(1)
				s.signal(wire.Signal{Type: wire.SignalError, Code: "bad_message", Message: err.Error()})
				if s.sig.badSignals++; s.sig.badSignals > maxBadSignals {
					return fmt.Errorf("%w: too many bad messages", wire.ErrBadSignal)
				}
				continue
			}
			if err := s.handleSignal(ctx, sig); err != nil {
				return err
			}
		case wire.BinaryMessage:
			f, err := wire.DecodeFrame(b)
			s.handleFrame(ctx, viaWS, f, err)
		}
	}
}

func (s *session) handleSignal(ctx context.Context, sig *wire.Signal) error {
	switch sig.Type {
	case wire.SignalOffer:
		if s.sig.peerConnection() != nil {
			s.badSignal("one offer per connection; renegotiation is not supported")
			return nil
		}
		if sig.Serve != nil && !*sig.Serve {
			s.up.serves.Store(false)
		}
		sdp, err := s.answer(ctx, sig.SDP)
		if err != nil {
			// The WebSocket stays up: the peer can use it as its fallback.
			s.log.Info("offer refused", "err", err)
			s.signal(wire.Signal{Type: wire.SignalError, Code: "webrtc_failed", Message: err.Error()})
			return nil
		}
		s.signal(wire.Signal{Type: wire.SignalAnswer, SDP: sdp})
	case wire.SignalCandidate:
		s.onCandidate(sig.Candidate)
	case wire.SignalBye:
		return errBye
	default:
		s.badSignal(fmt.Sprintf("%q is not a message a peer sends", sig.Type))
	}
	return nil
}

// badSignal counts a signaling message refused and tells the peer why.
func (s *session) badSignal(why string) {
	s.r.stats.badSignals.Add(1)
	s.signal(wire.Signal{Type: wire.SignalError, Code: "bad_message", Message: why})
}

// onCandidate adds a trickled remote candidate (the relay needs none, but a
// peer may send them), up to maxCandidates.
func (s *session) onCandidate(c *wire.Candidate) {
	s.sig.candidates++
	n := s.sig.candidates
	pc := s.sig.peerConnection()
	switch {
	case n > maxCandidates:
		if n == maxCandidates+1 {
			s.signal(wire.Signal{Type: wire.SignalError, Code: "bad_message", Message: fmt.Sprintf("over %d candidates; ignoring the rest", maxCandidates)})
		}
		s.r.stats.badSignals.Add(1)
	case pc == nil:
		s.badSignal("candidate before offer")
	case c != nil && c.Candidate != "":
		if err := pc.AddICECandidate(webrtc.ICECandidateInit{Candidate: c.Candidate, SDPMid: c.SDPMid, SDPMLineIndex: c.SDPMLineIndex}); err != nil {
			s.log.Debug("remote candidate ignored", "err", err)
		}
	}
}

// answer creates the peer connection for offer and returns the relay's
// complete answer: the relay has host candidates only, so it waits for
// gathering and sends them all in the SDP (no trickle, no race). ctx is the
// session's: the data channel's goroutines live as long as it.
func (s *session) answer(ctx context.Context, offer string) (string, error) {
	large := readsLargeRecords(offer)
	api := s.r.apis.standard
	if large {
		api = s.r.apis.largeRecords
		s.log.Debug("peer reads large DTLS records: SCTP packets of one ICE-TCP frame")
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return "", fmt.Errorf("new peer connection: %w", err)
	}
	if large {
		s.r.stats.peerConnsLarge.Add(1)
	} else {
		s.r.stats.peerConnsStandard.Add(1)
	}
	if s.isGone() {
		pc.Close()
		return "", ErrClosed
	}
	// teardown, which runs after the read loop (this goroutine) ends,
	// closes it from now on.
	s.sig.mu.Lock()
	s.sig.pc = pc
	s.sig.mu.Unlock()

	if err := s.createDataChannel(ctx, pc); err != nil {
		return "", err
	}
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		s.log.Debug("peer connection state", "state", st)
		if st == webrtc.PeerConnectionStateFailed || st == webrtc.PeerConnectionStateClosed {
			if s.ch.open.Load() {
				s.close(fmt.Errorf("peer connection %s", st))
			}
		}
	})
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return "", fmt.Errorf("offer: %w", err)
	}
	ans, err := pc.CreateAnswer(nil)
	if err != nil {
		return "", fmt.Errorf("create answer: %w", err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(ans); err != nil {
		return "", fmt.Errorf("set answer: %w", err)
	}
	t := time.NewTimer(s.r.cfg.HandshakeTimeout)
	defer t.Stop()
	select {
	case <-gathered:
	case <-t.C:
		return "", fmt.Errorf("%w: gathering candidates", ErrTimeout)
	case <-ctx.Done():
		return "", context.Cause(ctx)
	}
	return pc.LocalDescription().SDP, nil
}

// signal queues a signaling message; a peer whose queue is full is dropped.
func (s *session) signal(sig wire.Signal) {
	if !s.sig.out.trySend(msg{typ: wire.TextMessage, b: sig.Marshal()}) {
		s.r.stats.slowConsumers.Add(1)
		s.close(fmt.Errorf("%w: signaling queue full", ErrSlowConsumer))
	}
}

// writeWS is the WebSocket writer's one write.
func (s *session) writeWS(m msg) error {
	s.sig.conn.SetWriteDeadline(time.Now().Add(s.r.cfg.WriteTimeout))
	err := s.sig.conn.WriteMessage(m.typ, m.b)
	if err == nil && m.typ == wire.BinaryMessage {
		s.sent(len(m.b))
	}
	return err
}
