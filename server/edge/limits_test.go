package edge

import (
	"fmt"
	"testing"
	"time"
)

// TestIPLimiterEvictsPerEntry: a flood of new addresses past the table's
// bound evicts the least recently seen entries one by one; a client that
// keeps knocking keeps its (empty) bucket, so cycling addresses resets no
// one's bucket, and the table stays bounded.
func TestIPLimiterEvictsPerEntry(t *testing.T) {
	l := newIPLimiter(1, 2)
	now := time.Unix(1_700_000_000, 0)
	const victim = "192.0.2.1"
	for range 2 {
		if ok, _ := l.allow(victim, now); !ok {
			t.Fatal("the burst was refused")
		}
	}
	if ok, _ := l.allow(victim, now); ok {
		t.Fatal("past the burst was allowed")
	}
	for i := range maxTrackedIPs + 10 {
		l.allow(fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255), now)
		if i%1000 == 0 {
			if ok, _ := l.allow(victim, now); ok {
				t.Fatalf("after %d other addresses the limited client was allowed again", i+1)
			}
		}
	}
	if ok, _ := l.allow(victim, now); ok {
		t.Fatalf("after %d other addresses the limited client was allowed again", maxTrackedIPs+10)
	}
	if n := l.lru.Len(); n > maxTrackedIPs {
		t.Fatalf("the table holds %d entries, want at most %d", n, maxTrackedIPs)
	}
	// The least recently seen went first: the first flooder is gone (a new,
	// full bucket), the victim is not.
	if l.byKey["10.0.0.1"] != nil {
		t.Error("the least recently seen address was kept")
	}
	if l.byKey[victim] == nil {
		t.Error("the most recently seen address was evicted")
	}
}

// TestIPLimiterRetryAfter: a refusal says how long until the next token.
func TestIPLimiterRetryAfter(t *testing.T) {
	l := newIPLimiter(0.5, 1)
	now := time.Unix(1_700_000_000, 0)
	if ok, _ := l.allow("a", now); !ok {
		t.Fatal("first refused")
	}
	ok, wait := l.allow("a", now)
	if ok || wait < 1900*time.Millisecond || wait > 2*time.Second {
		t.Fatalf("second: ok %v, retry after %v; want refused, 2s", ok, wait)
	}
	if ok, _ := l.allow("a", now.Add(2*time.Second)); !ok {
		t.Fatal("refused after the retry time")
	}
}
