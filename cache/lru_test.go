package cache

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/p2pcache/p2pcache/relay/wire"
)

// lruEntry is one key and its bytes, as the tests add them.
type lruEntry struct {
	h wire.Hash
	b []byte
}

// lruInvariant checks byteLRU's invariants under its lock: the byte count is
// within the budget and equals the sum of the lengths of the entries actually
// held. It returns the held keys, oldest first.
func lruInvariant(l *byteLRU) ([]wire.Hash, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	keys := l.l.Keys()
	var sum int64
	for _, k := range keys {
		v, ok := l.l.Peek(k)
		if !ok {
			return nil, fmt.Errorf("key %s listed by Keys but not Peek-able", k)
		}
		sum += int64(len(v))
	}
	switch {
	case l.bytes > l.max:
		return nil, fmt.Errorf("bytes %d > max %d", l.bytes, l.max)
	case l.bytes != sum:
		return nil, fmt.Errorf("bytes counter %d, but the %d entries held sum to %d", l.bytes, len(keys), sum)
	}
	return keys, nil
}

// checkLRU is lruInvariant for the test goroutine.
func checkLRU(t testing.TB, l *byteLRU) []wire.Hash {
	t.Helper()
	keys, err := lruInvariant(l)
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// modelLRU is the obviously-correct byte-bounded LRU byteLRU must behave
// like: order is oldest first.
type modelLRU struct {
	max       int64
	order     []wire.Hash
	size      map[wire.Hash]int64
	bytes     int64
	evictions uint64
}

func newModelLRU(max int64) *modelLRU {
	return &modelLRU{max: max, size: make(map[wire.Hash]int64)}
}

func (m *modelLRU) touch(h wire.Hash) bool {
	i := slices.Index(m.order, h)
	if i < 0 {
		return false
	}
	m.order = append(slices.Delete(m.order, i, i+1), h)
	return true
}

func (m *modelLRU) add(h wire.Hash, n int64) {
	if n > m.max || m.touch(h) {
		return
	}
	m.order = append(m.order, h)
	m.size[h] = n
	m.bytes += n
	for m.bytes > m.max {
		old := m.order[0]
		m.order = m.order[1:]
		m.bytes -= m.size[old]
		delete(m.size, old)
		m.evictions++
	}
}

func (m *modelLRU) remove(h wire.Hash) {
	if i := slices.Index(m.order, h); i >= 0 {
		m.order = slices.Delete(m.order, i, i+1)
		m.bytes -= m.size[h]
		delete(m.size, h)
		m.evictions++ // simplelru calls the eviction callback for Remove too
	}
}

// randomEntries makes n entries of random sizes 1..64 KiB. Keys are the
// SHA-256 of the bytes, as in the cache.
func randomEntries(r *rand.Rand, n int) []lruEntry {
	es := make([]lruEntry, n)
	for i := range es {
		b := make([]byte, 1+r.IntN(wire.MaxChunkSize))
		for j := range b {
			b[j] = byte(r.Uint32())
		}
		es[i] = lruEntry{wire.Sum(b), b}
	}
	return es
}

func TestByteLRUProperty(t *testing.T) {
	for _, budget := range []int64{1, 1000, 40 << 10, 64 << 10, 100 << 10, 300 << 10, 1 << 20} {
		t.Run(fmt.Sprintf("max=%d", budget), func(t *testing.T) {
			seed := uint64(budget)*7919 + 1
			r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
			// A small pool makes repeats frequent: re-adds of present keys,
			// gets of present and of evicted keys.
			pool := randomEntries(r, 40)
			l, err := newByteLRU(budget)
			if err != nil {
				t.Fatal(err)
			}
			model := newModelLRU(budget)
			var adds, oversized, readds int
			for op := 0; op < 3000; op++ {
				e := pool[r.IntN(len(pool))]
				n := int64(len(e.b))
				switch k := r.IntN(10); {
				case k < 6: // add
					before := l.contains(e.h)
					switch {
					case n > budget:
						oversized++
					case before:
						readds++
					}
					_, _, ev0 := l.stats()
					l.add(e.h, e.b)
					model.add(e.h, n)
					adds++
					_, _, ev1 := l.stats()
					if n > budget && l.contains(e.h) {
						t.Fatalf("op %d: entry of %d bytes cached with a budget of %d", op, n, budget)
					}
					if n <= budget && !l.contains(e.h) {
						t.Fatalf("op %d: entry of %d bytes not cached with a budget of %d", op, n, budget)
					}
					if before && ev1 != ev0 {
						t.Fatalf("op %d: re-adding a present key evicted %d entries", op, ev1-ev0)
					}
				case k < 9: // get
					b, ok := l.get(e.h)
					if want := model.touch(e.h); ok != want {
						t.Fatalf("op %d: get ok=%v, model says %v", op, ok, want)
					}
					if ok && !slices.Equal(b, e.b) {
						t.Fatalf("op %d: get returned other bytes", op)
					}
				default:
					l.remove(e.h)
					model.remove(e.h)
				}
				keys := checkLRU(t, l)
				bytes, entries, evictions := l.stats()
				if !slices.Equal(keys, model.order) {
					t.Fatalf("op %d: LRU order differs from the model:\n got  %d keys\n want %d keys", op, len(keys), len(model.order))
				}
				if bytes != model.bytes || entries != len(model.order) || evictions != model.evictions {
					t.Fatalf("op %d: stats (bytes %d, entries %d, evictions %d), model (%d, %d, %d)",
						op, bytes, entries, evictions, model.bytes, len(model.order), model.evictions)
				}
			}
			t.Logf("%d adds (%d oversized, %d re-adds), %d evictions, %d bytes held", adds, oversized, readds, model.evictions, model.bytes)
			if budget >= wire.MaxChunkSize && budget <= 300<<10 && model.evictions == 0 {
				t.Errorf("no evictions with a budget of %d: the test does not exercise eviction", budget)
			}
		})
	}
}

func TestByteLRUCases(t *testing.T) {
	a := lruEntry{wire.Sum([]byte("aaaa")), []byte("aaaa")}
	b := lruEntry{wire.Sum([]byte("bbbbbb")), []byte("bbbbbb")}
	c := lruEntry{wire.Sum([]byte("cc")), []byte("cc")}
	big := lruEntry{wire.Sum(make([]byte, 11)), make([]byte, 11)}
	tests := []struct {
		name          string
		max           int64
		ops           func(l *byteLRU)
		wantKeys      []wire.Hash // oldest first
		wantBytes     int64
		wantEvictions uint64
	}{
		{"empty", 10, func(l *byteLRU) {}, nil, 0, 0},
		{"one", 10, func(l *byteLRU) { l.add(a.h, a.b) }, []wire.Hash{a.h}, 4, 0},
		{"exactly the budget", 10, func(l *byteLRU) { l.add(a.h, a.b); l.add(b.h, b.b) }, []wire.Hash{a.h, b.h}, 10, 0},
		{"larger than the budget is not cached", 10, func(l *byteLRU) { l.add(a.h, a.b); l.add(big.h, big.b) }, []wire.Hash{a.h}, 4, 0},
		{"re-add does not double count", 10, func(l *byteLRU) { l.add(a.h, a.b); l.add(a.h, a.b); l.add(a.h, a.b) }, []wire.Hash{a.h}, 4, 0},
		{"re-add with other bytes keeps the first", 10, func(l *byteLRU) { l.add(a.h, a.b); l.add(a.h, b.b) }, []wire.Hash{a.h}, 4, 0},
		{"re-add touches", 10, func(l *byteLRU) { l.add(a.h, a.b); l.add(c.h, c.b); l.add(a.h, a.b) }, []wire.Hash{c.h, a.h}, 6, 0},
		{"oldest evicted", 10, func(l *byteLRU) { l.add(a.h, a.b); l.add(c.h, c.b); l.add(b.h, b.b) }, []wire.Hash{c.h, b.h}, 8, 1},
		{"get protects from eviction", 10, func(l *byteLRU) { l.add(a.h, a.b); l.add(c.h, c.b); l.get(a.h); l.add(b.h, b.b) }, []wire.Hash{a.h, b.h}, 10, 1},
		{"contains does not protect", 10, func(l *byteLRU) { l.add(a.h, a.b); l.add(c.h, c.b); l.contains(a.h); l.add(b.h, b.b) }, []wire.Hash{c.h, b.h}, 8, 1},
		{"several evicted for one", 12, func(l *byteLRU) { l.add(a.h, a.b); l.add(c.h, c.b); l.add(big.h, big.b) }, []wire.Hash{big.h}, 11, 2},
		{"remove", 10, func(l *byteLRU) { l.add(a.h, a.b); l.add(c.h, c.b); l.remove(a.h); l.remove(b.h) }, []wire.Hash{c.h}, 2, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := newByteLRU(tt.max)
			if err != nil {
				t.Fatal(err)
			}
			tt.ops(l)
			keys := checkLRU(t, l)
			if !slices.Equal(keys, tt.wantKeys) {
				t.Errorf("keys %v, want %v", keys, tt.wantKeys)
			}
			bytes, n, ev := l.stats()
			if bytes != tt.wantBytes || n != len(tt.wantKeys) || ev != tt.wantEvictions {
				t.Errorf("stats = (%d bytes, %d entries, %d evictions), want (%d, %d, %d)", bytes, n, ev, tt.wantBytes, len(tt.wantKeys), tt.wantEvictions)
			}
		})
	}
}

// TestByteLRUConcurrent is for -race: several goroutines add, get and remove
// at once; the invariant must hold throughout and at the end.
func TestByteLRUConcurrent(t *testing.T) {
	const budget = 256 << 10
	pool := randomEntries(rand.New(rand.NewPCG(1, 2)), 64)
	l, err := newByteLRU(budget)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 3))
			for op := range 2000 {
				e := pool[r.IntN(len(pool))]
				switch r.IntN(8) {
				case 0, 1, 2, 3:
					l.add(e.h, e.b)
				case 4, 5:
					if b, ok := l.get(e.h); ok && len(b) != len(e.b) {
						t.Errorf("get %s: %d bytes, want %d", e.h, len(b), len(e.b))
					}
				case 6:
					l.contains(e.h)
				default:
					l.remove(e.h)
				}
				if op%100 == 0 {
					if _, err := lruInvariant(l); err != nil {
						t.Error(err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	keys := checkLRU(t, l)
	for _, k := range keys {
		i := slices.IndexFunc(pool, func(e lruEntry) bool { return e.h == k })
		if i < 0 {
			t.Fatalf("LRU holds key %s that was never added", k)
		}
		if b, _ := l.l.Peek(k); !slices.Equal(b, pool[i].b) {
			t.Fatalf("LRU holds other bytes under %s", k)
		}
	}
	if _, _, ev := l.stats(); ev == 0 {
		t.Error("no evictions: the test does not exercise eviction under concurrency")
	}
}
