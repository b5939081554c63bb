package relay_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	"github.com/p2pcache/p2pcache/cache"
	"github.com/p2pcache/p2pcache/relay"
	"github.com/p2pcache/p2pcache/relay/peer"
)

func newBudget(t *testing.T, n int64) *cache.Budget {
	t.Helper()
	b, err := cache.NewBudget(n)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// waitInUse waits until the budget has want bytes reserved: sessions give
// theirs back when their teardown ends, in the background.
func waitInUse(t *testing.T, b *cache.Budget, want int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for b.InUse() != want && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := b.InUse(); got != want {
		t.Fatalf("budget has %d bytes in use, want %d", got, want)
	}
}

// TestAdmission: each peer reserves Config.PeerMemory for its life. When the
// budget cannot give it, Admit says ErrOverloaded (the edge answers 503
// before upgrading), and Accept, given no admission, refuses the peer with
// an overloaded error; a peer leaving makes room again, and every byte
// comes back once all are gone.
func TestAdmission(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	const pm = 1 << 20
	budget := newBudget(t, 3*pm+pm/2)
	tr := startRelay(t, map[string][]byte{"a.bin": randomBytes(71, 100_000)}, cache.Config{}, func(c *relay.Config) {
		c.Budget, c.PeerMemory = budget, pm
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	admitted := http.Header{"X-Test-Admit": {"1"}}

	a := dial(t, ctx, tr, "a", peer.Options{Header: admitted})
	held, err := tr.relay.Admit() // an upgrade in progress
	if err != nil {
		t.Fatal(err)
	}
	b := dial(t, ctx, tr, "b", peer.Options{})
	if got := budget.InUse(); got < 3*pm {
		t.Errorf("three admissions hold %d bytes, want at least %d", got, 3*pm)
	}
	if _, err := tr.relay.Admit(); !errors.Is(err, relay.ErrOverloaded) {
		t.Errorf("a fourth Admit: %v, want ErrOverloaded", err)
	}
	_, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(tr.url, "http")+"/ws", admitted)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("an upgrade past the budget: %v, want 503 before the upgrade", err)
	}
	if _, err := peer.Dial(ctx, tr.url, peer.Options{}); err == nil || !strings.Contains(err.Error(), "overloaded") {
		t.Errorf("Accept past the budget: %v, want refused as overloaded", err)
	}
	if n := tr.relay.Stats().Overloaded; n < 3 {
		t.Errorf("%d refusals counted, want 3", n)
	}

	held.Release()
	held.Release() // idempotent
	c := dial(t, ctx, tr, "c", peer.Options{Header: admitted})
	for _, p := range []*peer.Peer{a, b, c} {
		if _, err := p.Fetch(ctx, "a.bin"); err != nil {
			t.Errorf("fetch: %v", err)
		}
		p.Close()
	}
	waitInUse(t, budget, 0)

	reg := prometheus.NewRegistry()
	reg.MustRegister(tr.relay.Collector())
	got := gather(t, reg)
	for _, name := range []string{"p2pcache_memory_budget_bytes", "p2pcache_memory_budget_in_use_bytes", "p2pcache_memory_budget_peak_bytes",
		"p2pcache_memory_budget_waiting", "p2pcache_memory_budget_waits_total", "p2pcache_memory_budget_timeouts_total", "p2pcache_memory_budget_refusals_total"} {
		if _, ok := got[name]; !ok {
			t.Errorf("%s not exported", name)
		}
	}
	if got["p2pcache_memory_budget_bytes"] != 3*pm+pm/2 || got["p2pcache_memory_budget_peak_bytes"] < 3*pm {
		t.Errorf("budget metrics: max %v, peak %v", got["p2pcache_memory_budget_bytes"], got["p2pcache_memory_budget_peak_bytes"])
	}
}

// TestBudgetBackpressure: answers reserve their bytes from the budget until
// the peer has acknowledged them. A peer that stopped reading holds at most
// its send window's worth, a busy peer beside it still fetches a file
// larger than the whole budget (its answers wait for memory, they do not
// fail), and once everyone has left the budget is whole again.
func TestBudgetBackpressure(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	const pm, highWater = 256 << 10, 512 << 10
	// What a peer that stopped reading holds at most: twice (sctpCopies) its
	// send window and one frame, and its queue of four frames (each reserved
	// twice over). The budget leaves the busy peer little beside it.
	const stuckMax = 2*(highWater+64<<10) + 4*128<<10
	budget := newBudget(t, 2*pm+stuckMax+256<<10)
	file := randomBytes(72, 4<<20)
	// More than the stuck peer's receive window (4 MiB): the rest stays at
	// the relay.
	huge := randomBytes(74, 16<<20)
	tr := startRelay(t, map[string][]byte{"big.bin": file, "huge.bin": huge}, cache.Config{}, func(c *relay.Config) {
		c.Budget, c.PeerMemory = budget, pm
		c.SendHighWater, c.SendLowWater = highWater, 128<<10
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	stuck := dial(t, ctx, tr, "stuck", peer.Options{})
	stuck.StopReadingForTest()
	fetchDone := make(chan struct{})
	go func() {
		defer close(fetchDone)
		stuck.Fetch(ctx, "huge.bin")
	}()
	// The stuck peer's window fills: its bytes stay reserved.
	for deadline := time.Now().Add(10 * time.Second); budget.InUse()-pm < highWater && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // and its queue
	stuckHolds := budget.InUse() - pm
	t.Logf("a peer that stopped reading holds %d KiB of the budget", stuckHolds>>10)
	if stuckHolds <= 0 || stuckHolds > stuckMax {
		t.Errorf("a stuck peer holds %d bytes of the budget; want some, at most twice its window and its queue (%d)", stuckHolds, stuckMax)
	}

	busy := dial(t, ctx, tr, "busy", peer.Options{})
	for range 2 {
		got, err := busy.Fetch(ctx, "big.bin")
		if err != nil || !bytes.Equal(got, file) {
			t.Fatalf("busy peer beside a stuck one, under a budget smaller than the file: %v", err)
		}
	}
	st := budget.Stats()
	t.Logf("budget: peak %d KiB of %d KiB, %d waits", st.Peak>>10, st.Max>>10, st.Waits)
	if st.Peak > st.Max || st.Waits == 0 {
		t.Errorf("peak %d of %d after %d waits; want answers to have waited for memory", st.Peak, st.Max, st.Waits)
	}
	busy.Close()
	stuck.Close()
	<-fetchDone
	waitInUse(t, budget, 0)
}

// TestConfigValidate: out-of-range settings are refused.
func TestConfigValidate(t *testing.T) {
	small := newBudget(t, 512<<10)
	for _, tt := range []struct {
		name string
		cfg  relay.Config
		ok   bool
	}{
		{"zero", relay.Config{}, true},
		{"budget and allowance", relay.Config{Budget: newBudget(t, 64<<20), PeerMemory: 1 << 20}, true},
		{"budget smaller than one peer", relay.Config{Budget: small}, false},
		{"allowance over the budget", relay.Config{Budget: small, PeerMemory: 1 << 20}, false},
		{"negative allowance", relay.Config{PeerMemory: -1}, false},
		{"negative HaveRate", relay.Config{HaveRate: -1}, false},
		{"per-peer share over the index", relay.Config{MaxHolderEntries: 10, MaxHolderEntriesPerPeer: 11}, false},
	} {
		err := tt.cfg.Validate()
		if (err == nil) != tt.ok || err != nil && !errors.Is(err, relay.ErrBadConfig) {
			t.Errorf("%s: Validate() = %v, want ok %v", tt.name, err, tt.ok)
		}
	}
}

// TestPressureEvictsStalled: a peer that stopped reading keeps its memory
// while nobody wants it, and is dropped as a slow consumer once others
// wait for memory and it has drained nothing for PressureTimeout (long
// before IdleTimeout).
func TestPressureEvictsStalled(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	const pm, highWater = 256 << 10, 512 << 10
	budget := newBudget(t, 2<<20) // a stalled peer takes half of it
	file := randomBytes(73, 2<<20)
	huge := randomBytes(75, 8<<20) // more than the stuck peer's receive window
	tr := startRelay(t, map[string][]byte{"big.bin": file, "huge.bin": huge}, cache.Config{}, func(c *relay.Config) {
		c.Budget, c.PeerMemory = budget, pm
		c.SendHighWater, c.SendLowWater = highWater, 128<<10
		c.PressureTimeout = 500 * time.Millisecond
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	stuck := dial(t, ctx, tr, "stuck", peer.Options{})
	stuck.StopReadingForTest()
	fetchDone := make(chan struct{})
	go func() {
		defer close(fetchDone)
		stuck.Fetch(ctx, "huge.bin")
	}()
	for deadline := time.Now().Add(10 * time.Second); budget.InUse()-pm < highWater && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(2 * time.Second) // stalled for 4 PressureTimeouts, with nobody waiting
	if !connected(tr.relay, stuck.ID()) {
		t.Fatal("a stalled peer was dropped with nobody waiting for memory")
	}

	busy := dial(t, ctx, tr, "busy", peer.Options{})
	start := time.Now()
	for range 2 {
		if got, err := busy.Fetch(ctx, "big.bin"); err != nil || !bytes.Equal(got, file) {
			t.Fatalf("busy peer: %v", err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for connected(tr.relay, stuck.ID()) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("busy peer fetched twice in %v; stalled peer connected: %v; slow consumers %d",
		time.Since(start).Round(time.Millisecond), connected(tr.relay, stuck.ID()), tr.relay.Stats().SlowConsumers)
	if connected(tr.relay, stuck.ID()) || tr.relay.Stats().SlowConsumers == 0 {
		t.Error("the stalled peer kept its memory while the busy one waited for it")
	}
	busy.Close()
	stuck.Close()
	<-fetchDone
	waitInUse(t, budget, 0)
}
