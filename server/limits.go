package main

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// maxTrackedIPs bounds the per-IP limiter table; past it the table is
// cleared (every IP starts with a full bucket again), so memory stays
// bounded under a flood from many addresses.
const maxTrackedIPs = 100_000

// ipLimiter is a token bucket per client IP, for WebSocket connects.
type ipLimiter struct {
	perSec float64
	burst  int

	mu      sync.Mutex // guards the following
	buckets map[string]*bucket
	swept   time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

func newIPLimiter(perSec float64, burst int) *ipLimiter {
	return &ipLimiter{perSec: perSec, burst: burst, buckets: make(map[string]*bucket)}
}

// allow takes a token for ip; false when its bucket is empty.
func (l *ipLimiter) allow(ip string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > time.Minute {
		l.sweepLocked(now)
	}
	b := l.buckets[ip]
	if b == nil {
		if len(l.buckets) >= maxTrackedIPs {
			clear(l.buckets)
		}
		b = &bucket{lim: rate.NewLimiter(rate.Limit(l.perSec), l.burst)}
		l.buckets[ip] = b
	}
	b.seen = now
	return b.lim.AllowN(now, 1)
}

// sweepLocked forgets IPs idle long enough for their bucket to be full.
func (l *ipLimiter) sweepLocked(now time.Time) {
	idle := time.Duration(float64(l.burst)/l.perSec*float64(time.Second)) + time.Second
	for ip, b := range l.buckets {
		if now.Sub(b.seen) > idle {
			delete(l.buckets, ip)
		}
	}
	l.swept = now
}
