package relay_test

import (
	"bytes"
	"context"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"go.uber.org/goleak"

	"github.com/p2pcache/p2pcache/cache"
	"github.com/p2pcache/p2pcache/relay"
	"github.com/p2pcache/p2pcache/relay/peer"
)

// usage is what a leak would grow.
type usage struct {
	goroutines, fds int
	heap            uint64
}

func measure() usage {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fds, _ := os.ReadDir("/proc/self/fd")
	return usage{goroutines: runtime.NumGoroutine(), fds: len(fds), heap: ms.HeapAlloc}
}

// TestChurn runs 200 connect/fetch/disconnect cycles, a quarter of them
// abandoned part-way through the connect (during signaling, ICE or DTLS),
// and checks goroutines, open files and heap return to their baseline.
func TestChurn(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	file := randomBytes(3, 200_000)
	tr := startRelay(t, map[string][]byte{"a.bin": file}, cache.Config{}, func(c *relay.Config) {
		c.HandshakeTimeout = 2 * time.Second
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	cycle := func(i int) error {
		switch i % 4 {
		case 0, 1: // the whole thing
			p, err := peer.Dial(ctx, tr.url, peer.Options{})
			if err != nil {
				return err
			}
			defer p.Close()
			b, err := p.Fetch(ctx, "/a.bin")
			if err == nil && !bytes.Equal(b, file) {
				t.Errorf("cycle %d: wrong bytes", i)
			}
			return err
		case 2: // abandoned mid-connect: 0–24 ms in, anywhere from the upgrade to DTLS
			dctx, dcancel := context.WithTimeout(ctx, time.Duration(i%25)*time.Millisecond)
			defer dcancel()
			if p, err := peer.Dial(dctx, tr.url, peer.Options{}); err == nil {
				p.Close()
			}
			return nil
		default: // signaling only, dropped without a bye
			c, _, err := websocket.DefaultDialer.Dial("ws"+tr.url[len("http"):], nil)
			if err != nil {
				return err
			}
			c.WriteMessage(websocket.TextMessage, []byte(`{"v":1,"type":"offer","sdp":"v=0\r\n"}`))
			return c.Close()
		}
	}
	settle := func() usage {
		deadline := time.Now().Add(10 * time.Second)
		for tr.relay.PeerCount() != 0 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(200 * time.Millisecond) // teardown goroutines finishing
		return measure()
	}
	// Warm up: the first connection creates pools and lazily started
	// goroutines that stay for the process's life.
	for i := range 4 {
		if err := cycle(i); err != nil {
			t.Fatalf("warm-up cycle %d: %v", i, err)
		}
	}
	before := settle()
	start := time.Now()
	for i := range 200 {
		if err := cycle(i); err != nil {
			t.Fatalf("cycle %d: %v", i, err)
		}
	}
	took := time.Since(start)
	var after usage
	deadline := time.Now().Add(10 * time.Second)
	for {
		after = settle()
		if after.goroutines <= before.goroutines+2 && after.fds <= before.fds+2 || time.Now().After(deadline) {
			break
		}
	}
	t.Logf("200 cycles in %v: goroutines %d → %d, open fds %d → %d, heap %.1f → %.1f MiB; sessions %d",
		took.Round(time.Millisecond), before.goroutines, after.goroutines, before.fds, after.fds,
		float64(before.heap)/(1<<20), float64(after.heap)/(1<<20), tr.relay.Stats().Sessions)
	if after.goroutines > before.goroutines+2 {
		t.Errorf("goroutines grew from %d to %d", before.goroutines, after.goroutines)
	}
	if after.fds > before.fds+2 {
		t.Errorf("open files grew from %d to %d", before.fds, after.fds)
	}
	if after.heap > before.heap+8<<20 {
		t.Errorf("heap grew from %d to %d bytes", before.heap, after.heap)
	}
	if n := tr.relay.PeerCount(); n != 0 {
		t.Errorf("%d peers still connected", n)
	}
}

// TestStuckConsumer: a peer that stops reading its data channel must not slow
// the others, and is evicted once it has not drained for IdleTimeout.
func TestStuckConsumer(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	const idle = 6 * time.Second
	file := randomBytes(4, 2<<20)
	tr := startRelay(t, map[string][]byte{"big.bin": file}, cache.Config{}, func(c *relay.Config) {
		c.IdleTimeout = idle
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	good := make([]*peer.Peer, 3)
	for i := range good {
		p, err := peer.Dial(ctx, tr.url, peer.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		good[i] = p
	}
	// goodput has every good peer fetch the file rounds times at once.
	goodput := func(rounds int) float64 {
		start := time.Now()
		var wg sync.WaitGroup
		for i, p := range good {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range rounds {
					b, err := p.Fetch(ctx, "/big.bin")
					if err != nil || !bytes.Equal(b, file) {
						t.Errorf("good peer %d: %d bytes, %v", i, len(b), err)
						return
					}
				}
			}()
		}
		wg.Wait()
		return float64(len(good)*rounds*len(file)) / time.Since(start).Seconds()
	}
	goodput(1) // warm the cache
	base := goodput(6)

	stuck, err := peer.Dial(ctx, tr.url, peer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer stuck.Close()
	stuckID := stuck.ID()
	stuck.StopReadingForTest()
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() { // these requests back up in the relay's send buffer
			defer wg.Done()
			stuck.Fetch(ctx, "/big.bin")
		}()
	}
	// Let the stuck peer take its fill (its receive window) first: what is
	// measured is the others beside a peer that stopped, not the CPU its
	// last window cost.
	time.Sleep(time.Second)
	withStuck := goodput(6)
	ratio := withStuck / base
	t.Logf("good peers' goodput: %.1f MB/s alone, %.1f MB/s beside a stuck peer (ratio %.2f)", base/1e6, withStuck/1e6, ratio)
	// The ratio is logged (go test -v) for the ≤ 10% target; speed is not
	// asserted in unit tests, only the failure that matters: head-of-line
	// blocking, the good peers waiting out the stuck one's eviction.
	if ratio < 0.35 { // blocked until eviction would be ≈ 0.15
		t.Errorf("a stuck peer cut the others' goodput to %.0f%%", ratio*100)
	}

	deadline := time.Now().Add(idle + 10*time.Second)
	for connected(tr.relay, stuckID) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if connected(tr.relay, stuckID) {
		t.Fatal("the stuck peer was not evicted")
	}
	if n := tr.relay.Stats().SlowConsumers; n < 1 {
		t.Errorf("%d slow consumers counted, want ≥ 1", n)
	}
	stuck.Close()
	wg.Wait()
	if n := tr.relay.PeerCount(); n != len(good) {
		t.Errorf("%d peers connected after the eviction, want the %d good ones", n, len(good))
	}
}

func connected(r *relay.Relay, id string) bool {
	for _, p := range r.Peers() {
		if p.ID == id {
			return true
		}
	}
	return false
}
