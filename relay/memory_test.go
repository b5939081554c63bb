package relay_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	"github.com/p2pcache/p2pcache/cache"
	"github.com/p2pcache/p2pcache/relay/wire"
)

func heapAlloc() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestQueuedPongsSmall: a peer of the WebSocket rung asks for a big file,
// stops reading and sends PINGs. The relay's writer is stuck behind the
// file, so the PONGs queue (up to the control queue's bound, then they are
// dropped and counted); each must cost its few bytes, not a 64 KiB frame
// buffer: 2000 PINGs grow the relay's heap by well under 4 MiB.
func TestQueuedPongsSmall(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	big := randomBytes(51, 32<<20)
	tr := startRelay(t, map[string][]byte{"big.bin": big}, cache.Config{})
	w := dialWS(t, tr, nil)
	w.send(&wire.Frame{Type: wire.TypeGetFile, ID: 1, Path: "big.bin"})
	if f := w.next(1); f.Type != wire.TypeManifest {
		t.Fatalf("got %s", f.Type)
	}
	// Stop reading: the socket buffers fill, then the relay's queues.
	time.Sleep(time.Second)
	before := heapAlloc()
	for i := range 2000 {
		w.send(&wire.Frame{Type: wire.TypePing, ID: uint32(i), Data: make([]byte, wire.PingLen)})
	}
	deadline := time.Now().Add(10 * time.Second)
	for tr.relay.Stats().PongDrops == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if tr.relay.Stats().PongDrops == 0 {
		t.Fatal("no PONG dropped: the control queue never filled, the test proves nothing")
	}
	grew := int64(heapAlloc()) - int64(before)
	t.Logf("2000 PINGs from a peer that stopped reading: heap +%.2f MiB, %d PONGs dropped", float64(grew)/(1<<20), tr.relay.Stats().PongDrops)
	if grew > 4<<20 {
		t.Errorf("queued PONGs grew the heap by %.1f MiB, want < 4", float64(grew)/(1<<20))
	}
}

// TestNegativeCacheMetrics: the relay's collector (the one registration of
// the relay's and the cache's figures) exports the cache's negative hits
// and entries.
func TestNegativeCacheMetrics(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	tr := startRelay(t, map[string][]byte{"a.bin": randomBytes(52, 1000)}, cache.Config{})
	for range 3 {
		if _, err := tr.cache.Manifest(context.Background(), "missing.bin"); err == nil {
			t.Fatal("a missing file has a manifest")
		}
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(tr.relay.Collector())
	got := gather(t, reg)
	cs := tr.cache.Stats()
	for name, want := range map[string]float64{
		"p2pcache_cache_negative_hits_total": float64(cs.NegativeHits),
		"p2pcache_cache_negative_entries":    float64(cs.NegativeEntries),
	} {
		v, ok := got[name]
		if !ok {
			t.Errorf("%s not exported", name)
		} else if v != want || want == 0 {
			t.Errorf("%s = %v, cache says %v (want > 0)", name, v, want)
		}
	}
}

// gather returns every unlabelled metric's value by name.
func gather(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) != 0 {
				continue
			}
			switch {
			case m.Counter != nil:
				out[mf.GetName()] = m.GetCounter().GetValue()
			case m.Gauge != nil:
				out[mf.GetName()] = m.GetGauge().GetValue()
			}
		}
	}
	return out
}
