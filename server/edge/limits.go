package edge

import (
	"container/list"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// maxTrackedIPs bounds a per-client limiter table. Past it the client seen
// least recently is forgotten, one entry per new client: a flood of new
// addresses costs the flooders' own oldest entries, never the buckets of
// clients still knocking (clearing the table would hand every client a full
// bucket again).
const maxTrackedIPs = 100_000

// ipLimiter is a token bucket per client (a relay.IdentityOf key: an IPv4
// address or an IPv6 /64), kept in least-recently-seen order.
type ipLimiter struct {
	perSec float64
	burst  int

	mu    sync.Mutex // guards the following
	byKey map[string]*list.Element
	lru   list.List // of *bucket; front: seen most recently
	swept time.Time
}

type bucket struct {
	key  string
	lim  *rate.Limiter
	seen time.Time
}

func newIPLimiter(perSec float64, burst int) *ipLimiter {
	return &ipLimiter{perSec: perSec, burst: burst, byKey: make(map[string]*list.Element)}
}

// allow takes a token for key. Refused, it says how long until the next
// token (for Retry-After).
func (l *ipLimiter) allow(key string, now time.Time) (ok bool, retry time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > time.Minute {
		l.sweepLocked(now)
	}
	var b *bucket
	if el := l.byKey[key]; el != nil {
		b = el.Value.(*bucket)
		l.lru.MoveToFront(el)
	} else {
		if l.lru.Len() >= maxTrackedIPs {
			l.evictLocked(l.lru.Back())
		}
		b = &bucket{key: key, lim: rate.NewLimiter(rate.Limit(l.perSec), l.burst)}
		l.byKey[key] = l.lru.PushFront(b)
	}
	b.seen = now
	if b.lim.AllowN(now, 1) {
		return true, 0
	}
	return false, time.Duration((1 - b.lim.TokensAt(now)) / l.perSec * float64(time.Second))
}

// sweepLocked forgets the clients idle long enough for their bucket to be
// full again: the table's tail, in least-recently-seen order.
func (l *ipLimiter) sweepLocked(now time.Time) {
	idle := time.Duration(float64(l.burst)/l.perSec*float64(time.Second)) + time.Second
	for el := l.lru.Back(); el != nil && now.Sub(el.Value.(*bucket).seen) > idle; el = l.lru.Back() {
		l.evictLocked(el)
	}
	l.swept = now
}

func (l *ipLimiter) evictLocked(el *list.Element) {
	delete(l.byKey, el.Value.(*bucket).key)
	l.lru.Remove(el)
}
