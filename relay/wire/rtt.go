package wire

import (
	"sync"
	"time"
)

// RTTEstimator smooths round-trip samples like TCP (RFC 6298): SRTT moves an
// eighth of the way to each sample, RTTVAR a quarter of the way to the
// sample's distance from SRTT. Routing uses SRTT; a timeout derived from it is
// SRTT + 4·RTTVAR.
type RTTEstimator struct {
	mu      sync.Mutex // guards the following
	srtt    time.Duration
	rttvar  time.Duration
	samples int
	last    time.Duration
}

// Add records one round-trip sample.
func (e *RTTEstimator) Add(r time.Duration) {
	if r < 0 {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.last = r
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
	Samples            int
}

// Timeout is SRTT + 4·RTTVAR, the RFC 6298 retransmission timeout.
func (r RTT) Timeout() time.Duration { return r.SRTT + 4*r.RTTVar }

// Get returns the current estimate.
func (e *RTTEstimator) Get() RTT {
	e.mu.Lock()
	defer e.mu.Unlock()
	return RTT{SRTT: e.srtt, RTTVar: e.rttvar, Last: e.last, Samples: e.samples}
}
