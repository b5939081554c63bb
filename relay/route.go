package relay

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"github.com/p2pcache/p2pcache/relay/wire"
)

// defaultPeerRate is the upload rate assumed for a peer not measured yet.
const defaultPeerRate = 8 << 20 // bytes per second

// unmeasuredRTT is the round trip assumed for a peer with no RTT sample yet.
const unmeasuredRTT = 100 * time.Millisecond

// maxTries bounds the holders asked for one chunk before the origin.
const maxTries = 3

// demotionHalfLife is how fast a holder's timeouts are forgiven: its
// penalty halves in this time.
const demotionHalfLife = 30 * time.Second

// demotion is a holder's penalty for the tries that timed out at it: each
// adds one, a try it answered halves it, and it halves every
// demotionHalfLife. A holder whose penalty is at least a half ranks after
// every holder that is not (one timeout demotes it for a half-life, two for
// two), however fast its round trip: a peer that answers PINGs at once and
// never a GET_CHUNK costs one timeout, not one per chunk.
type demotion struct {
	mu    sync.Mutex // guards the following
	score float64
	at    time.Time // when score was last brought up to date
}

// decayLocked brings score up to now.
func (d *demotion) decayLocked(now time.Time) {
	if d.score != 0 {
		d.score *= math.Exp2(-float64(now.Sub(d.at)) / float64(demotionHalfLife))
	}
	d.at = now
}

// timedOut counts one try that timed out.
func (d *demotion) timedOut(now time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.decayLocked(now)
	d.score++
}

// answered counts one try the holder answered in time.
func (d *demotion) answered(now time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.decayLocked(now)
	d.score /= 2
}

// demoted reports whether the holder ranks after the undemoted ones now.
func (d *demotion) demoted(now time.Time) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.decayLocked(now)
	return d.score >= 0.5
}

// FetchChunk implements cache.PeerSource: it fills a cache miss from the
// connected peer expected to deliver chunk i of m soonest. from is the id
// of the peer whose request caused the miss (the cache passes on what the
// session gave ChunkFrom); that peer is never asked for the chunk it is
// asking for. Misses share one fetch, so when several peers miss the same
// chunk at once only the first one's id is excluded (a later one, if asked,
// no longer holds the chunk: it answers ERROR and the next holder is tried).
//
// Ranking: a holder's expected completion time is its recent minimum RTT
// (wire.RTT.Min: how fast it answers when nothing queues ahead) plus the
// time to send this chunk and everything already in flight from it at its
// measured upload rate, so a fast but busy peer can lose to an idle one;
// the smoothed RTT would count that queueing twice, and long after it
// drained (a holder busy uploading a few seconds ago ranked last for tens of
// seconds);
// holders demoted for timing out lately (see demotion) come after all the
// others.
// Each try has a timeout derived from that peer's own estimate (RTO-style:
// SRTT + 4·RTTVAR plus twice the transfer time, at least PeerTimeoutMin); on
// timeout, disconnect or refusal the next holder is tried (a hedge), up to
// three, and then the origin. Bytes are verified here: a peer that sends
// bytes not matching the manifest gets a strike, and BanStrikes strikes
// disconnect it and ban its identity for BanDuration.
func (r *Relay) FetchChunk(ctx context.Context, m *wire.Manifest, i int, from string) ([]byte, error) {
	if r.cfg.DisablePeerFetch {
		return nil, ErrNoHolder
	}
	h := m.Chunks[i]
	n := m.ChunkLen(i)
	cands := r.rank(r.holders.of(h), n, from)
	for _, c := range cands[:min(len(cands), maxTries)] {
		s := c.s
		tctx, cancel := context.WithTimeoutCause(ctx, c.timeout, ErrTimeout)
		b, err := s.pullChunk(tctx, m, i)
		cancel()
		switch {
		case err == nil && wire.Sum(b) == h:
			r.stats.peerFetch(fetchOK)
			s.up.demotion.answered(time.Now())
			return b, nil
		case err == nil:
			r.stats.peerFetch(fetchHashMismatch)
			r.strike(s, fmt.Errorf("%w: chunk %d of %s: sha-256 mismatch", wire.ErrVerify, i, m.Path))
		case errors.Is(err, wire.ErrVerify):
			r.stats.peerFetch(fetchHashMismatch)
			r.strike(s, fmt.Errorf("chunk %d of %s: %w", i, m.Path, err))
		case errors.Is(err, ErrTimeout):
			r.stats.peerFetch(fetchTimeout)
			s.up.demotion.timedOut(time.Now())
			s.log.Debug("peer fetch timed out", "path", m.Path, "chunk", i, "timeout", c.timeout)
		case errors.Is(err, errPeerBusy), errors.Is(err, errPeerDeclined):
			// not asked: try the next
		case errors.Is(err, wire.ErrRemote):
			// It no longer holds it (or refused): forget that it does.
			r.stats.peerFetch(fetchGone)
			r.holders.remove(h, s)
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
	demoted bool          // it timed out lately: it goes after the others
	ect     time.Duration // expected completion time
	timeout time.Duration
}

// rank orders usable holders by expected completion time for an n-byte
// chunk, the demoted ones (see demotion) last, leaving out the peer whose
// id is from.
func (r *Relay) rank(ss []*session, n int, from string) []candidate {
	now := time.Now()
	out := make([]candidate, 0, len(ss))
	for _, s := range ss {
		if s.id == from || s.isGone() || !s.up.serves.Load() || !s.ch.open.Load() {
			continue
		}
		rtt := s.live.rtt.Get()
		srtt, lat := rtt.SRTT, rtt.Min
		if rtt.Samples == 0 {
			srtt, lat = unmeasuredRTT, unmeasuredRTT
		}
		rate := s.up.tput.get(defaultPeerRate)
		send := time.Duration(float64(n) / rate * float64(time.Second))
		queued := time.Duration(float64(int(s.up.inflight.Load())*n) / rate * float64(time.Second))
		c := candidate{s: s, demoted: s.up.demotion.demoted(now), ect: lat + queued + send}
		c.timeout = max(r.cfg.PeerTimeoutMin, srtt+4*rtt.RTTVar+2*(send+queued))
		out = append(out, c)
	}
	rand.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].demoted != out[j].demoted {
			return !out[i].demoted
		}
		return out[i].ect < out[j].ect
	})
	return out
}
