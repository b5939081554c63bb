// Package peer is a Go peer of the relay: it connects like the browser SDK
// does (WebSocket signaling, then one WebRTC data channel over ICE-TCP whose
// far end is the relay) and fetches files, verifying every chunk and the
// whole file against the manifest. Tests and the bench harness use it.
//
// Connecting: open the WebSocket, read the relay's hello, send an offer with
// the pre-negotiated data channel, apply the relay's complete answer (its
// passive TCP candidates inside), and wait for the channel to open. pion dials
// the relay's passive candidate with an active TCP candidate of its own.
package peer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/pion/datachannel"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"

	"github.com/p2pcache/p2pcache/cache"
	"github.com/p2pcache/p2pcache/relay/wire"
)

// Options holds Dial's optional settings.
type Options struct {
	// Header is sent with the WebSocket upgrade (an Origin, say); nil means none.
	Header http.Header
	// Token, if set, is sent as the access_token query parameter.
	Token string
	// Logger receives debug logs; nil means none.
	Logger *slog.Logger
	// PingInterval is how often the peer pings the relay for its RTT; zero
	// means 1 s.
	PingInterval time.Duration
	// MaxFileSize refuses manifests of larger files; zero means 1 GiB.
	MaxFileSize int64
	// NoServe declines to serve chunks to the relay (a metered network); the
	// zero value keeps fetched chunks and serves them when asked.
	NoServe bool
	// HoldBytes bounds the chunks kept for serving; zero means 64 MiB.
	HoldBytes int64
	// ServeDelay delays every answer to the relay, chunks and PONGs alike
	// (tests and the bench model far or slow peers with it); zero means none.
	ServeDelay time.Duration
	// Tamper, if set, rewrites each chunk before it is served: for tests of
	// the relay's defenses against lying peers. Never set it otherwise.
	Tamper func(index int, b []byte) []byte
}

// Timings says how long each connection step took, from Dial's start.
type Timings struct {
	WebSocket   time.Duration // upgrade done
	Hello       time.Duration // relay's hello read
	Answer      time.Duration // relay's answer applied
	DataChannel time.Duration // data channel open
}

// Peer is a connected peer. Its methods are safe for concurrent use.
type Peer struct {
	opts    Options
	log     *slog.Logger
	ws      *websocket.Conn
	pc      *webrtc.PeerConnection
	raw     datachannel.ReadWriteCloser
	id      string
	start   time.Time
	timings Timings
	rtt     wire.RTTEstimator
	done    chan struct{} // closed by Close
	wg      sync.WaitGroup

	held    *cache.ChunkLRU // chunks kept for serving; nil with NoServe
	serving chan struct{}   // a token per relay request being answered

	wsMu sync.Mutex // serializes WebSocket writes
	dcMu sync.Mutex // serializes data-channel writes

	mu      sync.Mutex // guards the following
	pending map[uint32]*call
	nextID  uint32
	err     error // why the connection ended, once it has
	closed  bool

	closeOnce sync.Once
	stalled   chan struct{} // closed by StopReadingForTest
	stallOnce sync.Once
	hooks     testHooks // fortest.go; zero outside tests
	bytesIn   atomic.Uint64
	served    atomic.Uint64
	bySource  [8]atomic.Uint64 // verified chunks received, by wire.ChunkSource
}

// Dial connects to the relay at relayURL (http://host:port or ws://…; the
// path /ws is added when the URL has none) and returns once the data channel
// is open, or fails when ctx ends first.
func Dial(ctx context.Context, relayURL string, opts Options) (*Peer, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.PingInterval == 0 {
		opts.PingInterval = time.Second
	}
	if opts.MaxFileSize == 0 {
		opts.MaxFileSize = 1 << 30
	}
	wsURL, err := signalingURL(relayURL, opts.Token)
	if err != nil {
		return nil, err
	}
	if opts.HoldBytes == 0 {
		opts.HoldBytes = 64 << 20
	}
	p := &Peer{opts: opts, log: opts.Logger, start: time.Now(), done: make(chan struct{}), stalled: make(chan struct{}), pending: make(map[uint32]*call), serving: make(chan struct{}, maxServing)}
	if !opts.NoServe {
		held, err := cache.NewChunkLRU(opts.HoldBytes)
		if err != nil {
			return nil, fmt.Errorf("%w: HoldBytes %d", ErrConnect, opts.HoldBytes)
		}
		p.held = held
	}

	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second, ReadBufferSize: 64 << 10, WriteBufferSize: 64 << 10}
	ws, resp, err := d.DialContext(ctx, wsURL, opts.Header)
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("%w: websocket %s: %s", ErrConnect, wsURL, resp.Status)
		}
		return nil, fmt.Errorf("%w: websocket %s: %w", ErrConnect, wsURL, err)
	}
	ws.SetReadLimit(wire.MaxSignalSize + wire.MaxMessageSize)
	p.ws = ws
	p.timings.WebSocket = time.Since(p.start)
	ok := false
	defer func() {
		if !ok {
			p.Close()
		}
	}()
	if dl, has := ctx.Deadline(); has {
		ws.SetReadDeadline(dl)
	}
	hello, err := p.readSignal()
	if err != nil {
		return nil, err
	}
	if hello.Type == wire.SignalError {
		return nil, fmt.Errorf("%w: relay refused: %s: %s", ErrConnect, hello.Code, hello.Message)
	}
	if hello.Type != wire.SignalHello {
		return nil, fmt.Errorf("%w: first message is %q, want hello", ErrConnect, hello.Type)
	}
	ws.SetReadDeadline(time.Time{})
	p.id = hello.PeerID
	p.timings.Hello = time.Since(p.start)

	if err := p.offer(ctx); err != nil {
		return nil, err
	}
	ok = true
	return p, nil
}

func signalingURL(relayURL, token string) (string, error) {
	u, err := url.Parse(relayURL)
	if err != nil {
		return "", fmt.Errorf("%w: relay URL %q: %w", ErrConnect, relayURL, err)
	}
	switch u.Scheme {
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	case "ws", "wss":
	default:
		return "", fmt.Errorf("%w: relay URL %q: want http(s):// or ws(s)://", ErrConnect, relayURL)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/ws"
	}
	if token != "" {
		q := u.Query()
		q.Set("access_token", token)
		u.RawQuery = q.Encode()
	}
	return u.String(), nil
}

// offer sets up the peer connection, exchanges SDP and waits for the data
// channel.
func (p *Peer) offer(ctx context.Context) error {
	var se webrtc.SettingEngine
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeTCP4, webrtc.NetworkTypeTCP6})
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.DetachDataChannels()
	wire.TuneSCTP(&se)
	se.EnableSctpSnap(true)
	se.SetICETimeouts(5*time.Second, 30*time.Second, 2*time.Second) // as the relay's: checks queue behind data on ICE-TCP
	api := webrtc.NewAPI(
		webrtc.WithSettingEngine(se),
		webrtc.WithMediaEngine(&webrtc.MediaEngine{}),
		webrtc.WithInterceptorRegistry(&interceptor.Registry{}),
	)
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrConnect, err)
	}
	p.mu.Lock()
	p.pc = pc
	p.mu.Unlock()
	dc, err := pc.CreateDataChannel(wire.DataChannelLabel, wire.DataChannelInit())
	if err != nil {
		return fmt.Errorf("%w: data channel: %w", ErrConnect, err)
	}
	opened := make(chan datachannel.ReadWriteCloser, 1)
	dc.OnOpen(func() {
		raw, err := dc.Detach()
		if err != nil {
			p.fail(fmt.Errorf("%w: detach: %w", ErrConnect, err))
			return
		}
		opened <- raw
	})
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		if st == webrtc.PeerConnectionStateFailed {
			p.fail(fmt.Errorf("%w: peer connection failed", ErrClosed))
		}
	})
	off, err := pc.CreateOffer(nil)
	if err != nil {
		return fmt.Errorf("%w: offer: %w", ErrConnect, err)
	}
	if err := pc.SetLocalDescription(off); err != nil {
		return fmt.Errorf("%w: offer: %w", ErrConnect, err)
	}
	// The relay needs none of our candidates (we dial its passive one), so the
	// offer goes at once, without waiting for gathering.
	offer := wire.Signal{Type: wire.SignalOffer, SDP: pc.LocalDescription().SDP}
	if p.opts.NoServe {
		serve := false
		offer.Serve = &serve
	}
	if err := p.writeSignal(offer); err != nil {
		return err
	}
	answered := make(chan error, 1)
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		p.readWS(answered)
	}()
	select {
	case err := <-answered:
		if err != nil {
			return err
		}
	case <-ctx.Done():
		return fmt.Errorf("%w: waiting for the answer: %w", ErrConnect, ctx.Err())
	}
	p.timings.Answer = time.Since(p.start)
	select {
	case raw := <-opened:
		p.mu.Lock()
		p.raw = raw
		p.mu.Unlock()
	case <-p.done:
		return p.Err()
	case <-ctx.Done():
		if err := p.Err(); err != nil {
			return err
		}
		return fmt.Errorf("%w: waiting for the data channel: %w", ErrConnect, ctx.Err())
	}
	p.timings.DataChannel = time.Since(p.start)
	p.wg.Add(2)
	go func() {
		defer p.wg.Done()
		p.readDC()
	}()
	go func() {
		defer p.wg.Done()
		p.pinger()
	}()
	return nil
}

// readWS reads signaling until the WebSocket closes: the answer (reported on
// answered), errors, and frames the relay sends before the channel opens.
func (p *Peer) readWS(answered chan<- error) {
	gotAnswer := false
	for {
		typ, b, err := p.ws.ReadMessage()
		if err != nil {
			err = fmt.Errorf("%w: websocket: %w", ErrClosed, err)
			if !gotAnswer {
				answered <- err
			}
			p.wsLost(err)
			return
		}
		if typ == websocket.BinaryMessage {
			if f, err := wire.DecodeFrame(b); err == nil && f.Type == wire.TypePing {
				p.pong(f, true)
			}
			continue
		}
		sig, err := wire.ParseSignal(b)
		if err != nil {
			p.log.Debug("bad signal from relay", "err", err)
			continue
		}
		switch sig.Type {
		case wire.SignalAnswer:
			if gotAnswer {
				continue
			}
			gotAnswer = true
			err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sig.SDP})
			if err != nil {
				err = fmt.Errorf("%w: answer: %w", ErrConnect, err)
			}
			answered <- err
		case wire.SignalError:
			p.log.Debug("relay error", "code", sig.Code, "message", sig.Message)
			if !gotAnswer && sig.Code != "bad_message" {
				gotAnswer = true
				answered <- fmt.Errorf("%w: relay: %s: %s", ErrConnect, sig.Code, sig.Message)
			}
		case wire.SignalBye:
			// The relay is leaving (shutting down): it closes the WebSocket
			// next, and wsLost lets the answers already sent arrive.
			p.log.Debug("relay said bye", "code", sig.Code, "message", sig.Message)
		}
	}
}

// wsLostGrace is how long answers already on their way over the data channel
// may still arrive after the WebSocket is lost.
const wsLostGrace = 5 * time.Second

// wsLost handles the signaling WebSocket ending. Without a data channel the
// connection is over. With one, the relay has dropped the peer (it does when
// the WebSocket goes), but bytes it sent before may still be in flight or in
// the data channel's receive queue: calls go on until the data channel
// closes (readDC fails them then) or wsLostGrace passes.
func (p *Peer) wsLost(err error) {
	p.mu.Lock()
	hasDC := p.raw != nil
	p.mu.Unlock()
	if hasDC {
		t := time.NewTimer(wsLostGrace)
		defer t.Stop()
		select {
		case <-p.done:
		case <-t.C:
		}
	}
	p.fail(err)
}

func (p *Peer) readSignal() (*wire.Signal, error) {
	typ, b, err := p.ws.ReadMessage()
	if err != nil {
		return nil, fmt.Errorf("%w: websocket: %w", ErrConnect, err)
	}
	if typ != websocket.TextMessage {
		return nil, fmt.Errorf("%w: binary message before hello", ErrConnect)
	}
	sig, err := wire.ParseSignal(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConnect, err)
	}
	return sig, nil
}

func (p *Peer) writeSignal(sig wire.Signal) error {
	sig.V = wire.SignalVersion
	p.wsMu.Lock()
	defer p.wsMu.Unlock()
	p.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if err := p.ws.WriteJSON(sig); err != nil {
		return fmt.Errorf("%w: websocket write: %w", ErrClosed, err)
	}
	return nil
}

// ID is the peer id the relay gave this peer.
func (p *Peer) ID() string { return p.id }

// Timings returns how long each connection step took.
func (p *Peer) Timings() Timings { return p.timings }

// RTT returns the smoothed round-trip time to the relay (0 before the first
// PONG).
func (p *Peer) RTT() wire.RTT { return p.rtt.Get() }

// BytesReceived counts data-channel bytes received.
func (p *Peer) BytesReceived() uint64 { return p.bytesIn.Load() }

// SelectedCandidatePair returns the ICE pair in use, e.g. local
// "tcp4 host 127.0.0.1:51234" and remote "tcp4 prflx/host 127.0.0.1:7881".
func (p *Peer) SelectedCandidatePair() (*webrtc.ICECandidatePair, error) {
	sctp := p.pc.SCTP()
	if sctp == nil {
		return nil, fmt.Errorf("%w: no SCTP transport", ErrClosed)
	}
	pair, err := sctp.Transport().ICETransport().GetSelectedCandidatePair()
	if err != nil {
		return nil, err
	}
	if pair == nil {
		return nil, fmt.Errorf("%w: no selected candidate pair", ErrClosed)
	}
	return pair, nil
}

// Err returns why the connection ended, or nil while it is up.
func (p *Peer) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// fail records why the connection ended and fails every call in flight. It
// does not block, so pion callbacks may call it.
func (p *Peer) fail(err error) {
	p.mu.Lock()
	if p.err == nil {
		p.err = err
	}
	calls := p.pending
	p.pending = make(map[uint32]*call)
	p.mu.Unlock()
	for _, c := range calls {
		c.finish(err)
	}
}

// Close says bye, closes the connection and waits for the peer's
// goroutines. It is idempotent.
func (p *Peer) Close() error {
	p.closeOnce.Do(func() {
		p.mu.Lock()
		p.closed = true
		pc, raw := p.pc, p.raw
		p.mu.Unlock()
		p.fail(ErrClosed)
		close(p.done)
		if p.ws != nil {
			p.writeSignal(wire.Signal{Type: wire.SignalBye})
			p.ws.Close()
		}
		if raw != nil {
			raw.Close()
		}
		if pc != nil {
			pc.Close()
		}
		p.wg.Wait()
	})
	return nil
}

// ErrConnect: Dial could not connect.
var ErrConnect = errors.New("connect")

// ErrClosed: the connection is closed.
var ErrClosed = errors.New("closed")

func isClosedErr(err error) bool {
	return err != nil && (errors.Is(err, ErrClosed) || strings.Contains(err.Error(), "closed"))
}

// BytesIn is the data-channel payload received so far, every message counted.
func (p *Peer) BytesIn() uint64 { return p.bytesIn.Load() }
