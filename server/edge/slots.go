package edge

import (
	"sync"
	"time"

	"github.com/p2pcache/p2pcache/relay"
)

// slotTTL is how long a slot reserved for an upgrade waits for its
// WebSocket handler: fasthttp runs the handler after the 101 is written,
// and not at all if that write fails, so a slot no handler took is given
// back after this long rather than held forever.
const slotTTL = 30 * time.Second

// peerSlots counts the peers the edge let through, in all (Config.MaxPeers)
// and per client identity (Config.MaxPeersPerIP). A slot is reserved, both
// counts at once under one lock, before the upgrade, and held until the
// peer's session ends: concurrent upgrades cannot overshoot either limit.
type peerSlots struct {
	max, perClient int

	mu       sync.Mutex // guards the following
	total    int
	byClient map[string]int // no zero entries: the map holds the clients with peers
}

func newPeerSlots(max, perClient int) *peerSlots {
	return &peerSlots{max: max, perClient: perClient, byClient: make(map[string]int)}
}

// slotRefusal says why no slot was reserved.
type slotRefusal int

const (
	slotOK        slotRefusal = iota
	slotFull                  // MaxPeers peers are connected or upgrading
	slotPerClient             // the client has MaxPeersPerIP of them
)

// reserve takes a slot for a peer of client (an identity).
func (p *peerSlots) reserve(client string) (*slot, slotRefusal) {
	if why := p.take(client); why != slotOK {
		return nil, why
	}
	s := &slot{p: p, client: client}
	s.mu.Lock() // expire reads the timer
	s.timer = time.AfterFunc(slotTTL, s.expire)
	s.mu.Unlock()
	return s, slotOK
}

// take counts a slot for client, within the limits.
func (p *peerSlots) take(client string) slotRefusal {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.total >= p.max:
		return slotFull
	case p.byClient[client] >= p.perClient:
		return slotPerClient
	}
	p.total++
	p.byClient[client]++
	return slotOK
}

// inUse is how many slots are held now.
func (p *peerSlots) inUse() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.total
}

func (p *peerSlots) free(client string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.total--
	if p.byClient[client]--; p.byClient[client] <= 0 {
		delete(p.byClient, client)
	}
}

// slot is one peer's place: reserved before the upgrade, started by the
// WebSocket handler, released when the handler returns, when the upgrade
// fails, or after slotTTL if no handler started.
type slot struct {
	p      *peerSlots
	client string

	mu    sync.Mutex // guards the following
	timer *time.Timer
	state slotState
	adm   *relay.Admission // the relay's admission for the peer; nil: none yet
}

type slotState uint8

const (
	slotHeld     slotState = iota // reserved, no handler yet
	slotStarted                   // the WebSocket handler has it
	slotReleased                  // given back
)

// start hands the slot to the WebSocket handler; false if it was given back
// already (it expired).
func (s *slot) start() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != slotHeld {
		return false
	}
	s.state = slotStarted
	s.timer.Stop()
	return true
}

// hold makes the slot hold the relay's admission for its peer, given back
// with the slot.
func (s *slot) hold(adm *relay.Admission) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == slotReleased {
		adm.Release()
		return
	}
	s.adm = adm
}

// release gives the slot and the admission it holds back. It is idempotent.
func (s *slot) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.releaseLocked()
}

// expire releases a slot no handler started.
func (s *slot) expire() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == slotHeld {
		s.releaseLocked()
	}
}

func (s *slot) releaseLocked() {
	if s.state == slotReleased {
		return
	}
	s.state = slotReleased
	s.timer.Stop()
	s.adm.Release() // a no-op once the relay's Accept took it
	s.p.free(s.client)
}
