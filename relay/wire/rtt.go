package wire

import (
	"sync"
	"time"
)

// RTTEstimator smooths round-trip samples like TCP (RFC 6298): SRTT moves an
// eighth of the way to each sample, RTTVAR a quarter of the way to the
// sample's distance from SRTT; a timeout derived from them is SRTT +
// 4·RTTVAR. It also keeps the least of the last MinRTTWindow samples (Min):
// the path's latency without the queueing that inflates the others. A
// sample taken while the peer's own upload queued ahead of the answer (a
// PONG behind chunks on an ordered channel) says how busy it was then, and
// SRTT remembers that for tens of samples; routing wants how fast the peer
// answers now, and counts the work it gives the peer itself.
type RTTEstimator struct {
	mu      sync.Mutex // guards the following
	srtt    time.Duration
	rttvar  time.Duration
	samples int
	last    time.Duration
	recent  [MinRTTWindow]time.Duration // the last samples, a ring at samples % MinRTTWindow
}

// MinRTTWindow is how many recent samples Min is taken over (with the
// relay's PING every second: the last 8 seconds).
const MinRTTWindow = 8

// Add records one round-trip sample.
func (e *RTTEstimator) Add(r time.Duration) {
	if r < 0 {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.last = r
	e.recent[e.samples%MinRTTWindow] = r
	if e.samples == 0 {
		e.srtt, e.rttvar = r, r/2
	} else {
		d := e.srtt - r
		if d < 0 {
			d = -d
		}
		e.rttvar += (d - e.rttvar) / 4
		e.srtt += (r - e.srtt) / 8
	}
	e.samples++
}

// RTT is a snapshot of a round-trip estimate.
type RTT struct {
	SRTT, RTTVar, Last time.Duration
	Min                time.Duration // the least of the last MinRTTWindow samples
	Samples            int
}

// Timeout is SRTT + 4·RTTVAR, the RFC 6298 retransmission timeout.
func (r RTT) Timeout() time.Duration { return r.SRTT + 4*r.RTTVar }

// Get returns the current estimate.
func (e *RTTEstimator) Get() RTT {
	e.mu.Lock()
	defer e.mu.Unlock()
	m := time.Duration(0)
	for i := range min(e.samples, MinRTTWindow) {
		if i == 0 || e.recent[i] < m {
			m = e.recent[i]
		}
	}
	return RTT{SRTT: e.srtt, RTTVar: e.rttvar, Last: e.last, Min: m, Samples: e.samples}
}
