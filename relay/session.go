package relay

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/datachannel"
	"github.com/pion/webrtc/v4"
	"golang.org/x/time/rate"

	"github.com/p2pcache/p2pcache/relay/wire"
)

// maxCandidates bounds the ICE candidates one peer may send; the relay only
// needs none of them (it is reached, it does not reach out), so a few
// suffice.
const maxCandidates = 64

// maxBadSignals is how many malformed signaling messages a peer may send
// before it is dropped.
const maxBadSignals = 8

// transport tells which way a request came, and so which way it is answered.
type transport uint8

const (
	viaWS transport = iota
	viaDC
)

type reqKey struct {
	via transport
	id  uint32
}

// session is one connected peer. Its goroutines, each waited for by wg:
//   - the caller of Accept: reads the WebSocket (serve, readLoop);
//   - wsOut.run: the WebSocket's one writer;
//   - keepalive: pings, measures RTT, drops the idle;
//   - once the data channel opens, readDC and dcOut.run;
//   - one per request in flight, at most Config.MaxRequests.
//
// The session ends (close) on the first of: WebSocket or data-channel error,
// ICE failure, idle timeout, a slow consumer, bye, relay Close or ctx end.
type session struct {
	r        *Relay
	id       string
	remote   string
	identity string                 // what bans apply to
	allow    func(path string) bool // nil: every path
	log      *slog.Logger
	conn     Conn
	start    time.Time
	wsOut    *outbox
	rtt      wire.RTTEstimator
	reqSem   chan struct{} // a token per request in flight
	reqRate  *rate.Limiter // requests per second

	lastHeard atomic.Int64 // ns since start
	lastReq   atomic.Int64 // ns since start: a request began or ended
	dcOpen    atomic.Bool
	bytesSent atomic.Uint64

	// The peer as a source of chunks for the relay (pull.go, route.go).
	serves     atomic.Bool   // false once the peer declined to serve
	uploadSem  chan struct{} // a token per relay request in flight to the peer
	uploadRate *rate.Limiter // bytes per second asked of the peer; nil: no bound
	inflight   atomic.Int32
	upload     throughput
	gone       chan struct{} // closed when the session ends

	wg         sync.WaitGroup // the session's goroutines but serve's own
	lowWater   chan struct{}  // the data channel's buffered amount fell below SendLowWater
	badSignals int            // only touched by the read loop

	mu         sync.Mutex // guards the following
	cancel     context.CancelCauseFunc
	pc         *webrtc.PeerConnection
	dc         *webrtc.DataChannel
	dcOut      *outbox
	requests   map[reqKey]context.CancelFunc
	candidates int
	closed     bool
	pulls      map[uint32]*pull                     // relay requests to the peer, by id
	pullID     uint32                               // last id used for a pull
	files      map[wire.Hash]map[wire.Hash]struct{} // file version → chunks the peer announced
	strikes    int
}

// maxFilesPerPeer bounds the file versions one peer may announce.
const maxFilesPerPeer = 4096

func (s *session) isGone() bool {
	select {
	case <-s.gone:
		return true
	default:
		return false
	}
}

func (s *session) heard() { s.lastHeard.Store(int64(time.Since(s.start))) }

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
	// Unblock the read loop. Close alone may not: a WebSocket hijacked from
	// fasthttp is only closed when its handler returns.
	s.conn.SetReadDeadline(time.Unix(1, 0))
	s.conn.Close()
}

// serve runs the session on the caller's goroutine (Accept's).
func (s *session) serve(ctx context.Context) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	s.mu.Lock()
	s.cancel = cancel
	if s.closed { // the relay closed between newSession and here
		cancel(ErrClosed)
	}
	s.mu.Unlock()

	var wsDone sync.WaitGroup
	wsDone.Add(1)
	go func() {
		defer wsDone.Done()
		if err := s.wsOut.run(ctx); err != nil {
			s.close(fmt.Errorf("websocket write: %w", err))
		}
	}()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.keepalive(ctx)
	}()
	s.log.Debug("peer connected")
	s.signal(wire.Signal{Type: wire.SignalHello, PeerID: s.id, ChunkSize: s.r.cache.ChunkSize(), MaxMessageSize: wire.MaxMessageSize})

	err := s.readLoop(ctx)
	s.close(err)
	s.conn.Close() // unblocks the writer
	wsDone.Wait()  // after this nothing touches conn: the caller may release it

	cause := context.Cause(ctx)
	go s.teardown(cause)
	if errors.Is(cause, errBye) || errors.Is(cause, ErrClosed) {
		return nil
	}
	return cause
}

var errBye = errors.New("peer said bye")

// teardown closes the WebRTC side and waits for every goroutine of the
// session; the relay owns it (Relay.Close waits).
func (s *session) teardown(cause error) {
	defer s.r.forget(s)
	s.mu.Lock()
	pc := s.pc
	s.mu.Unlock()
	if pc != nil {
		if err := pc.Close(); err != nil {
			s.log.Debug("peer connection close", "err", err)
		}
	}
	s.wg.Wait()
	s.mu.Lock()
	held := make([]map[wire.Hash]struct{}, 0, len(s.files))
	for _, set := range s.files {
		held = append(held, set)
	}
	s.files = nil
	s.mu.Unlock()
	s.r.holders.drop(s, held)
	rtt := s.rtt.Get()
	s.log.Info("peer left", "cause", cause, "duration", time.Since(s.start).Round(time.Millisecond),
		"bytes_sent", s.bytesSent.Load(), "srtt", rtt.SRTT, "rtt_samples", rtt.Samples)
}

func (s *session) readLoop(ctx context.Context) error {
	for {
		typ, b, err := s.conn.ReadMessage()
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
				if s.badSignals++; s.badSignals > maxBadSignals {
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
		s.mu.Lock()
		has := s.pc != nil
		s.mu.Unlock()
		if has {
			s.r.stats.badSignals.Add(1)
			s.signal(wire.Signal{Type: wire.SignalError, Code: "bad_message", Message: "one offer per connection; renegotiation is not supported"})
			return nil
		}
		if sig.Serve != nil && !*sig.Serve {
			s.serves.Store(false)
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
		s.mu.Lock()
		pc := s.pc
		s.candidates++
		n := s.candidates
		s.mu.Unlock()
		switch {
		case n > maxCandidates:
			if n == maxCandidates+1 {
				s.signal(wire.Signal{Type: wire.SignalError, Code: "bad_message", Message: fmt.Sprintf("over %d candidates; ignoring the rest", maxCandidates)})
			}
			s.r.stats.badSignals.Add(1)
		case pc == nil:
			s.signal(wire.Signal{Type: wire.SignalError, Code: "bad_message", Message: "candidate before offer"})
			s.r.stats.badSignals.Add(1)
		case sig.Candidate != nil && sig.Candidate.Candidate != "":
			c := sig.Candidate
			if err := pc.AddICECandidate(webrtc.ICECandidateInit{Candidate: c.Candidate, SDPMid: c.SDPMid, SDPMLineIndex: c.SDPMLineIndex}); err != nil {
				s.log.Debug("remote candidate ignored", "err", err)
			}
		}
	case wire.SignalBye:
		return errBye
	default:
		s.r.stats.badSignals.Add(1)
		s.signal(wire.Signal{Type: wire.SignalError, Code: "bad_message", Message: fmt.Sprintf("%q is not a message a peer sends", sig.Type)})
	}
	return nil
}

// answer creates the peer connection for offer and returns the relay's
// complete answer: the relay has host candidates only, so it waits for
// gathering and sends them all in the SDP (no trickle, no race). ctx is the
// session's: the data channel's goroutines live as long as it.
func (s *session) answer(ctx context.Context, offer string) (string, error) {
	pc, err := s.r.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return "", fmt.Errorf("new peer connection: %w", err)
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		pc.Close()
		return "", ErrClosed
	}
	s.pc = pc // closed by teardown from now on
	s.mu.Unlock()

	dc, err := pc.CreateDataChannel(wire.DataChannelLabel, wire.DataChannelInit())
	if err != nil {
		return "", fmt.Errorf("data channel: %w", err)
	}
	dc.SetBufferedAmountLowThreshold(uint64(s.r.cfg.SendLowWater))
	dc.OnBufferedAmountLow(func() {
		select {
		case s.lowWater <- struct{}{}:
		default:
		}
	})
	dc.OnOpen(func() { s.onOpen(ctx, dc) })
	pc.OnDataChannel(func(extra *webrtc.DataChannel) {
		// One pre-negotiated channel per peer; a peer opening more is refused.
		s.r.stats.extraChannels.Add(1)
		s.log.Info("extra data channel refused", "label", extra.Label())
		go extra.Close() // not inside pion's callback
	})
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		s.log.Debug("peer connection state", "state", st)
		if st == webrtc.PeerConnectionStateFailed || st == webrtc.PeerConnectionStateClosed {
			if s.dcOpen.Load() {
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

// onOpen runs in pion's callback: it only starts goroutines. The ctx is the
// session's (captured by answer's caller), so they end with it.
func (s *session) onOpen(ctx context.Context, dc *webrtc.DataChannel) {
	raw, err := dc.Detach()
	if err != nil {
		s.close(fmt.Errorf("detach data channel: %w", err))
		return
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		raw.Close()
		return
	}
	s.dc = dc
	s.dcOut = newOutbox(64, 4, func(m msg) error {
		n, err := raw.WriteDataChannel(m.b, false)
		s.bytesSent.Add(uint64(n))
		s.r.stats.bytesSent.Add(uint64(n))
		return err
	}, func(ctx context.Context) error { return s.waitBuffered(ctx, dc) })
	out := s.dcOut
	s.wg.Add(2)
	s.mu.Unlock()
	s.dcOpen.Store(true)
	s.r.stats.dataChannels.Add(1)
	s.log.Debug("data channel open", "after", time.Since(s.start).Round(time.Microsecond))
	go func() {
		defer s.wg.Done()
		if err := out.run(ctx); err != nil {
			s.close(fmt.Errorf("data channel write: %w", err))
		}
	}()
	go func() {
		defer s.wg.Done()
		s.readDC(ctx, raw)
	}()
	s.ping(out)
}

// waitBuffered holds the writer while the channel's buffered amount is above
// the high watermark, until it falls below the low one. A peer that makes no
// progress draining for IdleTimeout is a slow consumer and is dropped; a
// slow one that drains is not.
func (s *session) waitBuffered(ctx context.Context, dc *webrtc.DataChannel) error {
	if dc.BufferedAmount() <= uint64(s.r.cfg.SendHighWater) {
		return nil
	}
	idle := s.r.cfg.IdleTimeout
	tick := time.NewTicker(min(idle/4, 250*time.Millisecond))
	defer tick.Stop()
	last, since := dc.BufferedAmount(), time.Now()
	for dc.BufferedAmount() > uint64(s.r.cfg.SendLowWater) {
		select {
		case <-s.lowWater:
		case <-ctx.Done():
			return context.Cause(ctx)
		case now := <-tick.C:
			if b := dc.BufferedAmount(); b < last {
				last, since = b, now
			} else if now.Sub(since) >= idle {
				s.r.stats.slowConsumers.Add(1)
				return fmt.Errorf("%w: %d bytes unsent, none delivered for %v", ErrSlowConsumer, b, idle)
			}
		}
	}
	return nil
}

func (s *session) readDC(ctx context.Context, raw datachannel.ReadWriteCloser) {
	buf := make([]byte, wire.MaxMessageSize)
	for {
		n, isString, err := raw.ReadDataChannel(buf)
		if err != nil {
			if !errors.Is(err, io.EOF) && ctx.Err() == nil {
				s.log.Debug("data channel read", "err", err)
			}
			s.close(fmt.Errorf("data channel closed: %w", err))
			return
		}
		s.heard()
		if isString {
			s.r.stats.badFrames.Add(1)
			continue
		}
		f, err := wire.DecodeFrame(buf[:n])
		s.handleFrame(ctx, viaDC, f, err)
	}
}

// keepalive pings the peer every PingInterval, over the data channel once it
// is open, and drops a peer heard nothing from for IdleTimeout.
func (s *session) keepalive(ctx context.Context) {
	t := time.NewTicker(s.r.cfg.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		idle := time.Since(s.start) - time.Duration(s.lastHeard.Load())
		if idle > s.r.cfg.IdleTimeout {
			s.close(fmt.Errorf("%w: idle for %v", ErrTimeout, idle.Round(time.Millisecond)))
			return
		}
		s.ping(s.outFor(viaDC))
	}
}

// ping sends a PING carrying the send time; the PONG's echo gives the RTT.
func (s *session) ping(out *outbox) {
	b := getBuf()
	*b = (*b)[:0]
	var payload [wire.PingLen]byte
	binary.BigEndian.PutUint64(payload[:], uint64(time.Since(s.start)))
	*b, _ = wire.AppendFrame(*b, &wire.Frame{Type: wire.TypePing, Data: payload[:]})
	out.trySend(msg{typ: wire.BinaryMessage, b: *b, pooled: b})
}

// outFor returns the outbox answering requests that came via t: the data
// channel's if it is open, else the WebSocket's.
func (s *session) outFor(t transport) *outbox {
	if t == viaDC {
		s.mu.Lock()
		out := s.dcOut
		s.mu.Unlock()
		if out != nil {
			return out
		}
	}
	return s.wsOut
}

func (s *session) writeWS(m msg) error {
	s.conn.SetWriteDeadline(time.Now().Add(s.r.cfg.WriteTimeout))
	err := s.conn.WriteMessage(m.typ, m.b)
	if err == nil && m.typ == wire.BinaryMessage {
		s.bytesSent.Add(uint64(len(m.b)))
		s.r.stats.bytesSent.Add(uint64(len(m.b)))
	}
	return err
}

// signal queues a signaling message; a peer whose queue is full is dropped.
func (s *session) signal(sig wire.Signal) {
	if !s.wsOut.trySend(msg{typ: wire.TextMessage, b: sig.Marshal()}) {
		s.r.stats.slowConsumers.Add(1)
		s.close(fmt.Errorf("%w: signaling queue full", ErrSlowConsumer))
	}
}

func (s *session) info() PeerInfo {
	pi := PeerInfo{ID: s.id, Remote: s.remote, Since: s.start, Transport: "websocket", RTT: s.rtt.Get(), BytesSent: s.bytesSent.Load()}
	if s.dcOpen.Load() {
		pi.Transport = "webrtc-tcp"
	}
	s.mu.Lock()
	pc := s.pc
	s.mu.Unlock()
	if pc != nil {
		if sctp := pc.SCTP(); sctp != nil {
			if p, err := sctp.Transport().ICETransport().GetSelectedCandidatePair(); err == nil && p != nil {
				pi.CandidatePair = p.Local.String() + " <-> " + p.Remote.String()
			}
		}
	}
	return pi
}
