package mesh

import (
	"sync"
	"time"
)

// Results of a request to another relay, as Config.Observe and RemoteStats
// name them.
const (
	resultOK          = "ok"
	resultMiss        = "miss"
	resultNotFound    = "not_found"
	resultError       = "error"
	resultTimeout     = "timeout"
	resultUnreachable = "unreachable"
	resultBadBytes    = "bad_bytes"
)

// RemoteStats are this relay's counts of its requests to one other relay.
type RemoteStats struct {
	Manifests, Chunks, Peeks uint64 // requests sent, by kind
	OK                       uint64 // answered with the bytes asked for
	Misses                   uint64 // answered MISS: not there, busy, or a loop avoided
	NotFound                 uint64 // answered "the origin has no such file"
	Errors                   uint64 // answered ERROR: the owner failed
	Timeouts                 uint64 // no answer (or no heartbeat) in time
	Unreachable              uint64 // no one on its subject, or NATS down while asking
	BadBytes                 uint64 // answers that failed verification: strikes
	BytesIn                  uint64 // answer bytes received
	// Latency is summed over the answered requests (OK, Misses, NotFound,
	// Errors, BadBytes): divide by their count for the mean.
	Latency time.Duration
	// SRTT is the smoothed time to its first answer message, RTTVar its
	// variation.
	SRTT, RTTVar time.Duration
	Strikes      int
	Excluded     bool // excluded for bad bytes: neither asked nor given ownership here
	Suspect      bool // skipped for a while after a timeout or being unreachable
}

// remote is what this relay knows of another from asking it.
type remote struct {
	st            RemoteStats
	srtt, rttvar  time.Duration // 0: no sample yet
	suspectUntil  time.Time
	excludedUntil time.Time
}

// remotes tracks every relay asked: round-trip times for timeouts,
// suspicion after silence, strikes and exclusion after bad bytes, and the
// counts. It is safe for concurrent use.
type remotes struct {
	timeoutMin, timeoutMax time.Duration
	suspectFor, excludeFor time.Duration
	strikes                int

	mu sync.Mutex
	m  map[string]*remote
}

// maxRemotes bounds the table: past it, relays neither live nor excluded
// are forgotten (see prune).
const maxRemotes = 256

func newRemotes(cfg Config) *remotes {
	return &remotes{
		timeoutMin: cfg.TimeoutMin, timeoutMax: cfg.TimeoutMax,
		suspectFor: cfg.SuspectFor, excludeFor: cfg.ExcludeFor, strikes: cfg.Strikes,
		m: make(map[string]*remote),
	}
}

func (rs *remotes) getLocked(id string) *remote {
	r := rs.m[id]
	if r == nil {
		r = &remote{}
		rs.m[id] = r
	}
	return r
}

// timeout is how long to wait for id's first answer: 3 × its smoothed
// round trip, or more if it varies (TCP's srtt + 4 × rttvar), within
// [timeoutMin, timeoutMax]; timeoutMax before a sample.
func (rs *remotes) timeout(id string) time.Duration {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	r := rs.m[id]
	if r == nil || r.srtt == 0 {
		return rs.timeoutMax
	}
	return min(max(3*r.srtt, r.srtt+4*r.rttvar, rs.timeoutMin), rs.timeoutMax)
}

// usable reports whether id may be asked (and own keys) now: it is
// neither excluded nor suspect.
func (rs *remotes) usable(id string, now time.Time) bool {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	r := rs.m[id]
	return r == nil || (now.After(r.excludedUntil) && now.After(r.suspectUntil))
}

// sent counts a request of kind to id.
func (rs *remotes) sent(id, kind string) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	r := rs.getLocked(id)
	switch kind {
	case kindManifest:
		r.st.Manifests++
	case kindChunk:
		r.st.Chunks++
	default:
		r.st.Peeks++
	}
}

// rtt folds a sample of the time to id's first answer message into its
// smoothed round trip and its variation (RFC 6298's gains, 1/8 and 1/4).
func (rs *remotes) rtt(id string, d time.Duration) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	r := rs.getLocked(id)
	d = max(d, time.Microsecond)
	if r.srtt == 0 {
		r.srtt, r.rttvar = d, d/2
		return
	}
	dev := r.srtt - d
	if dev < 0 {
		dev = -dev
	}
	r.rttvar += (dev - r.rttvar) / 4
	r.srtt += (d - r.srtt) / 8
}

// done records the result of a request to id that took d and brought n
// bytes. It reports whether id is now excluded.
func (rs *remotes) done(id, result string, d time.Duration, n int, now time.Time) (excluded bool) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	r := rs.getLocked(id)
	r.st.BytesIn += uint64(n)
	switch result {
	case resultTimeout:
		r.st.Timeouts++
		r.suspectUntil = now.Add(rs.suspectFor)
		return false
	case resultUnreachable:
		r.st.Unreachable++
		r.suspectUntil = now.Add(rs.suspectFor)
		return false
	case resultOK:
		r.st.OK++
	case resultMiss:
		r.st.Misses++
	case resultNotFound:
		r.st.NotFound++
	case resultError:
		r.st.Errors++
	case resultBadBytes:
		r.st.BadBytes++
		r.st.Strikes++
		if r.st.Strikes >= rs.strikes {
			r.excludedUntil = now.Add(rs.excludeFor)
			r.st.Strikes = 0
			excluded = true
		}
	}
	r.st.Latency += d
	r.suspectUntil = time.Time{} // it answered
	return excluded
}

// forgive ends every suspicion (not exclusions).
func (rs *remotes) forgive() {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	for _, r := range rs.m {
		r.suspectUntil = time.Time{}
	}
}

// stats copies the counts of every relay asked.
func (rs *remotes) stats(now time.Time) map[string]RemoteStats {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	out := make(map[string]RemoteStats, len(rs.m))
	for id, r := range rs.m {
		st := r.st
		st.SRTT, st.RTTVar = r.srtt, r.rttvar
		st.Excluded = now.Before(r.excludedUntil)
		st.Suspect = now.Before(r.suspectUntil)
		out[id] = st
	}
	return out
}

// prune forgets, once the table is over maxRemotes, the relays that are
// not live and not excluded, so ids that come and go do not grow it.
func (rs *remotes) prune(live []string, now time.Time) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if len(rs.m) <= maxRemotes {
		return
	}
	keep := make(map[string]bool, len(live))
	for _, id := range live {
		keep[id] = true
	}
	for id, r := range rs.m {
		if !keep[id] && !now.Before(r.excludedUntil) {
			delete(rs.m, id)
		}
	}
}
