package cache

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/p2pcache/p2pcache/relay/wire"
)

// fakeTier is a Tier of functions, counting its calls.
type fakeTier struct {
	manifest          func(ctx context.Context, p string) (TierManifest, error)
	chunk             func(ctx context.Context, m *wire.Manifest, i int) ([]byte, error)
	manifests, chunks atomic.Int64
}

func (f *fakeTier) Manifest(ctx context.Context, p string) (TierManifest, error) {
	f.manifests.Add(1)
	if f.manifest == nil {
		return TierManifest{}, fmt.Errorf("%w: no manifests here", ErrTierMiss)
	}
	return f.manifest(ctx, p)
}

func (f *fakeTier) Chunk(ctx context.Context, m *wire.Manifest, i int) ([]byte, error) {
	f.chunks.Add(1)
	if f.chunk == nil {
		return nil, fmt.Errorf("%w: no chunks here", ErrTierMiss)
	}
	return f.chunk(ctx, m, i)
}

// TestTierChunk: a chunk miss asks the tier after the peers and before
// the origin; only bytes that match the manifest are taken (and kept).
func TestTierChunk(t *testing.T) {
	const cs, i = 100, 2
	file := pattern(5*cs+7, 3)
	right := func() []byte { return slices.Clone(chunkOf(file, cs, i)) }
	tests := []struct {
		name        string
		peer        func() ([]byte, error) // nil: no peer source
		tier        func() ([]byte, error)
		wantSrc     Source
		wantTier    int64 // calls
		wantFills   uint64
		wantRejects uint64
	}{
		{"tier has it", nil, func() ([]byte, error) { return right(), nil }, SourceRelay, 1, 1, 0},
		{"tier miss: origin", nil, func() ([]byte, error) { return nil, ErrTierMiss }, SourceOrigin, 1, 0, 0},
		{"tier fails: origin", nil, func() ([]byte, error) { return nil, errors.New("owner timed out") }, SourceOrigin, 1, 0, 0},
		{"tier fails with bytes: origin", nil, func() ([]byte, error) { return right(), errors.New("late") }, SourceOrigin, 1, 0, 0},
		{"tier lies", nil, func() ([]byte, error) {
			b := right()
			b[3] ^= 1
			return b, nil
		}, SourceOrigin, 1, 0, 1},
		{"tier sends a short chunk", nil, func() ([]byte, error) { return right()[1:], nil }, SourceOrigin, 1, 0, 1},
		{"tier sends another chunk", nil, func() ([]byte, error) { return slices.Clone(chunkOf(file, cs, 0)), nil }, SourceOrigin, 1, 0, 1},
		{"peer first: the tier is not asked", func() ([]byte, error) { return right(), nil }, func() ([]byte, error) { return right(), nil }, SourcePeer, 0, 0, 0},
		{"peer fails: the tier", func() ([]byte, error) { return nil, errors.New("no peer") }, func() ([]byte, error) { return right(), nil }, SourceRelay, 1, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := fsOrigin(fstest.MapFS{"f": {Data: file}}, time.Hour)
			c := newCache(t, OriginFunc(o.fetch), Config{ChunkSize: cs, MaxBytes: 2 * cs})
			m := mustManifest(t, c, "f") // builds, keeping the first two chunks: i is not held
			if tt.peer != nil {
				c.SetPeers(PeerSourceFunc(func(context.Context, *wire.Manifest, int, string) ([]byte, error) { return tt.peer() }))
			}
			ft := &fakeTier{chunk: func(_ context.Context, tm *wire.Manifest, ti int) ([]byte, error) {
				if tm != m || ti != i {
					t.Errorf("tier asked for chunk %d of %p, want %d of %p", ti, tm, i, m)
				}
				return tt.tier()
			}}
			c.SetTier(ft)
			b, src, err := c.Chunk(t.Context(), m, i)
			if err != nil || src != tt.wantSrc || !bytes.Equal(b, chunkOf(file, cs, i)) {
				t.Fatalf("Chunk: %d bytes from %v, %v; want the chunk from %v", len(b), src, err, tt.wantSrc)
			}
			if ft.chunks.Load() != tt.wantTier {
				t.Errorf("tier asked %d times, want %d", ft.chunks.Load(), tt.wantTier)
			}
			wantRanges := int64(0)
			if tt.wantSrc == SourceOrigin {
				wantRanges = 1
			}
			if o.ranges.Load() != wantRanges {
				t.Errorf("%d origin range fetches, want %d", o.ranges.Load(), wantRanges)
			}
			if st := c.Stats(); st.TierFills != tt.wantFills || st.TierRejects != tt.wantRejects {
				t.Errorf("%d tier fills, %d rejects; want %d, %d", st.TierFills, st.TierRejects, tt.wantFills, tt.wantRejects)
			}
			// Whatever the source, the verified chunk is kept.
			if b, src := mustChunk(t, c, m, i); src != SourceCache || !bytes.Equal(b, chunkOf(file, cs, i)) {
				t.Errorf("second read from %v", src)
			}
			c.SetTier(nil)
		})
	}
}

// TestTierManifest: a manifest miss asks the tier first; a valid manifest
// is held for the freshness the owner has left, with the owner's origin
// validators; "not found" is remembered; anything invalid or any other
// failure goes to the origin.
func TestTierManifest(t *testing.T) {
	const cs = 100
	file := pattern(3*cs+1, 5)
	files := fstest.MapFS{"a/f.txt": {Data: file, ModTime: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}}
	// The owner: a cache over the same origin, whose clock runs 30 s ahead.
	ownerClock := newClock()
	ownerClock.advance(30 * time.Second)
	oo := fsOrigin(files, time.Minute)
	owner := newCache(t, OriginFunc(oo.fetch), Config{ChunkSize: cs, Now: ownerClock.Now})
	ownerClock.advance(10 * time.Second) // the owner's manifest is 10 s old: 50 s left
	mustManifest(t, owner, "a/f.txt")
	ownerClock.advance(10 * time.Second)
	fromOwner := func(ctx context.Context, p string) (TierManifest, error) { return owner.ManifestForTier(ctx, p) }

	good, err := owner.ManifestForTier(t.Context(), "a/f.txt")
	if err != nil {
		t.Fatal(err)
	}
	if good.MaxAge != 50*time.Second || good.Validators.ETag == "" || good.Manifest.Path != "a/f.txt" {
		t.Fatalf("ManifestForTier = %+v, want 50 s left and the origin's validators", good)
	}
	with := func(mod func(m *wire.Manifest)) func(context.Context, string) (TierManifest, error) {
		return func(context.Context, string) (TierManifest, error) {
			m := *good.Manifest
			m.Chunks = slices.Clone(m.Chunks)
			mod(&m)
			return TierManifest{Manifest: &m, MaxAge: time.Minute}, nil
		}
	}
	tests := []struct {
		name        string
		tier        func(context.Context, string) (TierManifest, error)
		maxFile     int64
		wantErr     error
		wantWhole   int64 // origin whole-file fetches
		wantFromT   uint64
		wantRejects uint64
	}{
		{"from the owner", fromOwner, 0, nil, 0, 1, 0},
		{"tier miss", func(context.Context, string) (TierManifest, error) { return TierManifest{}, ErrTierMiss }, 0, nil, 1, 0, 0},
		{"tier fails", func(context.Context, string) (TierManifest, error) { return TierManifest{}, errors.New("timeout") }, 0, nil, 1, 0, 0},
		{"not found at the owner", func(context.Context, string) (TierManifest, error) {
			return TierManifest{}, fmt.Errorf("%w: a/f.txt", ErrNotFound)
		}, 0, ErrNotFound, 0, 0, 0},
		{"another path", with(func(m *wire.Manifest) { m.Path = "a/g.txt" }), 0, nil, 1, 0, 1},
		{"invalid: etag", with(func(m *wire.Manifest) { m.ETag = `"x"` }), 0, nil, 1, 0, 1},
		{"invalid: chunk count", with(func(m *wire.Manifest) { m.Chunks = m.Chunks[1:] }), 0, nil, 1, 0, 1},
		{"nil manifest", func(context.Context, string) (TierManifest, error) { return TierManifest{}, nil }, 0, nil, 1, 0, 1},
		{"over MaxFileSize", fromOwner, int64(len(file) - 1), ErrTooLarge, 1, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newClock()
			o := fsOrigin(files, time.Minute)
			c := newCache(t, OriginFunc(o.fetch), Config{ChunkSize: cs, Now: clock.Now, MaxFileSize: tt.maxFile})
			ft := &fakeTier{manifest: tt.tier}
			c.SetTier(ft)
			m, err := c.Manifest(t.Context(), "/a/f.txt")
			if !errors.Is(err, tt.wantErr) || (err == nil && m.SHA256 != good.Manifest.SHA256) {
				t.Fatalf("Manifest: %v, %v; want %v", m, err, tt.wantErr)
			}
			st := c.Stats()
			if o.whole.Load() != tt.wantWhole || st.TierManifests != tt.wantFromT || st.TierRejects != tt.wantRejects {
				t.Errorf("%d origin builds, %d tier manifests, %d rejects; want %d, %d, %d",
					o.whole.Load(), st.TierManifests, st.TierRejects, tt.wantWhole, tt.wantFromT, tt.wantRejects)
			}
			// A second request within the freshness (or the negative TTL)
			// asks no one; a failure is not remembered.
			clock.advance(5 * time.Second)
			c.Manifest(t.Context(), "a/f.txt")
			want := int64(1)
			if tt.wantErr == ErrTooLarge {
				want = 2
			}
			if ft.manifests.Load() != want {
				t.Errorf("tier asked %d times, want %d", ft.manifests.Load(), want)
			}
			if st := c.Stats(); errors.Is(tt.wantErr, ErrNotFound) && st.NegativeHits != 1 {
				t.Errorf("%d negative hits: the owner's \"not found\" was not remembered", st.NegativeHits)
			}
		})
	}
}

// TestTierManifestFreshness: a tier manifest lives for the owner's
// freshness left, then the tier is asked again; the same version keeps
// the held manifest; the origin validators come along, so a range fetch
// is guarded by If-Range.
func TestTierManifestFreshness(t *testing.T) {
	const cs = 100
	file := pattern(4*cs, 9)
	files := fstest.MapFS{"f": {Data: file, ModTime: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}}
	owner := newCache(t, NewFSOrigin(files, FSOriginConfig{MaxAge: time.Hour}), Config{ChunkSize: cs})
	var maxAge atomic.Int64
	maxAge.Store(int64(20 * time.Second))
	ft := &fakeTier{manifest: func(ctx context.Context, p string) (TierManifest, error) {
		tm, err := owner.ManifestForTier(ctx, p)
		tm.MaxAge = time.Duration(maxAge.Load())
		return tm, err
	}}
	clock := newClock()
	o := fsOrigin(files, time.Hour)
	c := newCache(t, OriginFunc(o.fetch), Config{ChunkSize: cs, MaxBytes: cs, Now: clock.Now})
	c.SetTier(ft)
	m1 := mustManifest(t, c, "f")
	clock.advance(19 * time.Second)
	if mustManifest(t, c, "f") != m1 || ft.manifests.Load() != 1 {
		t.Fatalf("tier asked %d times within the freshness", ft.manifests.Load())
	}
	clock.advance(2 * time.Second)
	if m2 := mustManifest(t, c, "f"); m2 != m1 || ft.manifests.Load() != 2 {
		t.Errorf("stale: tier asked %d times, want 2; same version kept: %v", ft.manifests.Load(), m2 == m1)
	}
	// Chunks come from the origin here (the tier has none), by range with
	// the owner's validators.
	mustChunk(t, c, m1, 3)
	reqs := o.requests()
	if len(reqs) != 1 || reqs[0].Length != cs || reqs[0].IfRange.IsZero() {
		t.Errorf("origin requests %+v; want one range request with If-Range", reqs)
	}
	if o.whole.Load() != 0 {
		t.Errorf("%d whole-file fetches, want none", o.whole.Load())
	}
}
