package relay

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"github.com/prometheus/client_golang/prometheus"

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
	apis  *apis
	mux   *ice.TCPMuxDefault

	wg sync.WaitGroup // sessions' teardowns

	holders *holders
	rttHist prometheus.Histogram

	// chunkFault, when set, rewrites every chunk on its way to a peer:
	// fault injection for tests of clients (export_test.go, and faults.go
	// under the p2pcache_faults build tag). The cache is untouched.
	chunkFault atomic.Pointer[chunkFaultFunc]

	mu       sync.Mutex // guards the following
	sessions map[*session]struct{}
	bans     map[string]time.Time // identity → banned until
	closed   bool

	draining atomic.Bool // Shutdown began: no new peers

	budgetWaits    atomic.Uint64 // the budget's Waits when memoryWanted last looked
	memoryWantedAt atomic.Int64  // Unix ns when memoryWanted last saw a wait

	stats counters
}

// chunkFaultFunc rewrites chunk index of path (as requested; empty for a
// by-hash request) before it is sent, returning the bytes to send.
type chunkFaultFunc func(path string, index uint32, data []byte) []byte

// setChunkFault installs fn as the chunk fault; nil removes it. Only test
// builds call it (export_test.go, faults.go).
func (r *Relay) setChunkFault(fn chunkFaultFunc) {
	if fn == nil {
		r.chunkFault.Store(nil)
		return
	}
	r.chunkFault.Store(&fn)
}

// New returns a relay serving c over ICE-TCP on iceListener. The relay takes
// the listener over: it accepts ICE-TCP connections on it and closes it on
// Close.
//
// The relay does not change c. To fill c's misses from the peers that hold
// the chunks, the caller installs the relay as c's peer source, and removes
// it before closing the relay:
//
//	r, err := relay.New(c, l, cfg)
//	…
//	c.SetPeers(r)
//	defer r.Close()
//	defer c.SetPeers(nil)
func New(c *cache.Cache, iceListener net.Listener, cfg Config) (*Relay, error) {
	if c == nil || iceListener == nil {
		return nil, fmt.Errorf("%w: nil cache or listener", ErrBadConfig)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	apis, mux, err := newAPI(iceListener, cfg, slogFactory{cfg.Logger})
	if err != nil {
		return nil, err
	}
	return &Relay{
		cache:    c,
		cfg:      cfg,
		log:      cfg.Logger,
		apis:     apis,
		mux:      mux,
		holders:  newHolders(cfg.MaxHolderEntries, cfg.MaxHolderEntriesPerPeer),
		rttHist:  newRTTHistogram(),
		sessions: make(map[*session]struct{}),
		bans:     make(map[string]time.Time),
	}, nil
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
	return r.mux.Close()
}

// shutdownQuiet is how long a peer must have had no request in flight for
// Shutdown to count its transfers done: a file is many chunk requests, and
// the gaps between them are not the end of the file.
const shutdownQuiet = 300 * time.Millisecond

// byeGrace is how long Shutdown waits for peers to leave after its bye.
const byeGrace = time.Second

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

// busyPeers counts peers with a request in flight, one that ended less than
// shutdownQuiet ago, or answers not yet sent on their data channel.
func (r *Relay) busyPeers() int {
	n := 0
	for _, s := range r.sessionList() {
		// Answered is not delivered: wait for the bytes queued for the peer.
		if s.reqs.busy(time.Since(s.start), shutdownQuiet) || s.ch.unsent() {
			n++
		}
	}
	return n
}

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

// PeerCount is the number of peers connected now.
func (r *Relay) PeerCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.sessions)
}

// memoryWanted reports whether someone waits for the memory budget, or has
// within the last PressureTimeout (waits come and go as memory is
// released: a moment without one is no end of the pressure).
func (r *Relay) memoryWanted(now time.Time) bool {
	b := r.cfg.Budget
	if b == nil {
		return false
	}
	st := b.Stats()
	if st.Waiting > 0 || r.budgetWaits.Swap(st.Waits) != st.Waits {
		r.memoryWantedAt.Store(now.UnixNano())
		return true
	}
	return now.UnixNano()-r.memoryWantedAt.Load() < int64(r.cfg.PressureTimeout)
}

// forget removes s once its teardown is done.
func (r *Relay) forget(s *session) {
	r.mu.Lock()
	delete(r.sessions, s)
	r.mu.Unlock()
	r.wg.Done()
}
