package cache

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/p2pcache/p2pcache/relay/wire"
)

// TestNegativeCache: a path the origin does not have costs one origin call
// per TTL, however often it is asked for.
func TestNegativeCache(t *testing.T) {
	clk := newClock()
	files := fstest.MapFS{"there.txt": {Data: []byte("here")}}
	o := fsOrigin(files, time.Hour)
	c := newCache(t, OriginFunc(o.fetch), Config{Now: clk.Now})
	ask := func(p string, n int) {
		t.Helper()
		for range n {
			if _, err := c.Manifest(t.Context(), p); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Manifest(%q): %v, want ErrNotFound", p, err)
			}
		}
	}
	ask("missing.txt", 50)
	if got := o.calls(); got != 1 {
		t.Fatalf("50 requests for a missing path: %d origin calls, want 1", got)
	}
	ask("/missing.txt", 5) // the same path, uncleaned
	ask("other.txt", 5)
	if got := o.calls(); got != 2 {
		t.Fatalf("another missing path: %d origin calls in all, want 2", got)
	}
	clk.advance(10 * time.Second)
	ask("missing.txt", 5)
	if got := o.calls(); got != 3 {
		t.Fatalf("after the 10 s TTL: %d origin calls in all, want 3", got)
	}
	if st := c.Stats(); st.NegativeHits != 49+5+4+4 || st.NegativeEntries != 2 {
		t.Errorf("stats: %d negative hits, %d entries; want 62, 2", st.NegativeHits, st.NegativeEntries)
	}
}

// TestNegativeCacheAnswers: what is remembered and for how long. Only a
// definite "not found" is; a file that appears is served once the entry
// expires; a negative TTL turns it off.
func TestNegativeCacheAnswers(t *testing.T) {
	clk := newClock()
	files := fstest.MapFS{}
	o := fsOrigin(files, time.Hour)
	failing := map[string]error{
		"5xx.txt":       fmt.Errorf("%w: origin said 503", ErrOrigin),
		"refused.txt":   fmt.Errorf("%w: %w: origin said 403", ErrOrigin, ErrOriginRefused),
		"too-large.txt": fmt.Errorf("%w: 2 GiB", ErrTooLarge),
		"both.txt":      fmt.Errorf("%w: %w: a failure that mentions 404", ErrOrigin, ErrNotFound),
	}
	origin := OriginFunc(func(ctx context.Context, req Request) (*Response, error) {
		if err, ok := failing[req.Path]; ok {
			o.whole.Add(1)
			return nil, err
		}
		return o.fetch(ctx, req)
	})
	c := newCache(t, origin, Config{Now: clk.Now, OriginRetries: -1, NegativeTTL: time.Minute})

	for p, want := range failing {
		before := o.calls()
		for range 3 {
			if _, err := c.Manifest(t.Context(), p); !errors.Is(err, want) {
				t.Fatalf("Manifest(%q): %v, want %v", p, err, want)
			}
		}
		if got := o.calls() - before; got != 3 {
			t.Errorf("%s: 3 requests, %d origin calls; want 3 (not remembered)", p, got)
		}
	}
	if st := c.Stats(); st.NegativeEntries != 0 || st.NegativeHits != 0 {
		t.Fatalf("failures were remembered: %+v", st)
	}

	if _, err := c.Manifest(t.Context(), "later.txt"); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	files["later.txt"] = &fstest.MapFile{Data: []byte("now here")}
	clk.advance(time.Minute - time.Nanosecond)
	if _, err := c.Manifest(t.Context(), "later.txt"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("within the TTL: %v, want the remembered ErrNotFound", err)
	}
	if st := c.Stats(); st.NegativeHits != 1 || st.NegativeEntries != 1 || st.NegativeBytes != negCost("later.txt") {
		t.Fatalf("stats %+v", st)
	}
	clk.advance(time.Nanosecond)
	if m := mustManifest(t, c, "later.txt"); m.Size != 8 {
		t.Fatalf("after the TTL: %+v", m)
	}
	if st := c.Stats(); st.NegativeEntries != 0 || st.NegativeBytes != 0 {
		t.Fatalf("a found path is still remembered missing: %+v", st)
	}

	t.Run("off", func(t *testing.T) {
		o := fsOrigin(fstest.MapFS{}, 0)
		c := newCache(t, OriginFunc(o.fetch), Config{NegativeTTL: -1})
		for range 5 {
			if _, err := c.Manifest(t.Context(), "missing"); !errors.Is(err, ErrNotFound) {
				t.Fatal(err)
			}
		}
		if o.calls() != 5 {
			t.Errorf("negative TTL: %d origin calls for 5 requests, want 5", o.calls())
		}
	})
}

// TestNegativeCacheBounds: a client cycling through fresh missing paths
// cannot grow the table past its entry or byte bound, and each new path
// evicts the least recently used one, not the whole table.
func TestNegativeCacheBounds(t *testing.T) {
	const maxEntries = 8
	o := fsOrigin(fstest.MapFS{}, 0)
	c := newCache(t, OriginFunc(o.fetch), Config{NegativeMaxEntries: maxEntries, NegativeMaxBytes: maxEntries * negCost("p/0000")})
	missing := func(p string) {
		t.Helper()
		if _, err := c.Manifest(t.Context(), p); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Manifest(%q): %v", p, err)
		}
	}
	// remembered reports whether p is answered without an origin call.
	remembered := func(p string) bool {
		t.Helper()
		before := o.calls()
		missing(p)
		return o.calls() == before
	}
	for i := range 2000 {
		missing(fmt.Sprintf("p/%04d", i))
		if st := c.Stats(); st.NegativeEntries > maxEntries || st.NegativeBytes > maxEntries*negCost("p/0000") {
			t.Fatalf("after %d paths: %d entries, %d bytes", i+1, st.NegativeEntries, st.NegativeBytes)
		}
	}
	if st := c.Stats(); st.NegativeEntries != maxEntries {
		t.Fatalf("%d entries after cycling, want %d (full, not reset)", st.NegativeEntries, maxEntries)
	}
	// The last maxEntries paths are remembered; touch the oldest of them.
	if !remembered("p/1992") {
		t.Fatal("the oldest of the last 8 paths was forgotten")
	}
	missing("q/new") // evicts p/1993, the least recently used
	// In this order: asking for a forgotten path remembers it again.
	for _, tt := range []struct {
		path string
		want bool
	}{{"p/1992", true}, {"p/1994", true}, {"p/1999", true}, {"q/new", true}, {"p/1993", false}, {"p/1991", false}} {
		if got := remembered(tt.path); got != tt.want {
			t.Errorf("%s remembered: %t, want %t", tt.path, got, tt.want)
		}
	}
	// Long paths are charged by length: one evicts several short ones.
	long := "l/" + strings.Repeat("x", 4*len("p/0000")+3*negEntryOverhead)
	missing(long)
	if st := c.Stats(); st.NegativeEntries > maxEntries-4 || st.NegativeBytes > maxEntries*negCost("p/0000") {
		t.Errorf("after a long path: %d entries, %d bytes", st.NegativeEntries, st.NegativeBytes)
	}
	// A path larger than the whole budget is not remembered at all.
	huge := "h/" + strings.Repeat("y", wire.MaxPathLen-2)
	missing(huge)
	if remembered(huge) {
		t.Error("a path over the byte bound was remembered")
	}
}
