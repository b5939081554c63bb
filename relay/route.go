package relay

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/p2pcache/p2pcache/relay/wire"
)

// ErrNoHolder: no connected peer could provide the chunk; the cache goes to
// the origin.
var ErrNoHolder = errors.New("no peer holds the chunk")

// defaultPeerRate is the upload rate assumed for a peer not measured yet.
const defaultPeerRate = 8 << 20 // bytes per second

// maxTries bounds the holders asked for one chunk before the origin.
const maxTries = 3

// requesterKey is the context key of the session whose request caused a
// cache miss: the relay never asks that peer for the chunk it is asking for.
type requesterKey struct{}

// FetchChunk implements cache.PeerSource: it fills a cache miss from the
// connected peer expected to deliver chunk i of m soonest.
//
// Ranking: a holder's expected completion time is its smoothed RTT plus the
// time to send this chunk and everything already in flight from it at its
// measured upload rate, so a fast but busy peer can lose to an idle one.
// Each try has a timeout derived from that peer's own estimate (RTO-style:
// SRTT + 4·RTTVAR plus twice the transfer time, at least PeerTimeoutMin); on
// timeout, disconnect or refusal the next holder is tried (a hedge), up to
// three, and then the origin. Bytes are verified here: a peer that sends
// bytes not matching the manifest gets a strike, and BanStrikes strikes
// disconnect it and ban its identity for BanDuration. The peer whose request
// caused the miss is never asked.
func (r *Relay) FetchChunk(ctx context.Context, m *wire.Manifest, i int) ([]byte, error) {
	if r.cfg.DisablePeerFetch {
		return nil, ErrNoHolder
	}
	h := m.Chunks[i]
	n := m.ChunkLen(i)
	self, _ := ctx.Value(requesterKey{}).(*session)
	cands := r.rank(r.holders.of(h), n, self)
	for _, c := range cands[:min(len(cands), maxTries)] {
		s := c.s
		tctx, cancel := context.WithTimeoutCause(ctx, c.timeout, ErrTimeout)
		b, err := s.pullChunk(tctx, m, i)
		cancel()
		switch {
		case err == nil && wire.Sum(b) == h:
			r.stats.peerFetch(fetchOK)
			return b, nil
		case err == nil:
			r.stats.peerFetch(fetchHashMismatch)
			r.strike(s, fmt.Errorf("%w: chunk %d of %s: sha-256 mismatch", wire.ErrVerify, i, m.Path))
		case errors.Is(err, wire.ErrVerify):
			r.stats.peerFetch(fetchHashMismatch)
			r.strike(s, fmt.Errorf("chunk %d of %s: %w", i, m.Path, err))
		case errors.Is(err, ErrTimeout):
			r.stats.peerFetch(fetchTimeout)
			s.log.Debug("peer fetch timed out", "path", m.Path, "chunk", i, "timeout", c.timeout)
		case errors.Is(err, errPeerBusy), errors.Is(err, errPeerDeclined):
			// not asked: try the next
		case errors.Is(err, wire.ErrRemote):
			// It no longer holds it (or refused): forget that it does.
			r.stats.peerFetch(fetchGone)
			r.holders.mu.Lock()
			r.holders.removeLocked(h, s)
			r.holders.mu.Unlock()
		default:
			r.stats.peerFetch(fetchGone)
		}
		if ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
	}
	return nil, ErrNoHolder
}

type candidate struct {
	s       *session
	ect     time.Duration // expected completion time
	timeout time.Duration
}

// rank orders usable holders by expected completion time for an n-byte chunk.
func (r *Relay) rank(ss []*session, n int, self *session) []candidate {
	out := make([]candidate, 0, len(ss))
	for _, s := range ss {
		if s == self || s.isGone() || !s.serves.Load() || !s.dcOpen.Load() {
			continue
		}
		rtt := s.rtt.Get()
		srtt := rtt.SRTT
		if rtt.Samples == 0 {
			srtt = 100 * time.Millisecond
		}
		rate := s.upload.get(defaultPeerRate)
		send := time.Duration(float64(n) / rate * float64(time.Second))
		queued := time.Duration(float64(int(s.inflight.Load())*n) / rate * float64(time.Second))
		c := candidate{s: s, ect: srtt + queued + send}
		c.timeout = max(r.cfg.PeerTimeoutMin, srtt+4*rtt.RTTVar+2*(send+queued))
		out = append(out, c)
	}
	rand.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	sort.SliceStable(out, func(i, j int) bool { return out[i].ect < out[j].ect })
	return out
}

// strike counts a verification failure against s; at BanStrikes the peer is
// dropped and its identity banned.
func (r *Relay) strike(s *session, why error) {
	s.mu.Lock()
	s.strikes++
	n := s.strikes
	s.mu.Unlock()
	s.log.Warn("peer sent bad bytes", "strike", n, "of", r.cfg.BanStrikes, "err", why)
	if n < r.cfg.BanStrikes {
		return
	}
	r.ban(s.identity)
	r.stats.bans.Add(1)
	s.log.Warn("peer banned", "identity", s.identity, "for", r.cfg.BanDuration)
	s.close(fmt.Errorf("%w: %d bad chunks", ErrBanned, n))
}

// ErrBanned: the peer's identity is banned for sending bad bytes.
var ErrBanned = errors.New("banned")

func (r *Relay) ban(identity string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	for id, until := range r.bans { // keep the list to the live bans
		if now.After(until) {
			delete(r.bans, id)
		}
	}
	r.bans[identity] = now.Add(r.cfg.BanDuration)
}

// Banned reports whether identity is banned now.
func (r *Relay) Banned(identity string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	until, ok := r.bans[identity]
	return ok && time.Now().Before(until)
}
