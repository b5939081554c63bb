package relay_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/p2pcache/p2pcache/cache"
	"github.com/p2pcache/p2pcache/relay"
)

// waitIndex waits until the holder index has want entries.
func waitIndex(t *testing.T, tr *testRelay, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for tr.relay.Stats().HolderIndex != want && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if got := tr.relay.Stats().HolderIndex; got != want {
		t.Fatalf("holder index has %d entries, want %d", got, want)
	}
}

// TestHolderPairsCappedPerPeer: one peer announcing more chunks than the
// whole index holds gets its share (MaxHolderEntries/16 pairs here), and an
// honest peer's HAVE after it is still indexed in full.
func TestHolderPairsCappedPerPeer(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	const kib = 1024
	files := map[string][]byte{"honest.bin": randomBytes(41, 50*kib)}
	for i := range 3 {
		files[fmt.Sprintf("flood%d.bin", i)] = randomBytes(uint64(42+i), 700*kib)
	}
	tr := startRelay(t, files, cache.Config{ChunkSize: kib}, func(c *relay.Config) {
		c.MaxHolderEntries = 1600 // a share of 100 pairs per peer
	})
	flooder := dialWS(t, tr, http.Header{"X-Test-Identity": {"flooder"}})
	for i := range 3 {
		m := flooder.manifest(uint32(i+1), fmt.Sprintf("flood%d.bin", i))
		flooder.have(m, true)
	}
	// Its HAVEs are handled in order: one more request answered means
	// they have been.
	flooder.manifest(9, "honest.bin")
	flooded := tr.relay.Stats().HolderIndex
	t.Logf("the flooder announced 2100 chunks: %d indexed, %d dropped", flooded, tr.relay.Stats().HolderDrops)
	if flooded > 100 {
		t.Errorf("one peer holds %d of the index's 1600 pairs, want at most its share of 100", flooded)
	}

	honest := dialWS(t, tr, http.Header{"X-Test-Identity": {"honest"}})
	m := honest.manifest(1, "honest.bin")
	honest.have(m, true)
	waitIndex(t, tr, flooded+len(m.Chunks))
}

// TestHaveRateLimited: HAVE frames cost their chunk count from a per-peer
// token bucket (HaveRate chunks a second); past it they are dropped and
// counted, so a peer cannot keep the index's lock busy. A second HAVE right
// after a full one is dropped: its "holds nothing now" changes nothing.
func TestHaveRateLimited(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	tr := startRelay(t, map[string][]byte{"h.bin": randomBytes(44, 500*1024)}, cache.Config{ChunkSize: 1024}, func(c *relay.Config) {
		c.HaveRate = 500 // one such file a second
	})
	w := dialWS(t, tr, nil)
	m := w.manifest(1, "h.bin")
	w.have(m, true)
	waitIndex(t, tr, len(m.Chunks))
	w.have(m, false)
	w.manifest(2, "h.bin") // the HAVE before it has been handled
	st := tr.relay.Stats()
	if st.HolderIndex != len(m.Chunks) || st.HaveDrops != 1 {
		t.Errorf("after a second HAVE within the second: index %d, HAVEs dropped %d; want %d and 1", st.HolderIndex, st.HaveDrops, len(m.Chunks))
	}
}
