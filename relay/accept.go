package relay

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"net/netip"
	"time"

	"github.com/p2pcache/p2pcache/relay/wire"
)

// Meta describes a peer being accepted.
type Meta struct {
	// Remote is the peer's address, for logs.
	Remote string
	// Identity is what bans apply to: a token's subject, or the client's
	// address as the edge sees it (IdentityOf: behind a trusted proxy, the
	// forwarded client; IPv6 grouped by /64). Empty means IdentityOf the IP
	// of Remote.
	Identity string
	// Allow, if set, says which paths the peer may request (a token's
	// scope); others are answered ERROR forbidden, and a chunk is served
	// only as the chunk at its index of a path allowed (never found by its
	// hash alone). Nil allows every path.
	Allow func(path string) bool
	// Expires, if set, is when the peer's token expires: the relay ends the
	// session then, telling the peer with a signaling error whose code is
	// token_expired (it reconnects with a fresh token). A peer whose token
	// has expired already is refused so.
	Expires time.Time
	// Admission is the peer's allowance from Admit, reserved before the
	// upgrade; Accept takes it over. Nil (or one already released) makes
	// Accept admit the peer itself, refusing it with ErrOverloaded when the
	// budget cannot take it.
	Admission *Admission
}

// Accept serves one peer whose signaling WebSocket is conn, until the peer
// leaves, fails or the relay closes; it then returns, having stopped using
// conn (the caller may release it). ctx ending drops the peer too. The
// peer's WebRTC teardown finishes in the background, owned by the relay
// (Close waits for it). A banned identity, an expired token and a peer the
// memory budget cannot take are told so and refused (ErrBanned,
// ErrTokenExpired, ErrOverloaded).
func (r *Relay) Accept(ctx context.Context, conn Conn, meta Meta) error {
	if meta.Identity == "" {
		meta.Identity = identityOfRemote(meta.Remote)
	}
	switch {
	case r.Banned(meta.Identity):
		meta.Admission.Release()
		r.stats.refused.Add(1)
		r.refuse(conn, "banned", "this peer is banned for sending bad data")
		return ErrBanned
	case !meta.Expires.IsZero() && !time.Now().Before(meta.Expires):
		meta.Admission.Release()
		r.stats.expired.Add(1)
		r.refuse(conn, codeTokenExpired, "the token has expired; reconnect with a fresh one")
		return ErrTokenExpired
	}
	adm := meta.Admission
	if !adm.take(r) {
		var err error
		if adm, err = r.Admit(); err != nil {
			if errors.Is(err, ErrOverloaded) {
				r.refuse(conn, "overloaded", "the relay has no memory for another peer; try again later")
			} else {
				conn.Close()
			}
			return err
		}
		adm.take(r)
	}
	s, err := r.newSession(conn, meta, adm)
	if err != nil {
		adm.end()
		if errors.Is(err, ErrBanned) {
			r.stats.refused.Add(1)
			r.refuse(conn, "banned", "this peer is banned for sending bad data")
		} else {
			conn.Close()
		}
		return err
	}
	return s.run(ctx)
}

// codeTokenExpired is the signaling error code of a session ended, or a
// peer refused, because its token expired.
const codeTokenExpired = "token_expired"

// refuse tells a peer not taken why, and closes its WebSocket.
func (r *Relay) refuse(conn Conn, code, message string) {
	conn.SetWriteDeadline(time.Now().Add(r.cfg.WriteTimeout))
	conn.WriteMessage(wire.TextMessage, wire.Signal{Type: wire.SignalError, Code: code, Message: message}.Marshal())
	conn.Close()
}

// identityOfRemote is IdentityOf the IP of a host:port address, or the
// address itself when it holds no IP.
func identityOfRemote(remote string) string {
	host := remote
	if h, _, err := net.SplitHostPort(remote); err == nil {
		host = h
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return IdentityOf(ip)
	}
	return host
}

// newSession registers a session for conn; ErrClosed once the relay is
// closing or draining, ErrBanned if its identity was banned meanwhile (the
// check and the registration are one step, so a ban closes every session
// of its identity: see Relay.ban).
func (r *Relay) newSession(conn Conn, meta Meta, adm *Admission) (*session, error) {
	var id [8]byte
	rand.Read(id[:])
	s := &session{
		r:        r,
		id:       "p-" + hex.EncodeToString(id[:]),
		remote:   meta.Remote,
		identity: meta.Identity,
		expires:  meta.Expires,
		adm:      adm,
		start:    time.Now(),
		gone:     make(chan struct{}),
	}
	s.log = r.log.With("peer", s.id, "remote", meta.Remote)
	s.sig.init(conn, r.cfg.SignalQueue, r.cfg.Budget, s.writeWS)
	s.ch.init(r.cfg.Budget)
	s.reqs.init(r.cfg, meta.Allow)
	s.up.init(r.cfg)
	s.heard()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || r.draining.Load() {
		return nil, ErrClosed
	}
	if until, ok := r.bans[meta.Identity]; ok && time.Now().Before(until) {
		return nil, ErrBanned
	}
	r.sessions[s] = struct{}{}
	r.wg.Add(1) // done when the session's teardown ends
	r.stats.sessions.Add(1)
	return s, nil
}
