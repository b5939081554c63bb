package relay

import (
	"sort"
	"sync/atomic"
	"time"

	"github.com/p2pcache/p2pcache/cache"
	"github.com/p2pcache/p2pcache/relay/wire"
)

// counters are the relay's cumulative counts; Stats copies them.
type counters struct {
	sessions, dataChannels                                             atomic.Uint64
	chunksCache, chunksOrigin, chunksPeer, chunksRelay                 atomic.Uint64
	bytesSent, files                                                   atomic.Uint64
	badFrames, badSignals, busy, rateLimited, pongDrops, slowConsumers atomic.Uint64
	requestErrors                                                      atomic.Uint64
	peerFetches                                                        [numFetchResults]atomic.Uint64
	bans, refused, extraChannels                                       atomic.Uint64
	peerConnsStandard, peerConnsLarge                                  atomic.Uint64
	pingDrops, badPongs, haveDrops, overloaded, expired, memoryBusy    atomic.Uint64
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

func (c *counters) countChunk(src cache.Source) {
	switch src {
	case cache.SourceCache:
		c.chunksCache.Add(1)
	case cache.SourceOrigin:
		c.chunksOrigin.Add(1)
	case cache.SourcePeer:
		c.chunksPeer.Add(1)
	case cache.SourceRelay:
		c.chunksRelay.Add(1)
	}
}

// sent counts n bytes written to the peer, on either transport.
func (s *session) sent(n int) {
	s.bytesSent.Add(uint64(n))
	s.r.stats.bytesSent.Add(uint64(n))
}

// Stats is a snapshot of the relay's counters.
type Stats struct {
	Peers        int    // peers connected now (WebSocket open)
	DataChannels int    // of them, with an open data channel
	Sessions     uint64 // peers accepted since start
	// PeerConnections counts the WebRTC peer connections answered since
	// start, by the DTLS records their SCTP packets fill: "standard" (every
	// browser reads them) or "large" (one ICE-TCP frame; Firefox).
	PeerConnections map[string]uint64
	ChunksBySource  map[string]uint64
	BytesSent       uint64 // chunk and manifest bytes sent to peers
	Files           uint64 // GET_FILE requests completed
	BadFrames       uint64 // wire frames that failed to decode
	BadSignals      uint64 // signaling messages refused
	Busy            uint64 // requests refused: too many in flight
	PongDrops       uint64 // PONGs dropped: the peer's control queue was full
	SlowConsumers   uint64 // peers dropped for not draining their queue
	RequestErrors   uint64 // requests answered with ERROR
	// PeerFetches counts chunk requests to peers by result: ok, timeout,
	// hash_mismatch, gone.
	PeerFetches   map[string]uint64
	Bans          uint64 // peers banned for bad bytes
	Refused       uint64 // connections refused: banned identity
	ExtraChannels uint64 // data channels beyond the one, refused
	RateLimited   uint64 // requests refused: over the peer's RequestRate
	HolderIndex   int    // (chunk, peer) pairs known from HAVE frames
	HolderDrops   uint64 // HAVE entries dropped: the index, or the peer's share of it, was full
	HaveDrops     uint64 // HAVE frames dropped: over the peer's HaveRate
	PingDrops     uint64 // PINGs not sent: the peer's control queue was full
	BadPongs      uint64 // PONGs ignored: not the answer to a PING awaited
	Overloaded    uint64 // peers refused: the memory budget could not take them
	Expired       uint64 // peers refused or dropped: their token expired
	MemoryBusy    uint64 // requests answered busy: no memory for the answer in time
}

// Stats returns the relay's counters.
func (r *Relay) Stats() Stats {
	r.mu.Lock()
	peers := len(r.sessions)
	dcs := 0
	for s := range r.sessions {
		if s.ch.open.Load() {
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
		PeerConnections: map[string]uint64{"standard": c.peerConnsStandard.Load(), "large": c.peerConnsLarge.Load()},
		ChunksBySource: map[string]uint64{
			cache.SourceCache.String():  c.chunksCache.Load(),
			cache.SourceOrigin.String(): c.chunksOrigin.Load(),
			cache.SourcePeer.String():   c.chunksPeer.Load(),
			cache.SourceRelay.String():  c.chunksRelay.Load(),
		},
		BytesSent: c.bytesSent.Load(), Files: c.files.Load(),
		BadFrames: c.badFrames.Load(), BadSignals: c.badSignals.Load(), Busy: c.busy.Load(),
		PongDrops: c.pongDrops.Load(), SlowConsumers: c.slowConsumers.Load(), RequestErrors: c.requestErrors.Load(),
		PeerFetches: pf, Bans: c.bans.Load(), Refused: c.refused.Load(), ExtraChannels: c.extraChannels.Load(), RateLimited: c.rateLimited.Load(),
		HolderIndex: hi, HolderDrops: hd, HaveDrops: c.haveDrops.Load(),
		PingDrops: c.pingDrops.Load(), BadPongs: c.badPongs.Load(),
		Overloaded: c.overloaded.Load(), Expired: c.expired.Load(), MemoryBusy: c.memoryBusy.Load(),
	}
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

func (s *session) info() PeerInfo {
	pi := PeerInfo{ID: s.id, Remote: s.remote, Since: s.start, Transport: "websocket", RTT: s.live.rtt.Get(), BytesSent: s.bytesSent.Load()}
	if s.ch.open.Load() {
		pi.Transport = "webrtc-tcp"
	}
	if pc := s.sig.peerConnection(); pc != nil {
		if sctp := pc.SCTP(); sctp != nil {
			if p, err := sctp.Transport().ICETransport().GetSelectedCandidatePair(); err == nil && p != nil {
				pi.CandidatePair = p.Local.String() + " <-> " + p.Remote.String()
			}
		}
	}
	return pi
}
