package cache

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"testing/iotest"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"

	"github.com/p2pcache/p2pcache/relay/wire"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testOrigin wraps an Origin, counting and recording its calls; with a gate
// set, every call waits for the gate to close (or its ctx to end) first.
type testOrigin struct {
	inner Origin
	// gate, if non-nil, holds every Fetch until it is closed. Set it before
	// the calls that should wait are started.
	gate chan struct{}

	whole, ranges, conds atomic.Int64 // whole-file fetches (conds: of them, conditional), range fetches

	mu   sync.Mutex
	reqs []Request
}

func newTestOrigin(inner Origin) *testOrigin { return &testOrigin{inner: inner} }

// fsOrigin is a testOrigin over an in-memory file system.
func fsOrigin(files fstest.MapFS, maxAge time.Duration) *testOrigin {
	return newTestOrigin(NewFSOrigin(files, FSOriginConfig{MaxAge: maxAge}))
}

func (o *testOrigin) fetch(ctx context.Context, req Request) (*Response, error) {
	o.mu.Lock()
	o.reqs = append(o.reqs, req)
	o.mu.Unlock()
	switch {
	case req.Length > 0:
		o.ranges.Add(1)
	case !req.Cond.IsZero():
		o.conds.Add(1)
		o.whole.Add(1)
	default:
		o.whole.Add(1)
	}
	if o.gate != nil {
		select {
		case <-o.gate:
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: %w", ErrOrigin, ctx.Err())
		}
	}
	return o.inner.Fetch(ctx, req)
}

func (o *testOrigin) calls() int64 { return o.whole.Load() + o.ranges.Load() }

func (o *testOrigin) requests() []Request {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.reqs)
}

// newCache returns a cache over o, closed at cleanup.
func newCache(t testing.TB, o Origin, cfg Config) *Cache {
	t.Helper()
	c, err := New(o, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func mustManifest(t testing.TB, c *Cache, p string) *wire.Manifest {
	t.Helper()
	m, err := c.Manifest(t.Context(), p)
	if err != nil {
		t.Fatalf("Manifest(%q): %v", p, err)
	}
	return m
}

func mustChunk(t testing.TB, c *Cache, m *wire.Manifest, i int) ([]byte, Source) {
	t.Helper()
	b, src, err := c.Chunk(t.Context(), m, i)
	if err != nil {
		t.Fatalf("Chunk(%s, %d): %v", m.Path, i, err)
	}
	return b, src
}

// chunkOf is chunk i of file b with chunk size cs.
func chunkOf(b []byte, cs, i int) []byte { return b[i*cs : min((i+1)*cs, len(b))] }

// clock is a settable Config.Now.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// heldChunks reports which chunks of m the LRU holds, without touching them.
func heldChunks(c *Cache, m *wire.Manifest) []bool {
	held := make([]bool, len(m.Chunks))
	for i, h := range m.Chunks {
		held[i] = c.chunks.contains(h)
	}
	return held
}

func TestNewConfig(t *testing.T) {
	o := fsOrigin(fstest.MapFS{}, 0)
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"zero", Config{}, true},
		{"chunk size 1", Config{ChunkSize: 1}, true},
		{"chunk size max", Config{ChunkSize: wire.MaxChunkSize}, true},
		{"chunk size too big", Config{ChunkSize: wire.MaxChunkSize + 1}, false},
		{"negative chunk size", Config{ChunkSize: -1}, false},
		{"negative max bytes", Config{MaxBytes: -1}, false},
		{"negative max manifests", Config{MaxManifests: -1}, false},
		{"negative max file size", Config{MaxFileSize: -1}, false},
		{"negative timeout", Config{OriginTimeout: -time.Second}, false},
		{"negative cache off", Config{NegativeTTL: -1}, true},
		{"negative negative-cache entries", Config{NegativeMaxEntries: -1}, false},
		{"negative negative-cache bytes", Config{NegativeMaxBytes: -1}, false},
		{"budget of a chunk", Config{ChunkSize: 1024, Budget: mustBudget(t, 1024)}, true},
		{"budget of a default chunk", Config{Budget: mustBudget(t, wire.MaxChunkSize)}, true},
		{"budget under a chunk", Config{ChunkSize: 1024, Budget: mustBudget(t, 1023)}, false},
		{"budget under a default chunk", Config{Budget: mustBudget(t, wire.MaxChunkSize-1)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(OriginFunc(o.fetch), tt.cfg)
			if tt.ok {
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				want := tt.cfg.ChunkSize
				if want == 0 {
					want = wire.MaxChunkSize
				}
				if c.ChunkSize() != want {
					t.Errorf("ChunkSize() = %d, want %d", c.ChunkSize(), want)
				}
				return
			}
			if err == nil {
				c.Close()
				t.Fatal("New accepted a bad config")
			}
			if !errors.Is(err, ErrBadConfig) {
				t.Errorf("error %v does not wrap ErrBadConfig", err)
			}
		})
	}
	t.Run("nil origin", func(t *testing.T) {
		if _, err := New(nil, Config{}); !errors.Is(err, ErrBadConfig) {
			t.Errorf("New(nil) error %v, want ErrBadConfig", err)
		}
	})
}

func TestSourceString(t *testing.T) {
	for s, want := range map[Source]string{SourceCache: "cache", SourceOrigin: "origin", SourcePeer: "peer", 9: "source(9)"} {
		if s.String() != want {
			t.Errorf("Source(%d).String() = %q, want %q", s, s.String(), want)
		}
	}
}

// TestChunkSingleFlight: 50 callers of one cold chunk cause one range fetch.
func TestChunkSingleFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const cs, callers, cold = 1024, 50, 3
		file := pattern(4*cs, 1)
		o := fsOrigin(fstest.MapFS{"f.bin": {Data: file}}, time.Hour)
		// The build keeps only two chunks' worth, so chunk 3 is cold.
		c := newCache(t, OriginFunc(o.fetch), Config{ChunkSize: cs, MaxBytes: 2 * cs})
		m := mustManifest(t, c, "f.bin")
		if held := heldChunks(c, m); held[cold] {
			t.Fatalf("chunk %d is warm: %v", cold, held)
		}
		o.gate = make(chan struct{})
		type result struct {
			b   []byte
			src Source
			err error
		}
		results := make([]result, callers)
		var wg sync.WaitGroup
		for i := range callers {
			wg.Go(func() {
				b, src, err := c.Chunk(t.Context(), m, cold)
				results[i] = result{b, src, err}
			})
		}
		synctest.Wait() // every caller is blocked: one in the origin, the rest on its flight
		if n := o.ranges.Load(); n != 1 {
			t.Errorf("%d range fetches in flight for %d callers, want 1", n, callers)
		}
		if st := c.Stats(); st.Misses != callers {
			t.Errorf("%d misses, want %d", st.Misses, callers)
		}
		close(o.gate)
		wg.Wait()
		for i, r := range results {
			if r.err != nil || r.src != SourceOrigin || !bytes.Equal(r.b, chunkOf(file, cs, cold)) {
				t.Errorf("caller %d: %d bytes from %v, %v", i, len(r.b), r.src, r.err)
			}
		}
		if n := o.ranges.Load(); n != 1 {
			t.Errorf("%d range fetches, want 1", n)
		}
		if _, src := mustChunk(t, c, m, cold); src != SourceCache {
			t.Errorf("after the flight the chunk came from %v, want cache", src)
		}
		if n := o.calls(); n != 2 {
			t.Errorf("%d origin calls, want 2 (one build, one range)", n)
		}
	})
}

// TestManifestSingleFlight: 50 callers of a cold (or stale) path share one
// origin request.
func TestManifestSingleFlight(t *testing.T) {
	tests := []struct {
		name     string
		maxAge   time.Duration
		warm     bool // build the manifest first, so the callers revalidate
		wantCond int64
	}{
		{"cold", time.Hour, false, 0},
		{"stale", 0, true, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const callers = 50
				file := pattern(200<<10, 2)
				o := fsOrigin(fstest.MapFS{"a/f.bin": {Data: file}}, tt.maxAge)
				c := newCache(t, OriginFunc(o.fetch), Config{})
				var first *wire.Manifest
				if tt.warm {
					first = mustManifest(t, c, "a/f.bin")
				}
				before := o.calls()
				o.gate = make(chan struct{})
				ms := make([]*wire.Manifest, callers)
				errs := make([]error, callers)
				var wg sync.WaitGroup
				for i := range callers {
					wg.Go(func() { ms[i], errs[i] = c.Manifest(t.Context(), "/a/f.bin") })
				}
				synctest.Wait()
				if n := o.calls() - before; n != 1 {
					t.Errorf("%d origin calls in flight for %d callers, want 1", n, callers)
				}
				close(o.gate)
				wg.Wait()
				for i := range callers {
					if errs[i] != nil || ms[i] != ms[0] {
						t.Fatalf("caller %d: %p, %v; caller 0: %p", i, ms[i], errs[i], ms[0])
					}
				}
				checkManifest(t, ms[0], "a/f.bin", file, wire.MaxChunkSize)
				if n := o.calls() - before; n != 1 {
					t.Errorf("%d origin calls, want 1", n)
				}
				st := c.Stats()
				if st.ManifestBuilds != 1 || st.Manifests != 1 || o.conds.Load() != tt.wantCond || st.NotModified != uint64(tt.wantCond) {
					t.Errorf("stats %+v, %d conditional fetches; want 1 build, %d not modified", st, o.conds.Load(), tt.wantCond)
				}
				if tt.warm && ms[0] != first {
					t.Error("a not-modified revalidation returned a new manifest")
				}
			})
		})
	}
}

// TestCallerCancel: a caller that gives up gets its ctx error; the flight
// (even if that caller started it) goes on for the others.
func TestCallerCancel(t *testing.T) {
	const cs = 1024
	file := pattern(4*cs, 3)
	tests := []struct {
		name string
		call func(ctx context.Context, c *Cache, m *wire.Manifest) ([]byte, error)
	}{
		{"chunk", func(ctx context.Context, c *Cache, m *wire.Manifest) ([]byte, error) {
			b, _, err := c.Chunk(ctx, m, 3)
			return b, err
		}},
		{"chunk by hash", func(ctx context.Context, c *Cache, m *wire.Manifest) ([]byte, error) {
			b, _, err := c.ChunkByHash(ctx, m.Chunks[3])
			return b, err
		}},
		{"manifest", func(ctx context.Context, c *Cache, _ *wire.Manifest) ([]byte, error) {
			m, err := c.Manifest(ctx, "f.bin")
			if err != nil {
				return nil, err
			}
			return []byte(m.ETag), nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				o := fsOrigin(fstest.MapFS{"f.bin": {Data: file}}, 0)
				c := newCache(t, OriginFunc(o.fetch), Config{ChunkSize: cs, MaxBytes: 2 * cs})
				m := mustManifest(t, c, "f.bin")
				want := chunkOf(file, cs, 3)
				if tt.name == "manifest" {
					want = []byte(m.ETag)
				}
				before := o.calls()
				o.gate = make(chan struct{})
				type result struct {
					b   []byte
					err error
				}
				quitter := make(chan result, 1)
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				go func() { // the first caller starts the flight
					b, err := tt.call(ctx, c, m)
					quitter <- result{b, err}
				}()
				synctest.Wait()
				stayers := make(chan result, 2)
				for range 2 {
					go func() {
						b, err := tt.call(t.Context(), c, m)
						stayers <- result{b, err}
					}()
				}
				synctest.Wait()
				cancel()
				synctest.Wait()
				select {
				case r := <-quitter:
					if !errors.Is(r.err, context.Canceled) || r.b != nil {
						t.Errorf("cancelled caller got %d bytes, %v; want context.Canceled", len(r.b), r.err)
					}
				default:
					t.Fatal("cancelled caller still waiting")
				}
				if len(stayers) != 0 {
					t.Fatal("a caller returned before the origin answered")
				}
				close(o.gate)
				for range 2 {
					r := <-stayers
					if r.err != nil || !bytes.Equal(r.b, want) {
						t.Errorf("other caller: %d bytes, %v", len(r.b), r.err)
					}
				}
				if n := o.calls() - before; n != 1 {
					t.Errorf("%d origin calls, want 1", n)
				}
			})
		})
	}
}

// readerFunc adapts a function to io.Reader.
type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

// trackedBody is a response body that records whether it was closed.
type trackedBody struct {
	io.Reader
	closed atomic.Bool
}

func (b *trackedBody) Close() error { b.closed.Store(true); return nil }

func TestManifestBadOriginBody(t *testing.T) {
	const cs = 256
	good := pattern(1000, 4)
	tests := []struct {
		name string
		resp func() (*Response, error)
		want error
	}{
		{"announced 1000, body 600", func() (*Response, error) {
			return &Response{Body: io.NopCloser(bytes.NewReader(good[:600])), Size: 1000, Length: 1000}, nil
		}, ErrOrigin},
		{"unexpected EOF, length unknown", func() (*Response, error) {
			body := io.MultiReader(bytes.NewReader(good[:600]), iotest.ErrReader(io.ErrUnexpectedEOF))
			return &Response{Body: io.NopCloser(body), Size: -1, Length: -1}, nil
		}, io.ErrUnexpectedEOF},
		{"unexpected EOF, length announced", func() (*Response, error) {
			body := io.MultiReader(bytes.NewReader(good[:600]), iotest.ErrReader(io.ErrUnexpectedEOF))
			return &Response{Body: io.NopCloser(body), Size: 1000, Length: 1000}, nil
		}, io.ErrUnexpectedEOF},
		{"unexpected EOF with the last bytes", func() (*Response, error) {
			// The error arrives with data, as a reader may return both.
			sent := false
			return &Response{Body: io.NopCloser(readerFunc(func(p []byte) (int, error) {
				if sent {
					return 0, io.EOF
				}
				sent = true
				return copy(p, good[:100]), io.ErrUnexpectedEOF
			})), Size: -1, Length: -1}, nil
		}, io.ErrUnexpectedEOF},
		{"one byte at a time, then an error", func() (*Response, error) {
			body := io.MultiReader(iotest.OneByteReader(bytes.NewReader(good[:700])), iotest.ErrReader(errors.New("connection reset")))
			return &Response{Body: io.NopCloser(body), Size: -1, Length: -1}, nil
		}, ErrOrigin},
		{"body longer than announced", func() (*Response, error) {
			return &Response{Body: io.NopCloser(bytes.NewReader(append(good, good...))), Size: 1000, Length: 1000}, nil
		}, ErrOrigin},
		{"reader makes no progress", func() (*Response, error) {
			return &Response{Body: io.NopCloser(readerFunc(func([]byte) (int, error) { return 0, nil })), Size: -1, Length: -1}, nil
		}, io.ErrNoProgress},
		{"partial answer to a whole-file request", func() (*Response, error) {
			return &Response{Body: io.NopCloser(bytes.NewReader(good[:cs])), Partial: true, Size: 1000, Length: cs}, nil
		}, ErrOrigin},
		{"not modified, but nothing was asked", func() (*Response, error) {
			return &Response{NotModified: true, Size: 1000}, nil
		}, ErrOrigin},
		{"fetch error", func() (*Response, error) { return nil, fmt.Errorf("%w: connection refused", ErrOrigin) }, ErrOrigin},
		{"not found", func() (*Response, error) { return nil, fmt.Errorf("%w: f", ErrNotFound) }, ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var bad atomic.Bool
			bad.Store(true)
			var body *trackedBody
			o := OriginFunc(func(ctx context.Context, req Request) (*Response, error) {
				var resp *Response
				var err error
				if bad.Load() {
					resp, err = tt.resp()
				} else {
					resp = &Response{Body: io.NopCloser(bytes.NewReader(good)), Size: 1000, Length: 1000}
				}
				if resp != nil && resp.Body != nil {
					body = &trackedBody{Reader: resp.Body}
					resp.Body = body
				}
				return resp, err
			})
			clk := newClock()
			c := newCache(t, o, Config{ChunkSize: cs, Now: clk.Now})
			m, err := c.Manifest(t.Context(), "f")
			if err == nil {
				t.Fatalf("Manifest = %s, want an error", dump(m))
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("error %v does not wrap %v", err, tt.want)
			}
			if errors.Is(tt.want, io.ErrUnexpectedEOF) && !errors.Is(err, ErrOrigin) {
				t.Errorf("error %v does not wrap ErrOrigin", err)
			}
			if body != nil && !body.closed.Load() {
				t.Error("response body not closed")
			}
			if st := c.Stats(); st.Chunks != 0 || st.Bytes != 0 || st.Manifests != 0 || st.ManifestBuilds != 0 {
				t.Errorf("a failed build left %d chunks (%d bytes), %d manifests, %d builds", st.Chunks, st.Bytes, st.Manifests, st.ManifestBuilds)
			}
			bad.Store(false)
			if errors.Is(tt.want, ErrNotFound) { // remembered for the negative TTL: see TestNegativeCache
				if _, err := c.Manifest(t.Context(), "f"); !errors.Is(err, ErrNotFound) {
					t.Errorf("within the negative TTL: %v, want ErrNotFound", err)
				}
				clk.advance(10 * time.Second)
			}
			m = mustManifest(t, c, "f")
			checkManifest(t, m, "f", good, cs)
			if st := c.Stats(); st.Chunks != len(m.Chunks) || st.Manifests != 1 {
				t.Errorf("after a good answer: %+v", st)
			}
		})
	}
}

func TestManifestTooLarge(t *testing.T) {
	const limit = 2000
	tests := []struct {
		name string
		size int
		// unknown hides the size: the origin announces no length.
		unknown bool
		ok      bool
	}{
		{"announced over", limit + 1, false, false},
		{"announced far over", 10 * limit, false, false},
		{"streamed over", limit + 1, true, false},
		{"streamed far over", 10 * limit, true, false},
		{"at the limit", limit, false, true},
		{"streamed at the limit", limit, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := pattern(tt.size, 5)
			inner := NewFSOrigin(fstest.MapFS{"big": {Data: file}}, FSOriginConfig{})
			o := OriginFunc(func(ctx context.Context, req Request) (*Response, error) {
				resp, err := inner.Fetch(ctx, req)
				if err == nil && tt.unknown {
					resp.Size, resp.Length = -1, -1
				}
				return resp, err
			})
			c := newCache(t, o, Config{ChunkSize: 256, MaxFileSize: limit})
			m, err := c.Manifest(t.Context(), "big")
			if tt.ok {
				if err != nil {
					t.Fatal(err)
				}
				checkManifest(t, m, "big", file, 256)
				return
			}
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("Manifest error %v, want ErrTooLarge", err)
			}
			if st := c.Stats(); st.Chunks != 0 || st.Bytes != 0 || st.Manifests != 0 || st.ManifestBuilds != 0 {
				t.Errorf("a refused file left %+v", st)
			}
			st := c.Stats()
			if tt.unknown && st.OriginBytes > limit+256 {
				t.Errorf("read %d bytes of a file over the %d byte limit", st.OriginBytes, limit)
			}
			if !tt.unknown && st.OriginBytes != 0 {
				t.Errorf("read %d bytes of a file announced as too large", st.OriginBytes)
			}
		})
	}
}

// TestCacheSmallerThanFile: a file larger than the LRU is still served whole;
// the build keeps what fits, the rest is fetched by range and verified.
func TestCacheSmallerThanFile(t *testing.T) {
	const cs, maxBytes = 1024, 3500
	file := pattern(10*cs+300, 6)
	o := fsOrigin(fstest.MapFS{"big.bin": {Data: file}}, time.Hour)
	c := newCache(t, OriginFunc(o.fetch), Config{ChunkSize: cs, MaxBytes: maxBytes})
	m := mustManifest(t, c, "big.bin")
	checkManifest(t, m, "big.bin", file, cs)
	// The first 3 chunks fit, the 4th does not; the short last one still does.
	want := []bool{true, true, true, false, false, false, false, false, false, false, true}
	if held := heldChunks(c, m); !slices.Equal(held, want) {
		t.Errorf("after the build the LRU holds %v, want %v", held, want)
	}
	if st := c.Stats(); st.Bytes != 3*cs+300 || st.Chunks != 4 {
		t.Errorf("after the build %+v", st)
	}
	for pass := range 2 {
		for i := range m.Chunks {
			b, _ := mustChunk(t, c, m, i)
			if !bytes.Equal(b, chunkOf(file, cs, i)) {
				t.Fatalf("pass %d chunk %d: wrong bytes", pass, i)
			}
			if st := c.Stats(); st.Bytes > maxBytes {
				t.Fatalf("pass %d chunk %d: %d bytes held, budget %d", pass, i, st.Bytes, maxBytes)
			}
			checkLRU(t, c.chunks)
		}
	}
	st := c.Stats()
	if st.Hits != 3 || st.Misses != 19 || uint64(o.ranges.Load()) != st.Misses || o.whole.Load() != 1 {
		t.Errorf("stats %+v, %d range fetches; want 3 hits, 19 misses, one range fetch per miss", st, o.ranges.Load())
	}
	if st.Evictions == 0 || st.Stale != 0 {
		t.Errorf("stats %+v", st)
	}
	for _, r := range o.requests()[1:] {
		i := int(r.Offset / cs)
		if r.Path != "big.bin" || r.Offset != m.ChunkOffset(i) || r.Length != int64(m.ChunkLen(i)) {
			t.Errorf("range request %+v is not chunk %d", r, i)
		}
		if r.IfRange.IsZero() || !r.Cond.IsZero() {
			t.Errorf("range request %+v: want If-Range validators and no Cond", r)
		}
	}

	// The origin's bytes change but its validators do not (same size and
	// time): the range is served, and only the hash check catches it.
	changed := pattern(len(file), 7)
	o.inner = NewFSOrigin(fstest.MapFS{"big.bin": {Data: changed}}, FSOriginConfig{MaxAge: time.Hour})
	cold := slices.Index(heldChunks(c, m), false)
	b, _, err := c.Chunk(t.Context(), m, cold)
	if !errors.Is(err, ErrStale) || b != nil {
		t.Fatalf("Chunk of changed bytes: %d bytes, %v; want ErrStale", len(b), err)
	}
	if _, ok := c.Peek(wire.Sum(chunkOf(changed, cs, cold))); ok {
		t.Error("bytes that failed verification were cached")
	}
	if st := c.Stats(); st.Stale != 1 || st.Manifests != 0 || st.Bytes > maxBytes {
		t.Errorf("after a stale chunk: %+v", st)
	}
}

// chunkTestOrigin serves file for whole-file requests and answers range
// requests with rangeFn.
func chunkTestOrigin(file []byte, rangeFn func(req Request) (*Response, error)) OriginFunc {
	v := Validators{ETag: `"v1"`}
	return func(ctx context.Context, req Request) (*Response, error) {
		if req.Length == 0 {
			return &Response{Body: io.NopCloser(bytes.NewReader(file)), Size: int64(len(file)), Length: int64(len(file)), Validators: v, MaxAge: time.Hour}, nil
		}
		if req.IfRange != v {
			return nil, fmt.Errorf("%w: If-Range %+v, want %+v", ErrOrigin, req.IfRange, v)
		}
		return rangeFn(req)
	}
}

func partial(b []byte, req Request) *Response {
	return &Response{Body: io.NopCloser(bytes.NewReader(b)), Partial: true, Offset: req.Offset, Length: int64(len(b)), Size: -1}
}

func whole(b []byte) *Response {
	return &Response{Body: io.NopCloser(bytes.NewReader(b)), Size: int64(len(b)), Length: int64(len(b))}
}

// TestChunkVerification: whatever the origin answers to a range request, a
// chunk is returned only if it hashes to the manifest's hash.
func TestChunkVerification(t *testing.T) {
	const cs, i = 100, 2
	file := pattern(5*cs+50, 8)
	other := pattern(len(file), 9)
	tests := []struct {
		name      string
		rangeFn   func(req Request) (*Response, error)
		want      error // nil: the right bytes
		wantStale bool  // the manifest is dropped
	}{
		{"range", func(req Request) (*Response, error) {
			return partial(file[req.Offset:req.Offset+req.Length], req), nil
		}, nil, false},
		{"whole file, range ignored", func(req Request) (*Response, error) { return whole(file), nil }, nil, false},
		{"whole file, one byte at a time", func(req Request) (*Response, error) {
			r := whole(file)
			r.Body = io.NopCloser(iotest.OneByteReader(bytes.NewReader(file)))
			return r, nil
		}, nil, false},
		{"corrupted range", func(req Request) (*Response, error) {
			b := slices.Clone(file[req.Offset : req.Offset+req.Length])
			b[len(b)/2] ^= 1
			return partial(b, req), nil
		}, ErrStale, true},
		{"range of changed file", func(req Request) (*Response, error) {
			return partial(other[req.Offset:req.Offset+req.Length], req), nil
		}, ErrStale, true},
		{"whole changed file", func(req Request) (*Response, error) { return whole(other), nil }, ErrStale, true},
		{"whole file now shorter than the chunk's offset", func(req Request) (*Response, error) { return whole(file[:cs]), nil }, ErrStale, true},
		{"whole file now ends inside the chunk", func(req Request) (*Response, error) { return whole(file[:i*cs+10]), nil }, ErrStale, true},
		{"short range body", func(req Request) (*Response, error) {
			return partial(file[req.Offset:req.Offset+req.Length-1], req), nil
		}, ErrOrigin, false},
		{"range body error", func(req Request) (*Response, error) {
			r := partial(nil, req)
			r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(file[req.Offset:req.Offset+10]), iotest.ErrReader(io.ErrUnexpectedEOF)))
			return r, nil
		}, io.ErrUnexpectedEOF, false},
		{"origin error", func(req Request) (*Response, error) { return nil, fmt.Errorf("%w: 503", ErrOrigin) }, ErrOrigin, false},
		{"gone", func(req Request) (*Response, error) { return nil, fmt.Errorf("%w: gone", ErrNotFound) }, ErrNotFound, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ranges atomic.Int64
			o := chunkTestOrigin(file, func(req Request) (*Response, error) {
				ranges.Add(1)
				if req.Offset != i*cs || req.Length != cs {
					t.Errorf("range %d+%d, want chunk %d at %d+%d", req.Offset, req.Length, i, i*cs, cs)
				}
				return tt.rangeFn(req)
			})
			c := newCache(t, o, Config{ChunkSize: cs, MaxBytes: 2 * cs})
			m := mustManifest(t, c, "f")
			b, src, err := c.Chunk(t.Context(), m, i)
			if tt.want == nil {
				if err != nil || src != SourceOrigin || !bytes.Equal(b, chunkOf(file, cs, i)) {
					t.Fatalf("Chunk: %d bytes from %v, %v; want the chunk from the origin", len(b), src, err)
				}
				if _, ok := c.Peek(m.Chunks[i]); !ok {
					t.Error("verified chunk not cached")
				}
				if ranges.Load() != 1 {
					t.Errorf("%d range fetches", ranges.Load())
				}
				return
			}
			if !errors.Is(err, tt.want) || b != nil {
				t.Fatalf("Chunk: %d bytes, %v; want %v", len(b), err, tt.want)
			}
			if _, ok := c.Peek(m.Chunks[i]); ok {
				t.Error("chunk cached despite the failure")
			}
			st := c.Stats()
			if st.Bytes > 2*cs {
				t.Errorf("%d bytes held", st.Bytes)
			}
			if tt.wantStale {
				if st.Stale != 1 || st.Manifests != 0 {
					t.Errorf("stale fetch: %d stale, %d manifests held; want 1, 0", st.Stale, st.Manifests)
				}
				if _, _, err := c.ChunkByHash(t.Context(), m.Chunks[i]); !errors.Is(err, ErrUnknownChunk) {
					t.Errorf("ChunkByHash through a dropped manifest: %v, want ErrUnknownChunk", err)
				}
			} else if st.Stale != 0 || st.Manifests != 1 {
				t.Errorf("origin failure: %d stale, %d manifests held; want 0, 1", st.Stale, st.Manifests)
			}
		})
	}
}

func TestChunkBadIndex(t *testing.T) {
	o := fsOrigin(fstest.MapFS{"f": {Data: pattern(300, 1)}}, time.Hour)
	c := newCache(t, OriginFunc(o.fetch), Config{ChunkSize: 100})
	m := mustManifest(t, c, "f")
	for _, i := range []int{-1, 3, 4, 1 << 30} {
		if b, _, err := c.Chunk(t.Context(), m, i); !errors.Is(err, ErrBadIndex) || b != nil {
			t.Errorf("Chunk(%d): %d bytes, %v; want ErrBadIndex", i, len(b), err)
		}
	}
	if n := o.calls(); n != 1 {
		t.Errorf("%d origin calls, want 1", n)
	}
}

func TestManifestBadPath(t *testing.T) {
	o := fsOrigin(fstest.MapFS{"f": {Data: []byte("x")}}, time.Hour)
	c := newCache(t, OriginFunc(o.fetch), Config{})
	for _, p := range []string{"", "../f", "a/../f", "f/", "./f", "%66", "a\\f", "http://evil/f"} {
		if m, err := c.Manifest(t.Context(), p); !errors.Is(err, ErrBadPath) || m != nil {
			t.Errorf("Manifest(%q): %v, want ErrBadPath", p, err)
		}
	}
	if n := o.calls(); n != 0 {
		t.Errorf("bad paths reached the origin %d times", n)
	}
	if _, err := c.Manifest(t.Context(), "missing"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Manifest(missing): %v, want ErrNotFound", err)
	}
}

// TestManifestFreshness moves Config.Now instead of sleeping.
func TestManifestFreshness(t *testing.T) {
	clk := newClock()
	files := fstest.MapFS{"f.txt": {Data: []byte("one"), ModTime: clk.Now().Add(-time.Hour)}}
	o := fsOrigin(files, time.Hour)
	c := newCache(t, OriginFunc(o.fetch), Config{Now: clk.Now})
	m1 := mustManifest(t, c, "f.txt")
	steps := []struct {
		name       string
		advance    time.Duration
		change     []byte // new content at the origin
		wantCalls  int64  // origin calls so far
		wantConds  int64
		wantNew    bool // a new manifest
		wantBuilds uint64
	}{
		{"fresh", 30 * time.Minute, nil, 1, 0, false, 1},
		{"just before expiry", 30*time.Minute - time.Nanosecond, nil, 1, 0, false, 1},
		{"at expiry: revalidated, not modified", time.Nanosecond, nil, 2, 1, false, 1},
		{"fresh again after the 304", 59 * time.Minute, nil, 2, 1, false, 1},
		{"changed but still fresh", 0, []byte("two"), 2, 1, false, 1},
		{"expired and changed", time.Hour, nil, 3, 2, true, 2},
	}
	cur := m1
	for _, s := range steps {
		clk.advance(s.advance)
		if s.change != nil {
			files["f.txt"] = &fstest.MapFile{Data: s.change, ModTime: clk.Now()}
		}
		m := mustManifest(t, c, "f.txt")
		if (m != cur) != s.wantNew {
			t.Errorf("%s: new manifest %v, want %v", s.name, m != cur, s.wantNew)
		}
		cur = m
		st := c.Stats()
		if o.calls() != s.wantCalls || o.conds.Load() != s.wantConds || st.ManifestBuilds != s.wantBuilds || st.Revalidations != uint64(s.wantConds) {
			t.Errorf("%s: %d origin calls (%d conditional), %d builds, %d revalidations; want %d (%d), %d, %d",
				s.name, o.calls(), o.conds.Load(), st.ManifestBuilds, st.Revalidations, s.wantCalls, s.wantConds, s.wantBuilds, s.wantConds)
		}
	}
	checkManifest(t, cur, "f.txt", []byte("two"), wire.MaxChunkSize)
	if cur.SHA256 == m1.SHA256 {
		t.Error("changed file kept its hash")
	}
	if st := c.Stats(); st.Manifests != 1 || st.NotModified != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestChunkByHash(t *testing.T) {
	const cs = 100
	a := pattern(5*cs, 1)
	files := fstest.MapFS{
		"a":      {Data: a},
		"copy":   {Data: a}, // same content: same chunk hashes
		"b":      {Data: pattern(5*cs, 2)},
		"c":      {Data: pattern(5*cs, 3)},
		"prefix": {Data: a[:2*cs]},
	}
	newC := func(t *testing.T, maxManifests int) (*Cache, *testOrigin) {
		o := fsOrigin(files, 0)
		// A budget of one chunk: after a build only chunk 0 is warm.
		return newCache(t, OriginFunc(o.fetch), Config{ChunkSize: cs, MaxBytes: cs, MaxManifests: maxManifests}), o
	}
	t.Run("cached", func(t *testing.T) {
		c, o := newC(t, 0)
		m := mustManifest(t, c, "a")
		// The build read chunk 0 from the origin and kept it: its first
		// reader gets it from the origin, the next from the cache.
		for _, want := range []Source{SourceOrigin, SourceCache} {
			b, src, err := c.ChunkByHash(t.Context(), m.Chunks[0])
			if err != nil || src != want || !bytes.Equal(b, chunkOf(a, cs, 0)) {
				t.Errorf("ChunkByHash: %d bytes from %v, %v; want from %v", len(b), src, err, want)
			}
		}
		if o.calls() != 1 {
			t.Errorf("%d origin calls", o.calls())
		}
	})
	t.Run("through a held manifest", func(t *testing.T) {
		c, o := newC(t, 0)
		m := mustManifest(t, c, "a")
		for i := 4; i >= 0; i-- {
			b, _, err := c.ChunkByHash(t.Context(), m.Chunks[i])
			if err != nil || !bytes.Equal(b, chunkOf(a, cs, i)) {
				t.Errorf("ChunkByHash(chunk %d): %d bytes, %v", i, len(b), err)
			}
		}
		if o.ranges.Load() != 5 {
			t.Errorf("%d range fetches, want 5", o.ranges.Load())
		}
	})
	t.Run("unknown", func(t *testing.T) {
		c, o := newC(t, 0)
		mustManifest(t, c, "a")
		for _, h := range []wire.Hash{{}, wire.Sum([]byte("nope")), wire.Sum(pattern(cs, 2))} {
			if b, _, err := c.ChunkByHash(t.Context(), h); !errors.Is(err, ErrUnknownChunk) || b != nil {
				t.Errorf("ChunkByHash(%s): %v, want ErrUnknownChunk", h, err)
			}
		}
		if o.ranges.Load() != 0 {
			t.Errorf("%d range fetches for unknown chunks", o.ranges.Load())
		}
	})
	// A chunk two held manifests share stays reachable when one of them goes.
	t.Run("shared, other manifest evicted", func(t *testing.T) {
		c, _ := newC(t, 2)
		mustManifest(t, c, "a")
		cp := mustManifest(t, c, "copy")
		mustManifest(t, c, "b") // evicts "a"
		if st := c.Stats(); st.Manifests != 2 {
			t.Fatalf("%d manifests held, want 2", st.Manifests)
		}
		for i := 1; i < 5; i++ {
			b, _, err := c.ChunkByHash(t.Context(), cp.Chunks[i])
			if err != nil || !bytes.Equal(b, chunkOf(a, cs, i)) {
				t.Errorf("ChunkByHash(chunk %d of a held manifest): %d bytes, %v", i, len(b), err)
			}
		}
	})
	t.Run("shared, other manifest replaced", func(t *testing.T) {
		c, _ := newC(t, 0)
		mustManifest(t, c, "prefix")
		m := mustManifest(t, c, "a")
		old := files["prefix"]
		t.Cleanup(func() { files["prefix"] = old })
		files["prefix"] = &fstest.MapFile{Data: pattern(cs, 4), ModTime: time.Unix(1, 0)}
		mustManifest(t, c, "prefix") // replaces the manifest that listed a's chunk 1 first
		b, _, err := c.ChunkByHash(t.Context(), m.Chunks[1])
		if err != nil || !bytes.Equal(b, chunkOf(a, cs, 1)) {
			t.Errorf("ChunkByHash(chunk 1 of a held manifest): %d bytes, %v", len(b), err)
		}
	})
	t.Run("forgotten with its manifest", func(t *testing.T) {
		c, _ := newC(t, 1)
		m := mustManifest(t, c, "a")
		mustManifest(t, c, "b") // evicts "a"
		if _, _, err := c.ChunkByHash(t.Context(), m.Chunks[3]); !errors.Is(err, ErrUnknownChunk) {
			t.Errorf("ChunkByHash through an evicted manifest: %v, want ErrUnknownChunk", err)
		}
		if len(c.where) != 5 {
			t.Errorf("location index has %d hashes, want b's 5", len(c.where))
		}
	})
}

func TestClose(t *testing.T) {
	t.Run("idempotent", func(t *testing.T) {
		c, err := New(OriginFunc(fsOrigin(fstest.MapFS{}, 0).fetch), Config{})
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
		}
	})
	t.Run("no origin calls after", func(t *testing.T) {
		const cs = 100
		file := pattern(3*cs, 1)
		o := fsOrigin(fstest.MapFS{"f": {Data: file}, "g": {Data: file}}, time.Hour)
		c := newCache(t, OriginFunc(o.fetch), Config{ChunkSize: cs, MaxBytes: cs})
		m := mustManifest(t, c, "f")
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		before := o.calls()
		if _, err := c.Manifest(t.Context(), "g"); !errors.Is(err, ErrClosed) {
			t.Errorf("cold Manifest after Close: %v, want ErrClosed", err)
		}
		if _, _, err := c.Chunk(t.Context(), m, 2); !errors.Is(err, ErrClosed) {
			t.Errorf("cold Chunk after Close: %v, want ErrClosed", err)
		}
		if _, _, err := c.ChunkByHash(t.Context(), m.Chunks[1]); !errors.Is(err, ErrClosed) {
			t.Errorf("cold ChunkByHash after Close: %v, want ErrClosed", err)
		}
		if o.calls() != before {
			t.Errorf("%d origin calls after Close", o.calls()-before)
		}
		// What needs no origin is still served.
		if m2, err := c.Manifest(t.Context(), "f"); err != nil || m2 != m {
			t.Errorf("fresh Manifest after Close: %v", err)
		}
		// (its first reader: the build read it from the origin before Close)
		if b, src, err := c.Chunk(t.Context(), m, 0); err != nil || src != SourceOrigin || !bytes.Equal(b, file[:cs]) {
			t.Errorf("warm Chunk after Close: %v %v", src, err)
		}
		if _, src, err := c.Chunk(t.Context(), m, 0); err != nil || src != SourceCache {
			t.Errorf("warm Chunk after Close, again: %v %v", src, err)
		}
	})
	t.Run("cancels fetches in flight", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			o := fsOrigin(fstest.MapFS{"f": {Data: []byte("x")}}, 0)
			o.gate = make(chan struct{}) // never opened: only Close ends the fetch
			c, err := New(OriginFunc(o.fetch), Config{})
			if err != nil {
				t.Fatal(err)
			}
			errc := make(chan error, 1)
			go func() {
				_, err := c.Manifest(t.Context(), "f")
				errc <- err
			}()
			synctest.Wait()
			if o.calls() != 1 {
				t.Fatalf("%d origin calls, want 1", o.calls())
			}
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
			synctest.Wait()
			select {
			case err := <-errc:
				if !errors.Is(err, context.Canceled) {
					t.Errorf("Manifest during Close: %v, want context.Canceled", err)
				}
			default:
				t.Error("Manifest still waiting after Close")
			}
		})
	})
}

// TestOriginTimeout runs on the bubble's fake clock: no real waiting.
func TestOriginTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := fsOrigin(fstest.MapFS{"f": {Data: []byte("x")}}, 0)
		o.gate = make(chan struct{}) // a hung origin
		c := newCache(t, OriginFunc(o.fetch), Config{OriginTimeout: 5 * time.Second})
		start := time.Now()
		_, err := c.Manifest(t.Context(), "f")
		if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, ErrOrigin) {
			t.Errorf("Manifest from a hung origin: %v, want a deadline error", err)
		}
		if d := time.Since(start); d != 5*time.Second {
			t.Errorf("gave up after %v, want the 5s origin timeout", d)
		}
		close(o.gate)
		if _, err := c.Manifest(t.Context(), "f"); err != nil {
			t.Errorf("after the origin recovered: %v", err)
		}
	})
}

// TestFlightContextValues: the flight runs on the first caller's context
// values, without its cancellation.
func TestFlightContextValues(t *testing.T) {
	type key struct{}
	var got atomic.Value
	o := OriginFunc(func(ctx context.Context, req Request) (*Response, error) {
		got.Store(fmt.Sprint(ctx.Value(key{})))
		if _, ok := ctx.Deadline(); !ok {
			return nil, errors.New("flight context has no deadline")
		}
		return whole([]byte("x")), nil
	})
	c := newCache(t, o, Config{})
	ctx := context.WithValue(t.Context(), key{}, "caller")
	if _, err := c.Manifest(ctx, "f"); err != nil {
		t.Fatal(err)
	}
	if got.Load() != "caller" {
		t.Errorf("origin saw value %v, want the caller's", got.Load())
	}
}

func TestStatsCounters(t *testing.T) {
	const cs = 100
	file := pattern(4*cs, 1)
	o := fsOrigin(fstest.MapFS{"f": {Data: file}}, 0)
	c := newCache(t, OriginFunc(o.fetch), Config{ChunkSize: cs, MaxBytes: 2 * cs})
	m := mustManifest(t, c, "f") // build: 400 bytes read, chunks 0 and 1 kept
	mustChunk(t, c, m, 0)        // hit
	mustChunk(t, c, m, 3)        // miss, range of 100 bytes; evicts chunk 1
	mustManifest(t, c, "f")      // revalidation, not modified
	got := c.Stats()
	want := Stats{
		Bytes: 2 * cs, Chunks: 2, Evictions: 1, Manifests: 1, Hits: 1, Misses: 1,
		OriginFetches: 3, OriginBytes: 5 * cs, ManifestBuilds: 1, Revalidations: 1, NotModified: 1,
	}
	if got != want {
		t.Errorf("Stats() =\n %+v\nwant\n %+v", got, want)
	}
}

func TestPeek(t *testing.T) {
	o := fsOrigin(fstest.MapFS{"f": {Data: []byte("hello")}}, 0)
	c := newCache(t, OriginFunc(o.fetch), Config{})
	m := mustManifest(t, c, "f")
	if b, ok := c.Peek(m.Chunks[0]); !ok || string(b) != "hello" {
		t.Errorf("Peek = %q, %v", b, ok)
	}
	if _, ok := c.Peek(wire.Sum([]byte("other"))); ok {
		t.Error("Peek found an unknown chunk")
	}
	if st := c.Stats(); st.Hits != 0 || st.Misses != 0 {
		t.Errorf("Peek counted as a lookup: %+v", st)
	}
}

func TestReadFull(t *testing.T) {
	data := pattern(10, 1)
	tests := []struct {
		name    string
		r       io.Reader
		n       int
		wantN   int
		wantErr error
	}{
		{"exact", bytes.NewReader(data), 10, 10, nil},
		{"more available", bytes.NewReader(data), 4, 4, nil},
		{"short then EOF", bytes.NewReader(data), 16, 10, io.EOF},
		{"one byte at a time", iotest.OneByteReader(bytes.NewReader(data)), 10, 10, nil},
		{"data with EOF", iotest.DataErrReader(bytes.NewReader(data)), 16, 10, io.EOF},
		{"unexpected EOF kept", io.MultiReader(bytes.NewReader(data[:3]), iotest.ErrReader(io.ErrUnexpectedEOF)), 10, 3, io.ErrUnexpectedEOF},
		{"no progress", readerFunc(func([]byte) (int, error) { return 0, nil }), 10, 0, io.ErrNoProgress},
		{"empty", strings.NewReader(""), 10, 0, io.EOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			buf := make([]byte, tt.n)
			n, err := readFull(tt.r, buf)
			if n != tt.wantN || !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Errorf("readFull = %d, %v; want %d, %v", n, err, tt.wantN, tt.wantErr)
			}
			if !bytes.Equal(buf[:n], data[:n]) {
				t.Error("wrong bytes")
			}
		})
	}
}

// TestFlightRechecks: a flight that starts just after another filled the
// cache (its callers checked before the fill) does not ask the origin again.
func TestFlightRechecks(t *testing.T) {
	const cs = 100
	file := pattern(3*cs, 1)
	o := fsOrigin(fstest.MapFS{"f": {Data: file}}, time.Hour)
	c := newCache(t, OriginFunc(o.fetch), Config{ChunkSize: cs})
	m := mustManifest(t, c, "f")
	before := o.calls()
	got, err := c.loadManifest(t.Context(), "f")
	if err != nil || got != m {
		t.Errorf("loadManifest of a fresh path: %p, %v; want the held %p", got, err, m)
	}
	// The build kept chunk 1: its first reader gets it as from the origin
	// (the build's read), the next from the cache; neither asks again.
	for _, want := range []Source{SourceOrigin, SourceCache} {
		r, err := c.loadChunk(t.Context(), m, 1, "")
		if err != nil || r.src != want || !bytes.Equal(r.b, chunkOf(file, cs, 1)) {
			t.Errorf("loadChunk of a cached chunk: from %v, %v; want from %v", r.src, err, want)
		}
	}
	if n := o.calls() - before; n != 0 {
		t.Errorf("%d origin calls for what was already there", n)
	}
}
