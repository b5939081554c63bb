package mesh

import (
	"cmp"
	"slices"
	"sync"
	"time"
)

// Member is one relay of the cluster, as its announcements describe it.
// The JSON is that of GET /cluster's "relays".
type Member struct {
	ID      string    `json:"id"`
	URL     string    `json:"url"`
	Region  string    `json:"region,omitempty"`
	Peers   int       `json:"peers"`
	Egress  uint64    `json:"egress"` // bytes sent to peers since it started
	Started time.Time `json:"started"`
	Self    bool      `json:"self,omitempty"`
	// SeenMS is how long ago, in ms, its last announcement arrived here;
	// 0 for this relay.
	SeenMS int64 `json:"seenMs"`
}

type memberEntry struct {
	Member
	instance string
	seen     time.Time // when its last announcement arrived: this relay's clock only
}

// members is the membership table: the other relays heard from within
// expiry, by id. Expiry uses the time announcements arrive, never the time
// a sender wrote, so the relays' clocks need not agree. It is safe for
// concurrent use.
type members struct {
	selfID, instance string
	expiry           time.Duration

	mu      sync.Mutex
	others  map[string]*memberEntry
	ids     []string      // live ids, self included, sorted; replaced, never modified, on change
	changed chan struct{} // closed and replaced on every change
	dupes   uint64        // announcements of this relay's id by another process
}

func newMembers(selfID, instance string, expiry time.Duration) *members {
	return &members{
		selfID: selfID, instance: instance, expiry: expiry,
		others:  make(map[string]*memberEntry),
		ids:     []string{selfID},
		changed: make(chan struct{}),
	}
}

// apply records announcement a, which arrived at now. changed: the set of
// members (or one's URL or region) changed; answer: a is a join, which
// this relay answers with its own announcement at once, so a newcomer
// learns the cluster in one round trip rather than one interval.
func (ms *members) apply(a announcement, now time.Time) (changed, answer bool) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	if a.ID == ms.selfID {
		if a.Instance != ms.instance {
			ms.dupes++
		}
		return false, false
	}
	e, ok := ms.others[a.ID]
	if a.State == stateLeave {
		if ok && e.instance == a.Instance {
			delete(ms.others, a.ID)
			ms.notifyLocked()
			return true, false
		}
		return false, false
	}
	if !ok {
		e = &memberEntry{}
		ms.others[a.ID] = e
		changed = true
	} else if e.URL != a.URL || e.Region != a.Region {
		changed = true
	}
	e.Member = Member{ID: a.ID, URL: a.URL, Region: a.Region, Peers: a.Peers, Egress: a.Egress, Started: a.Started}
	e.instance, e.seen = a.Instance, now
	if changed {
		ms.notifyLocked()
	}
	return changed, a.State == stateJoin
}

// expire forgets the members silent since before now-expiry, and reports
// whether there were any.
func (ms *members) expire(now time.Time) bool {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	n := len(ms.others)
	for id, e := range ms.others {
		if now.Sub(e.seen) > ms.expiry {
			delete(ms.others, id)
		}
	}
	if len(ms.others) == n {
		return false
	}
	ms.notifyLocked()
	return true
}

// reset forgets every other member (this relay lost NATS: it is alone),
// and reports whether there were any.
func (ms *members) reset() bool {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	if len(ms.others) == 0 {
		return false
	}
	clear(ms.others)
	ms.notifyLocked()
	return true
}

// live returns the live ids, this relay's included, sorted. The slice is
// shared: do not modify it.
func (ms *members) live() []string {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	return ms.ids
}

// watch returns the live ids and a channel closed at the next change.
func (ms *members) watch() ([]string, <-chan struct{}) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	return ms.ids, ms.changed
}

// list returns the other members, by id.
func (ms *members) list(now time.Time) []Member {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	out := make([]Member, 0, len(ms.others))
	for _, e := range ms.others {
		m := e.Member
		m.SeenMS = now.Sub(e.seen).Milliseconds()
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b Member) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

func (ms *members) duplicates() uint64 {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	return ms.dupes
}

func (ms *members) notifyLocked() {
	ids := make([]string, 0, len(ms.others)+1)
	ids = append(ids, ms.selfID)
	for id := range ms.others {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	ms.ids = ids
	close(ms.changed)
	ms.changed = make(chan struct{})
}
