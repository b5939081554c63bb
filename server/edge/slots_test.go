package edge

import (
	"testing"
	"testing/synctest"
	"time"
)

// TestPeerSlots: the limits in all and per client hold; release is
// idempotent; a slot no handler started is given back after slotTTL, and
// a handler cannot start it then.
func TestPeerSlots(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPeerSlots(3, 2)
		a1, why := p.reserve("a")
		a2, _ := p.reserve("a")
		if a1 == nil || a2 == nil || why != slotOK {
			t.Fatal("the first two slots of a client were refused")
		}
		if _, why := p.reserve("a"); why != slotPerClient {
			t.Fatalf("a third slot of a client: %v, want slotPerClient", why)
		}
		b1, _ := p.reserve("b")
		if _, why := p.reserve("c"); why != slotFull {
			t.Fatalf("a fourth slot: %v, want slotFull", why)
		}
		if !a1.start() {
			t.Fatal("a held slot did not start")
		}
		a1.release()
		a1.release()
		if n := p.inUse(); n != 2 {
			t.Fatalf("after a release (twice): %d in use, want 2", n)
		}
		time.Sleep(slotTTL + time.Second) // a2 and b1 never started
		synctest.Wait()
		if n := p.inUse(); n != 0 || len(p.byClient) != 0 {
			t.Fatalf("after slotTTL: %d in use, %d clients; want none", n, len(p.byClient))
		}
		if a2.start() || b1.start() {
			t.Error("an expired slot started")
		}
		if _, why := p.reserve("a"); why != slotOK {
			t.Fatalf("after expiry: %v, want slotOK", why)
		}
	})
}
