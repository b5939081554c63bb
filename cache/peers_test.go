package cache

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"testing/synctest"
	"time"

	"github.com/p2pcache/p2pcache/relay/wire"
)

// TestPeerSource: a miss is filled from the peer source when it returns the
// right bytes, and from the origin otherwise; peer bytes are verified.
func TestPeerSource(t *testing.T) {
	const cs, i = 100, 3
	file := pattern(5*cs+7, 1)
	right := func(m *wire.Manifest, i int) []byte { return slices.Clone(chunkOf(file, cs, i)) }
	tests := []struct {
		name        string
		peer        func(m *wire.Manifest, i int) ([]byte, error) // nil: no peer source
		wantSrc     Source
		wantFills   uint64
		wantRejects uint64
	}{
		{"no peers", nil, SourceOrigin, 0, 0},
		{"peer has it", func(m *wire.Manifest, i int) ([]byte, error) { return right(m, i), nil }, SourcePeer, 1, 0},
		{"peer fails", func(m *wire.Manifest, i int) ([]byte, error) { return nil, errors.New("no peer has it") }, SourceOrigin, 0, 0},
		{"peer fails with bytes", func(m *wire.Manifest, i int) ([]byte, error) { return right(m, i), errors.New("late") }, SourceOrigin, 0, 0},
		{"peer lies", func(m *wire.Manifest, i int) ([]byte, error) {
			b := right(m, i)
			b[0] ^= 0xff
			return b, nil
		}, SourceOrigin, 0, 1},
		{"peer sends a short chunk", func(m *wire.Manifest, i int) ([]byte, error) { return right(m, i)[:cs-1], nil }, SourceOrigin, 0, 1},
		{"peer sends a long chunk", func(m *wire.Manifest, i int) ([]byte, error) { return append(right(m, i), 0), nil }, SourceOrigin, 0, 1},
		{"peer sends another chunk", func(m *wire.Manifest, i int) ([]byte, error) { return right(m, i-1), nil }, SourceOrigin, 0, 1},
		{"peer sends nothing", func(m *wire.Manifest, i int) ([]byte, error) { return nil, nil }, SourceOrigin, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := fsOrigin(fstest.MapFS{"f": {Data: file}}, time.Hour)
			c := newCache(t, OriginFunc(o.fetch), Config{ChunkSize: cs, MaxBytes: 2 * cs})
			m := mustManifest(t, c, "f")
			var asked atomic.Int64
			if tt.peer != nil {
				c.SetPeers(PeerSourceFunc(func(ctx context.Context, pm *wire.Manifest, pi int, from string) ([]byte, error) {
					asked.Add(1)
					if pm != m || pi != i || from != "" {
						t.Errorf("peer asked for chunk %d of %p from %q, want %d of %p from nobody", pi, pm, from, i, m)
					}
					return tt.peer(pm, pi)
				}))
			}
			b, src, err := c.Chunk(t.Context(), m, i)
			if err != nil || src != tt.wantSrc || !bytes.Equal(b, chunkOf(file, cs, i)) {
				t.Fatalf("Chunk: %d bytes from %v, %v; want the chunk from %v", len(b), src, err, tt.wantSrc)
			}
			if tt.peer != nil && asked.Load() != 1 {
				t.Errorf("peer asked %d times, want 1", asked.Load())
			}
			wantRanges := int64(1)
			if tt.wantSrc == SourcePeer {
				wantRanges = 0
			}
			if o.ranges.Load() != wantRanges {
				t.Errorf("%d origin range fetches, want %d", o.ranges.Load(), wantRanges)
			}
			st := c.Stats()
			if st.PeerFills != tt.wantFills || st.PeerRejects != tt.wantRejects {
				t.Errorf("%d peer fills, %d rejects; want %d, %d", st.PeerFills, st.PeerRejects, tt.wantFills, tt.wantRejects)
			}
			// Whatever the source, the verified chunk is now cached.
			if b, src := mustChunk(t, c, m, i); src != SourceCache || !bytes.Equal(b, chunkOf(file, cs, i)) {
				t.Errorf("second Chunk from %v", src)
			}
			checkLRU(t, c.chunks)
		})
	}
	t.Run("removed", func(t *testing.T) {
		o := fsOrigin(fstest.MapFS{"f": {Data: file}}, time.Hour)
		c := newCache(t, OriginFunc(o.fetch), Config{ChunkSize: cs, MaxBytes: 2 * cs})
		m := mustManifest(t, c, "f")
		c.SetPeers(PeerSourceFunc(func(ctx context.Context, m *wire.Manifest, i int, from string) ([]byte, error) {
			t.Error("a removed peer source was asked")
			return nil, errors.New("removed")
		}))
		c.SetPeers(nil)
		if _, src := mustChunk(t, c, m, i); src != SourceOrigin {
			t.Errorf("chunk from %v, want origin", src)
		}
	})
}

// TestPeerSourceFrom: a miss through ChunkFrom or ChunkByHashFrom tells the
// peer source who asked; through Chunk and ChunkByHash, nobody.
func TestPeerSourceFrom(t *testing.T) {
	const cs = 100
	file := pattern(5*cs, 3)
	tests := []struct {
		name string
		get  func(c *Cache, m *wire.Manifest, i int) ([]byte, Source, error)
		want string
	}{
		{"Chunk", func(c *Cache, m *wire.Manifest, i int) ([]byte, Source, error) { return c.Chunk(t.Context(), m, i) }, ""},
		{"ChunkFrom", func(c *Cache, m *wire.Manifest, i int) ([]byte, Source, error) {
			return c.ChunkFrom(t.Context(), m, i, "p-1")
		}, "p-1"},
		{"ChunkByHash", func(c *Cache, m *wire.Manifest, i int) ([]byte, Source, error) {
			return c.ChunkByHash(t.Context(), m.Chunks[i])
		}, ""},
		{"ChunkByHashFrom", func(c *Cache, m *wire.Manifest, i int) ([]byte, Source, error) {
			return c.ChunkByHashFrom(t.Context(), m.Chunks[i], "p-2")
		}, "p-2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := fsOrigin(fstest.MapFS{"f": {Data: file}}, time.Hour)
			c := newCache(t, OriginFunc(o.fetch), Config{ChunkSize: cs, MaxBytes: 2 * cs})
			m := mustManifest(t, c, "f")
			i := slices.IndexFunc(m.Chunks, func(h wire.Hash) bool { _, ok := c.Peek(h); return !ok })
			if i < 0 {
				t.Fatal("every chunk is cached")
			}
			var froms []string
			c.SetPeers(PeerSourceFunc(func(ctx context.Context, m *wire.Manifest, i int, from string) ([]byte, error) {
				froms = append(froms, from)
				return slices.Clone(chunkOf(file, cs, i)), nil
			}))
			b, src, err := tt.get(c, m, i)
			if err != nil || src != SourcePeer || !bytes.Equal(b, chunkOf(file, cs, i)) {
				t.Fatalf("chunk from %v, %v; want the chunk from the peer", src, err)
			}
			if !slices.Equal(froms, []string{tt.want}) {
				t.Errorf("peer source asked on behalf of %q, want [%q]", froms, tt.want)
			}
		})
	}
}

// TestPeerSourceSingleFlight: concurrent misses ask the peers once, on
// behalf of the caller whose miss started the fetch.
func TestPeerSourceSingleFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const cs, callers, i = 100, 20, 4
		file := pattern(5*cs, 2)
		o := fsOrigin(fstest.MapFS{"f": {Data: file}}, time.Hour)
		c := newCache(t, OriginFunc(o.fetch), Config{ChunkSize: cs, MaxBytes: 2 * cs})
		m := mustManifest(t, c, "f")
		gate := make(chan struct{})
		var asked atomic.Int64
		var askedFor atomic.Value
		c.SetPeers(PeerSourceFunc(func(ctx context.Context, m *wire.Manifest, i int, from string) ([]byte, error) {
			asked.Add(1)
			askedFor.Store(from)
			<-gate
			return slices.Clone(chunkOf(file, cs, i)), nil
		}))
		var wg sync.WaitGroup
		srcs := make([]Source, callers)
		for k := range callers {
			wg.Go(func() {
				b, src, err := c.ChunkFrom(t.Context(), m, i, fmt.Sprintf("p-%d", k))
				if err != nil || !bytes.Equal(b, chunkOf(file, cs, i)) {
					t.Errorf("caller %d: %v", k, err)
				}
				srcs[k] = src
			})
			if k == 0 {
				synctest.Wait() // caller 0's miss starts the fetch
			}
		}
		synctest.Wait()
		close(gate)
		wg.Wait()
		if asked.Load() != 1 || o.ranges.Load() != 0 {
			t.Errorf("peers asked %d times, origin %d; want 1, 0", asked.Load(), o.ranges.Load())
		}
		if got := askedFor.Load(); got != "p-0" {
			t.Errorf("peers asked on behalf of %v, want p-0 (the first miss)", got)
		}
		for k, s := range srcs {
			if s != SourcePeer {
				t.Errorf("caller %d: source %v", k, s)
			}
		}
	})
}

func TestCached(t *testing.T) {
	clk := newClock()
	o := fsOrigin(fstest.MapFS{"f": {Data: []byte("x")}, "g": {Data: []byte("y")}}, time.Minute)
	c := newCache(t, OriginFunc(o.fetch), Config{Now: clk.Now, MaxManifests: 1})
	if m := c.Cached("f"); m != nil {
		t.Fatal("Cached before any build")
	}
	m := mustManifest(t, c, "f")
	clk.advance(time.Hour) // stale, but still held
	if got := c.Cached("f"); got != m {
		t.Errorf("Cached(f) = %p, want %p", got, m)
	}
	if o.calls() != 1 {
		t.Errorf("Cached asked the origin")
	}
	mustManifest(t, c, "g") // evicts f
	if c.Cached("f") != nil || c.Cached("g") == nil {
		t.Error("Cached does not follow the manifest LRU")
	}
}

func TestChunkLRU(t *testing.T) {
	for _, max := range []int64{0, -1} {
		if _, err := NewChunkLRU(max); !errors.Is(err, ErrBadConfig) {
			t.Errorf("NewChunkLRU(%d): %v, want ErrBadConfig", max, err)
		}
	}
	l, err := NewChunkLRU(10)
	if err != nil {
		t.Fatal(err)
	}
	a, b := []byte("aaaaaa"), []byte("bbbbbb")
	l.Add(wire.Sum(a), a)
	if got, ok := l.Get(wire.Sum(a)); !ok || !bytes.Equal(got, a) || !l.Contains(wire.Sum(a)) || l.Bytes() != 6 {
		t.Fatalf("after one add: %q %v, %d bytes", got, ok, l.Bytes())
	}
	l.Add(wire.Sum(b), b) // over budget: a goes
	if l.Contains(wire.Sum(a)) || !l.Contains(wire.Sum(b)) || l.Bytes() != 6 {
		t.Errorf("after eviction: a %v, b %v, %d bytes", l.Contains(wire.Sum(a)), l.Contains(wire.Sum(b)), l.Bytes())
	}
	l.Add(wire.Sum(make([]byte, 11)), make([]byte, 11))
	if l.Bytes() != 6 {
		t.Errorf("an entry over the budget was cached: %d bytes", l.Bytes())
	}
}
