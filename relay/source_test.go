package relay_test

import (
	"context"
	"maps"
	"slices"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/p2pcache/p2pcache/cache"
	"github.com/p2pcache/p2pcache/relay/peer"
	"github.com/p2pcache/p2pcache/relay/wire"
)

// TestChunkSources: every CHUNK says where the relay got it, as its own
// ChunksBySource counts it. The relay's cache holds two chunks, so the
// manifest build (which reads the whole file) keeps chunks 0 and 1: a cold
// GET_FILE gets those as read from the origin for it (their first serving)
// and the rest from the origin by range. Then a chunk still cached says
// relay cache, and an evicted one the origin again (no peer serves:
// NoServe).
func TestChunkSources(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	const (
		cached = wire.SourceRelayCache
		origin = wire.SourceOrigin
	)
	img := randomBytes(21, 6*wire.MaxChunkSize-100)
	tr := startRelay(t, map[string][]byte{"s/six.bin": img}, cache.Config{MaxBytes: 2 * wire.MaxChunkSize})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a := dial(t, ctx, tr, "a", peer.Options{NoServe: true})
	b := dial(t, ctx, tr, "b", peer.Options{NoServe: true})

	before := tr.relay.Stats()
	f, err := a.FetchFile(ctx, "s/six.bin")
	if err != nil {
		t.Fatal(err)
	}
	// The two chunks the build kept were read from the origin for this
	// fetch, the other four by range: all six from the origin.
	if want := []wire.ChunkSource{origin, origin, origin, origin, origin, origin}; !slices.Equal(f.Sources, want) {
		t.Fatalf("cold fetch: sources %v, want %v", f.Sources, want)
	}
	after := tr.relay.Stats()
	if d := after.ChunksBySource["origin"] - before.ChunksBySource["origin"]; d != 6 {
		t.Errorf("relay counted %d chunks from the origin, want 6", d)
	}
	if d := after.ChunksBySource["cache"] - before.ChunksBySource["cache"]; d != 0 {
		t.Errorf("relay counted %d chunks from its cache, want 0", d)
	}

	for _, tt := range []struct {
		i    int
		want wire.ChunkSource
	}{
		{5, cached}, // the last two chunks fetched are the two the cache holds
		{4, cached},
		{0, origin}, // evicted; nobody else holds it
		{0, cached}, // and now cached again
	} {
		prev := b.ChunksBySource()
		if _, err := b.FetchChunk(ctx, f.Manifest, tt.i); err != nil {
			t.Fatalf("chunk %d: %v", tt.i, err)
		}
		got := b.ChunksBySource()
		for src, n := range got {
			if d := n - prev[src]; d != 0 && (src != tt.want || d != 1) {
				t.Errorf("chunk %d: %d more from %s, want one from %s", tt.i, d, src, tt.want)
			}
		}
		if got[tt.want] != prev[tt.want]+1 {
			t.Errorf("chunk %d: not counted from %s (%v)", tt.i, tt.want, got)
		}
	}
	if got, want := b.ChunksBySource(), map[wire.ChunkSource]uint64{cached: 3, origin: 1}; !maps.Equal(got, want) {
		t.Errorf("B's chunks by source %v, want %v", got, want)
	}
	if got, want := a.ChunksBySource(), map[wire.ChunkSource]uint64{origin: 6}; !maps.Equal(got, want) {
		t.Errorf("A's chunks by source %v, want %v", got, want)
	}
}
