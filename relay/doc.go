// Package relay is p2pcache's server-as-peer: it answers each peer's WebRTC
// offer with a connection whose far end is the relay itself, and serves the
// chunks of files from a cache.Cache over that connection's one data
// channel. Peers never connect to each other: a browser only ever sees the
// relay's address, and when the relay fills a cache miss from a peer that
// holds the chunk, the bytes travel peer → relay → peer, verified at the
// relay. The protocol itself (frames, signaling messages, manifests) is in
// package wire; this package is the server side of it.
//
// # One TCP port
//
// Every peer's ICE, DTLS and SCTP run over TCP (RFC 6544 passive host
// candidates) on the one listener given to New, shared by all peers through
// pion's ICE-TCP mux; no UDP socket is opened, no TURN is needed. The
// relay's answer carries all its candidates (there are only host ones), so
// there is no trickle. On that TCP stream the relay batches the small
// packets pion writes into few syscalls (coalesce.go) and tunes SCTP for a
// reliable, ordered carrier (wire.TuneSCTP). The caller owns the HTTP side:
// it upgrades the signaling WebSocket and hands it to Accept, which runs the
// peer until it leaves. When WebRTC cannot be had, the same wire frames flow
// over that WebSocket (the WebSocket rung), answered the same way.
//
// # A request, file by file
//
//   - admission.go: Admit reserves a peer's memory allowance before the
//     caller upgrades its WebSocket (or refuses it: ErrOverloaded).
//   - accept.go: Accept refuses a banned identity, an expired token or a
//     peer the budget cannot take, registers a session and runs it on the
//     caller's goroutine.
//   - signaling.go: the WebSocket read loop: offer → answer (the peer
//     connection and its complete SDP), trickled candidates, bye; binary
//     messages are frames of the WebSocket rung.
//   - datachannel.go: the pre-negotiated channel opens; it is detached and
//     read by a goroutine of the session (readDC), written by one writer.
//   - session.go: the lifecycle (run, close, teardown) and the dispatch of
//     each frame to the role it is for.
//   - serve.go: a GET_FILE, GET_MANIFEST or GET_CHUNK is admitted (a token
//     of Config.MaxRequests, Config.RequestRate) and served in a goroutine
//     of its own from the cache: MANIFEST, then CHUNK fragments. A peer
//     whose grant restricts paths (Meta.Allow) gets a chunk only as the
//     chunk at its index of a path it may read, never by hash alone.
//   - route.go: a chunk the cache does not hold goes to the relay as the
//     cache's PeerSource: it ranks the peers that hold it (holders.go) and
//     asks the best.
//   - pull.go: asking one peer: GET_CHUNK to it, CHUNK answers back on the
//     same transport only, until the answer is whole (nothing touches the
//     buffer after), bounded by its upload slots and byte rate.
//   - keepalive.go: PING/PONG for each peer's RTT (measured from the
//     relay's own record of each PING's nonce), the idle timeout, and the
//     end of a session whose token expires (Meta.Expires).
//   - outbox.go: each transport's send queue, bounded in bytes, and its one
//     writer.
//   - holders.go, bans.go, stats.go, metrics.go: the holder index (bounded
//     per peer, HAVEs rate-limited), strikes and bans (IdentityOf; a ban
//     closes every session of the identity), counters and their
//     Prometheus export.
//
// A session's state is split by role into small structs, each in the file
// of its step: signaling (the WebSocket and the peer connection),
// dataChannel (the channel, its writer, the watermark signal), liveness
// (last heard, RTT), requestServer (the peer's requests in flight) and
// uploadSource (the relay's pulls from the peer, what it holds, its
// strikes). Each has its own lock; the session's own lock guards only its
// closed flag, under which new session goroutines are admitted.
//
// # Goroutines and their owners
//
// Accept's caller reads the WebSocket; the session owns, and waits for
// before its teardown ends, the WebSocket's writer, the keepalive, the data
// channel's reader and writer once it opens, and one goroutine per request
// in flight. When the session ends (the first of: a transport error, ICE
// failure, idle timeout, slow consumer, bye, ban, relay Close, ctx end),
// Accept returns as soon as nothing touches the WebSocket any more; the
// WebRTC teardown goes on in a goroutine the relay owns, and Close waits
// for every one of them.
//
// # Send watermarks and slow consumers
//
// Answers go through the data channel's outbox: its writer holds back while
// the channel's buffered amount is above Config.SendHighWater and resumes
// below Config.SendLowWater, so a slow peer holds back only its own
// request goroutines (bounded) and never the relay. A peer whose buffer
// makes no progress for Config.IdleTimeout is a slow consumer and is
// dropped; one that drains slowly is not. Control frames (PING, PONG,
// ERROR, signaling) go ahead of answers, each in a buffer of its own size,
// and never wait: a full control queue drops a PING or PONG (counted), or
// the peer.
//
// # Memory
//
// What the relay holds on a client's behalf is bounded in bytes, and, with
// Config.Budget, by one budget shared with the cache's manifest builds
// (cache.Budget):
//   - a peer's allowance, Config.PeerMemory (its WebRTC stack, goroutines,
//     read buffers and control queues), reserved from admission (Admit
//     before the upgrade, or Accept) to the end of its teardown: a peer the
//     budget cannot take is refused (ErrOverloaded; HTTP 503 at the edge);
//   - each answer frame, from when it is queued until the peer has
//     acknowledged it (SCTP's buffered amount falls; the WebSocket rung:
//     once written): a request goroutine waits for its bytes
//     (backpressure), so a full budget slows new answers everywhere and
//     fails none; a peer that stops reading holds at most its queue and
//     twice its send high watermark of it (pion keeps a second copy of
//     what it has in flight), and is dropped as a slow consumer once others
//     wait for memory and it has acknowledged nothing, its receive window
//     shut, for Config.PressureTimeout (else after IdleTimeout);
//   - each chunk pulled from a peer, while the pull is in flight.
//
// Control frames come out of the allowance (their queues are bounded in
// bytes and messages) and so never wait for the budget. The chunk LRU is
// bounded on its own (cache.Config.MaxBytes) and is not in the budget.
//
// # Pulls, routing, strikes and bans
//
// Peers announce the chunks they hold with HAVE frames (holders.go keeps an
// index bounded in all and per peer; a peer's HAVEs cost their chunk count
// from a per-peer rate). On a cache miss the relay ranks the holders by
// expected completion time (their RTT and measured upload rate, and what
// is already in flight from them), holders that timed out lately last,
// gives each try a timeout from that peer's own estimate, and moves on to
// the next holder on timeout or refusal, up to three, before the cache
// goes to the origin. A peer cannot make its RTT look shorter than it is:
// the relay times each PING itself, and a PONG only answers a nonce it
// sent. The peer whose request caused
// the miss is never asked for the chunk it is asking for (cache.ChunkFrom
// passes its id to FetchChunk). Every byte from a peer is verified against
// the manifest; Config.BanStrikes bad chunks ban the peer's identity for
// Config.BanDuration and drop every session of it. A peer whose offer says serve: false is
// never asked. The relay does not install itself on the cache: the caller
// does, with cache.SetPeers(relay).
//
// # Shutdown
//
// Shutdown stops taking peers, keeps serving the ones it has until none
// has had a request in flight or unsent bytes for a quiet period (or ctx
// ends), says bye to every peer, gives them a moment to leave and closes.
// Close drops every peer at once and waits for all their goroutines. Both
// are safe to call more than once.
package relay
