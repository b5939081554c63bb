package cache

import (
	"testing"
	"testing/fstest"
	"time"

	"github.com/p2pcache/p2pcache/relay/wire"
)

// BenchmarkLRUAddGet adds a 64 KiB chunk and reads another, with a budget of
// 256 chunks and a working set of 1024, so most adds evict.
func BenchmarkLRUAddGet(b *testing.B) {
	const chunks = 1024
	es := make([]lruEntry, chunks)
	buf := make([]byte, wire.MaxChunkSize)
	for i := range es {
		buf[0], buf[1] = byte(i), byte(i>>8)
		es[i] = lruEntry{wire.Sum(buf), buf} // shared bytes: only the keys differ
	}
	l, err := newByteLRU(256 * wire.MaxChunkSize)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(wire.MaxChunkSize)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		e := es[i%chunks]
		l.add(e.h, e.b)
		l.get(es[(i*7+3)%chunks].h)
		i++
	}
}

func BenchmarkSum64KiB(b *testing.B) {
	buf := pattern(wire.MaxChunkSize, 1)
	b.SetBytes(wire.MaxChunkSize)
	b.ReportAllocs()
	for b.Loop() {
		wire.Sum(buf)
	}
}

// BenchmarkChunkHit is Cache.Chunk of a warm chunk from many goroutines.
func BenchmarkChunkHit(b *testing.B) {
	o := NewFSOrigin(fstest.MapFS{"f": {Data: pattern(4*wire.MaxChunkSize, 2)}}, FSOriginConfig{MaxAge: time.Hour})
	c, err := New(o, Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	m, err := c.Manifest(b.Context(), "f")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(wire.MaxChunkSize)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, src, err := c.Chunk(b.Context(), m, i%len(m.Chunks)); err != nil || src != SourceCache {
				b.Errorf("chunk %d from %v: %v", i%len(m.Chunks), src, err)
				return
			}
			i++
		}
	})
	if st := c.Stats(); st.Misses != 0 {
		b.Errorf("%d misses", st.Misses)
	}
}
