package relay

import (
	"fmt"
	"sync"
	"time"
)

// admissionTTL is how long an Admission not handed to Accept keeps its
// reservation: an upgrade that failed after Admit must not hold it forever.
const admissionTTL = 10 * time.Second

// Admission is one peer's allowance (Config.PeerMemory) reserved from the
// relay's memory budget before its WebSocket is upgraded. The edge calls
// Admit before the upgrade, answers HTTP 503 on ErrOverloaded, and passes
// the Admission to Accept in Meta.Admission; Accept takes it over, and the
// allowance is released when the peer's teardown ends. One not taken by
// Accept is released by Release, or by itself after admissionTTL (an
// upgrade that failed); Release after Accept took it does nothing, so a
// caller may always defer it.
type Admission struct {
	r *Relay
	n int64

	mu    sync.Mutex // guards the following
	state admissionState
	timer *time.Timer // releases it after admissionTTL; nil without a budget
}

type admissionState uint8

const (
	admissionHeld     admissionState = iota // reserved, not yet taken by Accept
	admissionTaken                          // Accept's: the session releases it
	admissionReleased                       // given back
)

// Admit reserves one more peer's allowance from the memory budget, for a
// peer about to be upgraded and handed to Accept. It fails with
// ErrOverloaded when the budget cannot give it now (someone is waiting for
// memory, or too little is free), and with ErrClosed once the relay is
// draining or closed. Without a budget it always admits.
func (r *Relay) Admit() (*Admission, error) {
	r.mu.Lock()
	closed := r.closed
	r.mu.Unlock()
	if closed || r.draining.Load() {
		return nil, ErrClosed
	}
	b := r.cfg.Budget
	if !b.TryAcquire(r.cfg.PeerMemory) {
		r.stats.overloaded.Add(1)
		return nil, fmt.Errorf("%w: no memory for another peer (%d bytes of %d in use)", ErrOverloaded, b.InUse(), b.Max())
	}
	a := &Admission{r: r, n: r.cfg.PeerMemory}
	if b != nil {
		a.timer = time.AfterFunc(admissionTTL, a.Release)
	}
	return a, nil
}

// Release gives the allowance back unless Accept has taken it over. It is
// idempotent.
func (a *Admission) Release() {
	if a == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.state != admissionHeld {
		return
	}
	a.state = admissionReleased
	a.free()
}

// take hands the allowance to a session of r; false if it is not r's or
// not held any more (released, or taken already).
func (a *Admission) take(r *Relay) bool {
	if a == nil || a.r != r {
		return false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.state != admissionHeld {
		return false
	}
	a.state = admissionTaken
	if a.timer != nil {
		a.timer.Stop()
	}
	return true
}

// end releases a taken allowance: the session that took it is gone.
func (a *Admission) end() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.state == admissionTaken {
		a.state = admissionReleased
		a.free()
	}
}

func (a *Admission) free() {
	if a.timer != nil {
		a.timer.Stop()
	}
	a.r.cfg.Budget.Release(a.n)
}
