package relay

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/p2pcache/p2pcache/cache"
	"github.com/p2pcache/p2pcache/relay/wire"
)

// Relay is the server-as-peer: it answers each peer's WebRTC offer with a
// connection whose far end is itself, over ICE-TCP on one listener, and
// serves chunks from its cache over the data channel (or the signaling
// WebSocket, when WebRTC cannot be had). It takes connections and does not
// own an HTTP listener: the caller upgrades a WebSocket and hands it to
// Accept.
type Relay struct {
	cache *cache.Cache
	cfg   Config
	log   *slog.Logger
	api   *webrtc.API
	mux   *ice.TCPMuxDefault

	wg sync.WaitGroup // sessions' teardowns

	holders *holders
	rttHist prometheus.Histogram

	mu       sync.Mutex // guards the following
	sessions map[*session]struct{}
	bans     map[string]time.Time // identity → banned until
	closed   bool

	draining atomic.Bool // Shutdown began: no new peers or requests

	stats counters
}

// counters are the relay's cumulative counts; Stats copies them.
type counters struct {
	sessions, dataChannels                                             atomic.Uint64
	chunksCache, chunksOrigin, chunksPeer                              atomic.Uint64
	bytesSent, files                                                   atomic.Uint64
	badFrames, badSignals, busy, rateLimited, pongDrops, slowConsumers atomic.Uint64
	requestErrors                                                      atomic.Uint64
	peerFetches                                                        [numFetchResults]atomic.Uint64
	bans, refused, extraChannels                                       atomic.Uint64
}

// Results of asking a peer for a chunk.
const (
	fetchOK = iota
	fetchTimeout
	fetchHashMismatch
	fetchGone
	numFetchResults
)

var fetchResultNames = [numFetchResults]string{"ok", "timeout", "hash_mismatch", "gone"}

func (c *counters) peerFetch(result int) { c.peerFetches[result].Add(1) }

// Stats is a snapshot of the relay's counters.
type Stats struct {
	Peers          int    // peers connected now (WebSocket open)
	DataChannels   int    // of them, with an open data channel
	Sessions       uint64 // peers accepted since start
	ChunksBySource map[string]uint64
	BytesSent      uint64 // chunk and manifest bytes sent to peers
	Files          uint64 // GET_FILE requests completed
	BadFrames      uint64 // wire frames that failed to decode
	BadSignals     uint64 // signaling messages refused
	Busy           uint64 // requests refused: too many in flight
	PongDrops      uint64 // PONGs dropped: the peer's control queue was full
	SlowConsumers  uint64 // peers dropped for not draining their queue
	RequestErrors  uint64 // requests answered with ERROR
	// PeerFetches counts chunk requests to peers by result: ok, timeout,
	// hash_mismatch, gone.
	PeerFetches   map[string]uint64
	Bans          uint64 // peers banned for bad bytes
	Refused       uint64 // connections refused: banned identity
	ExtraChannels uint64 // data channels beyond the one, refused
	RateLimited   uint64 // requests refused: over the peer's RequestRate
	HolderIndex   int    // (chunk, peer) pairs known from HAVE frames
	HolderDrops   uint64 // HAVE entries dropped: the index was full
}

// New returns a relay serving c over ICE-TCP on ice. The relay takes the
// listener over: it accepts ICE-TCP connections on it and closes it on
// Close.
func New(c *cache.Cache, iceListener net.Listener, cfg Config) (*Relay, error) {
	if c == nil || iceListener == nil {
		return nil, fmt.Errorf("%w: nil cache or listener", ErrBadConfig)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	api, mux, err := newAPI(iceListener, cfg, slogFactory{cfg.Logger})
	if err != nil {
		return nil, err
	}
	r := &Relay{
		cache:    c,
		cfg:      cfg,
		log:      cfg.Logger,
		api:      api,
		mux:      mux,
		holders:  newHolders(cfg.MaxHolderEntries),
		rttHist:  newRTTHistogram(),
		sessions: make(map[*session]struct{}),
		bans:     make(map[string]time.Time),
	}
	if !cfg.DisablePeerFetch {
		c.SetPeers(r)
	}
	return r, nil
}

// Cache returns the relay's cache.
func (r *Relay) Cache() *cache.Cache { return r.cache }

// Close drops every peer, waits until all their goroutines have ended and
// closes the ICE listener. It is idempotent.
func (r *Relay) Close() error {
	r.mu.Lock()
	already := r.closed
	r.closed = true
	for s := range r.sessions {
		s.close(ErrClosed)
	}
	r.mu.Unlock()
	r.wg.Wait()
	if already {
		return nil
	}
	r.cache.SetPeers(nil)
	return r.mux.Close()
}

// shutdownQuiet is how long a peer must have had no request in flight for
// Shutdown to count its transfers done: a file is many chunk requests, and
// the gaps between them are not the end of the file.
const shutdownQuiet = 300 * time.Millisecond

// Shutdown drains the relay: it takes no new peers, keeps serving the peers
// it has until none has had a request in flight for shutdownQuiet (their
// transfers are done) or ctx ends, and then closes like Close.
func (r *Relay) Shutdown(ctx context.Context) error {
	r.draining.Store(true)
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	last := time.Now()
	for n := r.busyPeers(); n > 0; n = r.busyPeers() {
		if time.Since(last) >= time.Second {
			r.log.Info("shutdown: waiting for transfers in flight", "peers", n)
			last = time.Now()
		}
		select {
		case <-ctx.Done():
			r.log.Warn("shutdown: closing peers with transfers in flight", "peers", r.busyPeers())
			return r.Close()
		case <-t.C:
		}
	}
	// Say bye, and give the peers a moment to take in what was sent and
	// leave on their own before they are closed.
	for _, s := range r.sessionList() {
		s.signal(wire.Signal{Type: wire.SignalBye, Code: "shutting_down", Message: "relay shutting down"})
	}
	grace := time.NewTimer(byeGrace)
	defer grace.Stop()
	for r.PeerCount() > 0 {
		select {
		case <-ctx.Done():
			return r.Close()
		case <-grace.C:
			return r.Close()
		case <-t.C:
		}
	}
	return r.Close()
}

// byeGrace is how long Shutdown waits for peers to leave after its bye.
const byeGrace = time.Second

// sessionList is a snapshot of the sessions.
func (r *Relay) sessionList() []*session {
	r.mu.Lock()
	defer r.mu.Unlock()
	ss := make([]*session, 0, len(r.sessions))
	for s := range r.sessions {
		ss = append(ss, s)
	}
	return ss
}

// busyPeers counts peers with a request in flight, one that ended less than
// shutdownQuiet ago, or answers not yet sent on their data channel.
func (r *Relay) busyPeers() int {
	n := 0
	for _, s := range r.sessionList() {
		s.mu.Lock()
		busy := len(s.requests) > 0 || time.Since(s.start)-time.Duration(s.lastReq.Load()) < shutdownQuiet && s.lastReq.Load() != 0
		// Answered is not delivered: wait for the bytes queued for the peer.
		if s.dcOut != nil && (s.dcOut.pending() > 0 || s.dc.BufferedAmount() > 0) {
			busy = true
		}
		s.mu.Unlock()
		if busy {
			n++
		}
	}
	return n
}

// PeerCount is the number of peers connected now.
func (r *Relay) PeerCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.sessions)
}

// Meta describes a peer being accepted.
type Meta struct {
	// Remote is the peer's address, for logs.
	Remote string
	// Identity is what bans apply to: a token's subject, say. Empty means
	// the IP of Remote.
	Identity string
	// Allow, if set, says which paths the peer may request (a token's
	// scope); others are answered ERROR forbidden. Nil allows every path.
	Allow func(path string) bool
}

// Accept serves one peer whose signaling WebSocket is conn, until the peer
// leaves, fails or the relay closes; it then returns, having stopped using
// conn (the caller may release it). ctx ending drops the peer too. The
// peer's WebRTC teardown finishes in the background, owned by the relay
// (Close waits for it). A banned identity is told so and refused.
func (r *Relay) Accept(ctx context.Context, conn Conn, meta Meta) error {
	if meta.Identity == "" {
		meta.Identity = meta.Remote
		if host, _, err := net.SplitHostPort(meta.Remote); err == nil {
			meta.Identity = host
		}
	}
	if r.Banned(meta.Identity) {
		r.stats.refused.Add(1)
		conn.SetWriteDeadline(time.Now().Add(r.cfg.WriteTimeout))
		conn.WriteMessage(wire.TextMessage, wire.Signal{Type: wire.SignalError, Code: "banned", Message: "this peer is banned for sending bad data"}.Marshal())
		conn.Close()
		return ErrBanned
	}
	s, err := r.newSession(conn, meta)
	if err != nil {
		conn.Close()
		return err
	}
	return s.serve(ctx)
}

func (r *Relay) newSession(conn Conn, meta Meta) (*session, error) {
	var id [8]byte
	rand.Read(id[:])
	s := &session{
		r:         r,
		id:        "p-" + hex.EncodeToString(id[:]),
		remote:    meta.Remote,
		identity:  meta.Identity,
		allow:     meta.Allow,
		conn:      conn,
		start:     time.Now(),
		reqSem:    make(chan struct{}, r.cfg.MaxRequests),
		reqRate:   rate.NewLimiter(rate.Limit(r.cfg.RequestRate), r.cfg.RequestRate),
		uploadSem: make(chan struct{}, r.cfg.MaxUploads),
		gone:      make(chan struct{}),
		requests:  make(map[reqKey]context.CancelFunc),
		pulls:     make(map[uint32]*pull),
		files:     make(map[wire.Hash]map[wire.Hash]struct{}),
	}
	s.lowWater = make(chan struct{}, 1)
	s.wsOut = newOutbox(r.cfg.SignalQueue, 16, s.writeWS, nil)
	s.serves.Store(true)
	if r.cfg.UploadRate > 0 {
		s.uploadRate = rate.NewLimiter(rate.Limit(r.cfg.UploadRate), max(r.cfg.UploadRate, wire.MaxChunkSize))
	}
	s.log = r.log.With("peer", s.id, "remote", meta.Remote)
	s.heard()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || r.draining.Load() {
		return nil, ErrClosed
	}
	r.sessions[s] = struct{}{}
	r.wg.Add(1) // done when the session's teardown ends
	r.stats.sessions.Add(1)
	return s, nil
}

func (r *Relay) forget(s *session) {
	r.mu.Lock()
	delete(r.sessions, s)
	r.mu.Unlock()
	r.wg.Done()
}

// PeerInfo describes one connected peer.
type PeerInfo struct {
	ID        string
	Remote    string
	Transport string // "webrtc-tcp" once the data channel is open, else "websocket"
	Since     time.Time
	RTT       wire.RTT
	// CandidatePair is the selected ICE pair, "local <-> remote", once connected.
	CandidatePair string
	BytesSent     uint64
}

// Peers lists the connected peers, oldest first.
func (r *Relay) Peers() []PeerInfo {
	ss := r.sessionList()
	out := make([]PeerInfo, 0, len(ss))
	for _, s := range ss {
		out = append(out, s.info())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Since.Before(out[j].Since) })
	return out
}

// Stats returns the relay's counters.
func (r *Relay) Stats() Stats {
	r.mu.Lock()
	peers := len(r.sessions)
	dcs := 0
	for s := range r.sessions {
		if s.dcOpen.Load() {
			dcs++
		}
	}
	r.mu.Unlock()
	c := &r.stats
	pf := make(map[string]uint64, numFetchResults)
	for i, name := range fetchResultNames {
		pf[name] = c.peerFetches[i].Load()
	}
	hi, hd := r.holders.stats()
	return Stats{
		Peers: peers, DataChannels: dcs, Sessions: c.sessions.Load(),
		ChunksBySource: map[string]uint64{
			cache.SourceCache.String():  c.chunksCache.Load(),
			cache.SourceOrigin.String(): c.chunksOrigin.Load(),
			cache.SourcePeer.String():   c.chunksPeer.Load(),
		},
		BytesSent: c.bytesSent.Load(), Files: c.files.Load(),
		BadFrames: c.badFrames.Load(), BadSignals: c.badSignals.Load(), Busy: c.busy.Load(),
		PongDrops: c.pongDrops.Load(), SlowConsumers: c.slowConsumers.Load(), RequestErrors: c.requestErrors.Load(),
		PeerFetches: pf, Bans: c.bans.Load(), Refused: c.refused.Load(), ExtraChannels: c.extraChannels.Load(), RateLimited: c.rateLimited.Load(),
		HolderIndex: hi, HolderDrops: hd,
	}
}

func (c *counters) countChunk(src cache.Source) {
	switch src {
	case cache.SourceCache:
		c.chunksCache.Add(1)
	case cache.SourceOrigin:
		c.chunksOrigin.Add(1)
	case cache.SourcePeer:
		c.chunksPeer.Add(1)
	}
}
