package cache

import (
	"bytes"
	"context"
	"errors"
	"io"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"testing/iotest"
	"testing/synctest"
	"time"

	"github.com/p2pcache/p2pcache/relay/wire"
)

// barrierOrigin serves files whose bodies stop before their last chunk until
// every one of n bodies got there or a while passed: builds that can run at
// once then all hold their nearly complete files at the same moment.
type barrierOrigin struct {
	inner   Origin
	n       int32
	arrived atomic.Int32
	all     chan struct{}
	once    sync.Once
}

type barrierBody struct {
	Response
	o         *barrierOrigin
	read, end int64
	body      interface{ Read([]byte) (int, error) }
	waited    bool
}

func (b *barrierBody) Read(p []byte) (int, error) {
	if !b.waited && b.read+int64(len(p)) > b.end {
		if b.read < b.end {
			p = p[:b.end-b.read]
		} else {
			b.waited = true
			if b.o.arrived.Add(1) == b.o.n {
				b.o.once.Do(func() { close(b.o.all) })
			}
			select {
			case <-b.o.all:
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
	k, err := b.body.Read(p)
	b.read += int64(k)
	return k, err
}

func (b *barrierBody) Close() error { return b.Response.Body.Close() }

// TestManifestBuildBudget: concurrent manifest builds hold their files
// outside the LRU; with a Budget they reserve it first, so the bytes held
// at once stay within the budget however many builds run, and builds that
// do not fit wait for their turn rather than fail. Scaled down from "4
// builds of 48 MiB files under a 64 MiB budget" to 8 MiB files under a
// 10 MiB budget, to run fast under -race. Without the budget the heap grows
// by the 4 files at once (~32 MiB); with it, by one build and the LRU (~16).
func TestManifestBuildBudget(t *testing.T) {
	const (
		builds = 4
		size   = 8 << 20  // each file
		budget = 10 << 20 // fits one build, not two
		slack  = 4 << 20  // what else the test, the runtime and the race detector allocate
	)
	files := fstest.MapFS{}
	for i := range builds {
		files[string(rune('a'+i))] = &fstest.MapFile{Data: pattern(size, byte(i))}
	}
	bo := &barrierOrigin{inner: NewFSOrigin(files, FSOriginConfig{}), n: builds, all: make(chan struct{})}
	origin := OriginFunc(func(ctx context.Context, req Request) (*Response, error) {
		resp, err := bo.inner.Fetch(ctx, req)
		if err != nil || resp.Partial {
			return resp, err
		}
		body := &barrierBody{Response: *resp, o: bo, end: resp.Length - wire.MaxChunkSize, body: resp.Body}
		resp.Body = body
		return resp, nil
	})
	b := mustBudget(t, budget)
	// The LRU holds one file: what it keeps is bounded on its own.
	c := newCache(t, origin, Config{MaxBytes: size, Budget: b})

	heapInUse := func() int64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return int64(ms.HeapInuse)
	}
	base := heapInUse()
	var peak atomic.Int64
	done := make(chan struct{})
	var sampler sync.WaitGroup
	sampler.Go(func() {
		for {
			if h := heapInUse() - base; h > peak.Load() {
				peak.Store(h)
			}
			select {
			case <-done:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	})
	var wg sync.WaitGroup
	errs := make([]error, builds)
	for i := range builds {
		wg.Go(func() {
			_, errs[i] = c.Manifest(t.Context(), string(rune('a'+i)))
		})
	}
	wg.Wait()
	close(done)
	sampler.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("build %d: %v", i, err)
		}
	}
	st, bst := c.Stats(), b.Stats()
	t.Logf("heap growth peak %.1f MiB (budget %d MiB, LRU %d MiB); reserved peak %.1f MiB, %d waits, %v waiting",
		float64(peak.Load())/(1<<20), budget>>20, size>>20, float64(bst.Peak)/(1<<20), bst.Waits, bst.WaitTime)
	if st.ManifestBuilds != builds {
		t.Errorf("%d builds completed, want %d", st.ManifestBuilds, builds)
	}
	if bst.Peak > budget || bst.InUse != 0 || bst.Timeouts != 0 {
		t.Errorf("budget stats %+v: want a peak within %d, nothing left in use, no timeouts", bst, budget)
	}
	if bst.Peak < size || bst.Waits == 0 {
		t.Errorf("budget stats %+v: the builds did not reserve their files, or never waited", bst)
	}
	if limit := int64(budget + size + slack); peak.Load() > limit {
		t.Errorf("heap grew by %.1f MiB at peak, more than the budget + the LRU + slack (%.1f MiB)",
			float64(peak.Load())/(1<<20), float64(limit)/(1<<20))
	}
}

// budgetOrigin serves file whole, announcing its length or not, or a body
// that says one length and is another.
func budgetOrigin(file []byte, length int64) OriginFunc {
	return func(ctx context.Context, req Request) (*Response, error) {
		if req.Length > 0 {
			return partial(file, req), nil
		}
		return &Response{Body: io.NopCloser(bytes.NewReader(file)), Size: length, Length: length, MaxAge: time.Hour}, nil
	}
}

// TestManifestBuildBudgetShort: how a build lives with a budget smaller
// than its file. Of unknown size, it holds back what it gets without waiting
// and finishes; of known size, it waits in line for its bytes, failing with
// ErrMemoryBudget if they are not free within the origin timeout; whatever
// the outcome, it gives back all it reserved.
func TestManifestBuildBudgetShort(t *testing.T) {
	const cs = 1024
	file := pattern(40*cs, 8)
	held := func(n int) []bool {
		w := make([]bool, 40)
		for i := range n {
			w[i] = true
		}
		return w
	}
	check := func(t *testing.T, b *Budget, inUse int64) {
		t.Helper()
		if st := b.Stats(); st.InUse != inUse || st.Peak > st.Max {
			t.Errorf("budget %+v: want %d bytes in use, a peak within the max", st, inUse)
		}
	}

	t.Run("unknown size", func(t *testing.T) {
		b := mustBudget(t, 10*cs)
		c := newCache(t, budgetOrigin(file, -1), Config{ChunkSize: cs, MaxBytes: 1 << 20, Budget: b})
		m := mustManifest(t, c, "f")
		checkManifest(t, m, "f", file, cs)
		// The read buffer takes one chunk of the ten: nine are held back.
		if got := heldChunks(c, m); !slices.Equal(got, held(9)) {
			t.Errorf("LRU holds %v, want the first 9 chunks", got)
		}
		check(t, b, 0)
	})
	t.Run("unknown size, budget mostly taken", func(t *testing.T) {
		b := mustBudget(t, 10*cs)
		if !b.TryAcquire(7 * cs) {
			t.Fatal("TryAcquire")
		}
		c := newCache(t, budgetOrigin(file, -1), Config{ChunkSize: cs, MaxBytes: 1 << 20, Budget: b})
		m := mustManifest(t, c, "f")
		checkManifest(t, m, "f", file, cs)
		if got := heldChunks(c, m); !slices.Equal(got, held(2)) {
			t.Errorf("LRU holds %v, want the first 2 chunks (3 KiB free, 1 for the buffer)", got)
		}
		check(t, b, 7*cs)
		if b.Stats().Waits != 0 {
			t.Error("a build of unknown size waited")
		}
	})
	t.Run("known size waits", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b := mustBudget(t, 50*cs)
			// 35 KiB free, and the build needs 41 (the file and a buffer).
			if err := b.Acquire(t.Context(), 15*cs); err != nil {
				t.Fatal(err)
			}
			c := newCache(t, budgetOrigin(file, int64(len(file))), Config{ChunkSize: cs, Budget: b})
			var m *wire.Manifest
			var err error
			done := make(chan struct{})
			go func() {
				defer close(done)
				m, err = c.Manifest(t.Context(), "f")
			}()
			synctest.Wait()
			if st := b.Stats(); st.Waiting != 1 || st.InUse != 15*cs {
				t.Fatalf("budget %+v: want the build waiting", st)
			}
			time.Sleep(10 * time.Second)
			b.Release(15 * cs)
			<-done
			if err != nil {
				t.Fatal(err)
			}
			checkManifest(t, m, "f", file, cs)
			if got := heldChunks(c, m); !slices.Equal(got, held(40)) {
				t.Errorf("LRU holds %v, want all", got)
			}
			if st := b.Stats(); st.Peak != 41*cs || st.WaitTime != 10*time.Second {
				t.Errorf("budget %+v: want a peak of the file and a buffer, 10 s waited", st)
			}
			check(t, b, 0)
		})
	})
	t.Run("known size times out", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b := mustBudget(t, 50*cs)
			if err := b.Acquire(t.Context(), 45*cs); err != nil {
				t.Fatal(err)
			}
			c := newCache(t, budgetOrigin(file, int64(len(file))), Config{ChunkSize: cs, Budget: b, OriginTimeout: time.Second})
			for try := range 2 { // nothing remembered: each try waits again
				start := time.Now()
				_, err := c.Manifest(t.Context(), "f")
				if !errors.Is(err, ErrMemoryBudget) || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "f") {
					t.Fatalf("try %d: %v, want ErrMemoryBudget after the deadline, naming the path", try, err)
				}
				if d := time.Since(start); d != time.Second {
					t.Errorf("try %d failed after %v, want the 1 s origin timeout", try, d)
				}
			}
			if st := c.Stats(); st.Chunks != 0 || st.Manifests != 0 || st.OriginRetries != 0 || st.NegativeEntries != 0 {
				t.Errorf("cache %+v", st)
			}
			if st := b.Stats(); st.Timeouts != 2 {
				t.Errorf("budget %+v, want 2 timeouts", st)
			}
			check(t, b, 45*cs)
			b.Release(45 * cs)
			checkManifest(t, mustManifest(t, c, "f"), "f", file, cs)
		})
	})
	t.Run("failed builds give back", func(t *testing.T) {
		b := mustBudget(t, 100*cs)
		bodies := map[string]func() (*Response, error){
			"lies short": func() (*Response, error) { // grows past its reservation, then fails
				return &Response{Body: io.NopCloser(bytes.NewReader(file)), Size: 2 * cs, Length: 2 * cs}, nil
			},
			"breaks": func() (*Response, error) {
				r := io.MultiReader(bytes.NewReader(file[:10*cs]), iotest.ErrReader(io.ErrUnexpectedEOF))
				return &Response{Body: io.NopCloser(r), Size: -1, Length: -1}, nil
			},
		}
		for name, body := range bodies {
			c := newCache(t, OriginFunc(func(context.Context, Request) (*Response, error) { return body() }),
				Config{ChunkSize: cs, Budget: b, OriginRetries: -1})
			if _, err := c.Manifest(t.Context(), "f"); !errors.Is(err, ErrOrigin) {
				t.Errorf("%s: %v, want ErrOrigin", name, err)
			}
			if st := c.Stats(); st.Chunks != 0 {
				t.Errorf("%s: %d chunks cached", name, st.Chunks)
			}
			check(t, b, 0)
			if b.Stats().Peak <= 2*cs {
				t.Errorf("%s: peak %d, the build never held its chunks", name, b.Stats().Peak)
			}
		}
	})
}
