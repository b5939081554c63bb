package cache

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/p2pcache/p2pcache/relay/wire"
)

// httpFile is one file at an HTTP origin, served with http.ServeContent so
// that Range, If-Range, If-None-Match and ETag are net/http's own handling.
type httpFile struct {
	mu   sync.Mutex
	body []byte
	etag string
	mod  time.Time
	cc   string        // Cache-Control
	seen []http.Header // request headers, in order
}

func (f *httpFile) set(body []byte, etag string, mod time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.body, f.etag, f.mod = body, etag, mod
}

func (f *httpFile) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	body, etag, mod, cc := f.body, f.etag, f.mod, f.cc
	f.seen = append(f.seen, r.Header.Clone())
	f.mu.Unlock()
	if etag != "" {
		w.Header().Set("ETag", etag)
	}
	if cc != "" {
		w.Header().Set("Cache-Control", cc)
	}
	http.ServeContent(w, r, "file.bin", mod, bytes.NewReader(body))
}

func (f *httpFile) requests() []http.Header {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]http.Header(nil), f.seen...)
}

// newHTTPOrigin starts a server with h at /static/file.bin and returns an
// HTTPOrigin for it with the default client (so the default redirect policy).
func newHTTPOrigin(t testing.TB, h http.Handler, now func() time.Time) (*HTTPOrigin, *httptest.Server) {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/static/", h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	o, err := NewHTTPOrigin(srv.URL+"/static", HTTPOriginConfig{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(o.client.CloseIdleConnections)
	return o, srv
}

func TestHTTPOriginRevalidate(t *testing.T) {
	clk := newClock()
	mod := clk.Now().Add(-24 * time.Hour)
	v1, v2 := pattern(3*wire.MaxChunkSize+5, 1), pattern(3*wire.MaxChunkSize+5, 2)
	f := &httpFile{cc: "max-age=0"}
	f.set(v1, `"v1"`, mod)
	o, _ := newHTTPOrigin(t, f, clk.Now)
	c := newCache(t, o, Config{Now: clk.Now})

	m1 := mustManifest(t, c, "file.bin")
	checkManifest(t, m1, "file.bin", v1, wire.MaxChunkSize)
	m := mustManifest(t, c, "file.bin")
	if m != m1 {
		t.Error("not-modified revalidation returned a new manifest")
	}
	st := c.Stats()
	if st.NotModified != 1 || st.Revalidations != 1 || st.ManifestBuilds != 1 || st.OriginFetches != 2 {
		t.Errorf("after a 304: %+v", st)
	}
	reqs := f.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want 2", len(reqs))
	}
	if reqs[0].Get("If-None-Match") != "" || reqs[0].Get("Range") != "" {
		t.Errorf("first request is conditional or ranged: %v", reqs[0])
	}
	if got := reqs[1].Get("If-None-Match"); got != `"v1"` {
		t.Errorf("revalidation If-None-Match %q, want \"v1\"", got)
	}
	if got := reqs[1].Get("If-Modified-Since"); got != mod.Format(http.TimeFormat) {
		t.Errorf("revalidation If-Modified-Since %q, want %q", got, mod.Format(http.TimeFormat))
	}

	f.set(v2, `"v2"`, mod.Add(time.Hour))
	clk.advance(time.Second)
	m2 := mustManifest(t, c, "file.bin")
	checkManifest(t, m2, "file.bin", v2, wire.MaxChunkSize)
	if m2 == m1 || m2.SHA256 == m1.SHA256 || m2.ETag == m1.ETag {
		t.Fatal("changed file: same manifest")
	}
	for i := range m2.Chunks {
		if m2.Chunks[i] == m1.Chunks[i] {
			t.Errorf("chunk %d kept its hash", i)
		}
		if b, _ := mustChunk(t, c, m2, i); !bytes.Equal(b, chunkOf(v2, wire.MaxChunkSize, i)) {
			t.Errorf("chunk %d: wrong bytes", i)
		}
	}
	st = c.Stats()
	if st.NotModified != 1 || st.Revalidations != 2 || st.ManifestBuilds != 2 || st.Manifests != 1 {
		t.Errorf("after a change: %+v", st)
	}
}

func TestHTTPOriginMaxAge(t *testing.T) {
	clk := newClock()
	f := &httpFile{cc: "public, max-age=3600"}
	f.set([]byte("hello"), `"v1"`, clk.Now().Add(-time.Hour))
	o, _ := newHTTPOrigin(t, f, clk.Now)
	c := newCache(t, o, Config{Now: clk.Now})
	m1 := mustManifest(t, c, "file.bin")
	steps := []struct {
		advance  time.Duration
		wantReqs int
	}{
		{0, 1},
		{59 * time.Minute, 1},
		{2 * time.Minute, 2},  // expired: revalidated, 304
		{30 * time.Minute, 2}, // the 304 (at 61m) gave another hour
		{29 * time.Minute, 2},
		{2 * time.Minute, 3},
	}
	for _, s := range steps {
		clk.advance(s.advance)
		if m := mustManifest(t, c, "file.bin"); m != m1 {
			t.Fatalf("after %v: new manifest", s.advance)
		}
		if n := len(f.requests()); n != s.wantReqs {
			t.Fatalf("after %v: %d origin requests, want %d", s.advance, n, s.wantReqs)
		}
	}
	if st := c.Stats(); st.NotModified != 2 || st.ManifestBuilds != 1 {
		t.Errorf("stats %+v", st)
	}
}

// TestHTTPOriginStaleChunk: a chunk of an old manifest, fetched after the
// file changed, is an ErrStale (or at worst an origin error), never bytes of
// the new file.
func TestHTTPOriginStaleChunk(t *testing.T) {
	const cs, i = 1024, 5
	v1 := pattern(8*cs, 1)
	tests := []struct {
		name        string
		v2          []byte
		refresh     bool  // fetch the new manifest before the old chunk
		want        error // from Chunk(m1, i)
		wantIfRange string
	}{
		{"same size, old manifest current", pattern(8*cs, 2), false, ErrStale, `"v1"`},
		{"grown, old manifest current", pattern(9*cs, 2), false, ErrStale, `"v1"`},
		{"shrunk, old manifest current", pattern(3*cs, 2), false, ErrStale, `"v1"`},
		{"shrunk into the chunk, old manifest current", pattern(i*cs+10, 2), false, ErrStale, `"v1"`},
		{"same size, old manifest replaced", pattern(8*cs, 2), true, ErrStale, ""},
		{"grown, old manifest replaced", pattern(9*cs, 2), true, ErrStale, ""},
		// The range is past the new end: 416, an origin error.
		{"shrunk, old manifest replaced", pattern(3*cs, 2), true, ErrOrigin, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			f := &httpFile{cc: "max-age=60"}
			f.set(v1, `"v1"`, clk.Now().Add(-time.Hour))
			o, _ := newHTTPOrigin(t, f, clk.Now)
			c := newCache(t, o, Config{ChunkSize: cs, MaxBytes: 2 * cs, Now: clk.Now})
			m1 := mustManifest(t, c, "file.bin")
			if heldChunks(c, m1)[i] {
				t.Fatalf("chunk %d is warm", i)
			}
			f.set(tt.v2, `"v2"`, clk.Now())
			var m2 *wire.Manifest
			if tt.refresh {
				clk.advance(2 * time.Minute)
				m2 = mustManifest(t, c, "file.bin")
				if m2 == m1 {
					t.Fatal("no new manifest")
				}
			}
			before := c.Stats()
			b, _, err := c.Chunk(t.Context(), m1, i)
			if !errors.Is(err, tt.want) || b != nil {
				t.Fatalf("Chunk(old manifest, %d): %d bytes, %v; want %v", i, len(b), err, tt.want)
			}
			reqs := f.requests()
			last := reqs[len(reqs)-1]
			if got, want := last.Get("Range"), fmt.Sprintf("bytes=%d-%d", i*cs, (i+1)*cs-1); got != want {
				t.Errorf("Range %q, want %q", got, want)
			}
			if got := last.Get("If-Range"); got != tt.wantIfRange {
				t.Errorf("If-Range %q, want %q", got, tt.wantIfRange)
			}
			if got := last.Get("Accept-Encoding"); got != "identity" {
				t.Errorf("Accept-Encoding %q, want identity", got)
			}
			st := c.Stats()
			if st.Bytes != before.Bytes || st.Chunks != before.Chunks {
				t.Errorf("a failed fetch changed the LRU: %+v → %+v", before, st)
			}
			if tt.want == ErrStale && st.Stale != 1 {
				t.Errorf("%d stale fetches, want 1", st.Stale)
			}
			if !tt.refresh {
				if st.Manifests != 0 {
					t.Errorf("the stale manifest is still held")
				}
				m2 = mustManifest(t, c, "file.bin")
			} else if st.Manifests != 1 || mustManifest(t, c, "file.bin") != m2 {
				t.Errorf("the new manifest was dropped for the old one's stale chunk")
			}
			checkManifest(t, m2, "file.bin", tt.v2, cs)
			for j := range m2.Chunks {
				if b, _ := mustChunk(t, c, m2, j); !bytes.Equal(b, chunkOf(tt.v2, cs, j)) {
					t.Fatalf("new manifest chunk %d: wrong bytes", j)
				}
			}
		})
	}
	t.Run("unchanged: If-Range matches, 206", func(t *testing.T) {
		f := &httpFile{cc: "max-age=60"}
		f.set(v1, `"v1"`, time.Now().Add(-time.Hour))
		o, _ := newHTTPOrigin(t, f, nil)
		c := newCache(t, o, Config{ChunkSize: cs, MaxBytes: 2 * cs})
		m := mustManifest(t, c, "file.bin")
		b, src := mustChunk(t, c, m, i)
		if src != SourceOrigin || !bytes.Equal(b, chunkOf(v1, cs, i)) {
			t.Fatalf("chunk from %v", src)
		}
		reqs := f.requests()
		if got := reqs[len(reqs)-1].Get("If-Range"); got != `"v1"` {
			t.Errorf("If-Range %q", got)
		}
		if st := c.Stats(); st.OriginBytes != uint64(len(v1)+cs) {
			t.Errorf("read %d bytes from the origin, want the file and one chunk (%d)", st.OriginBytes, len(v1)+cs)
		}
	})
}

// TestHTTPOriginRangeIgnored: an origin without range support answers 200
// with the whole file; the chunk is cut out of it.
func TestHTTPOriginRangeIgnored(t *testing.T) {
	const cs = 1000
	file := pattern(5*cs+1, 3)
	var ranged atomic.Int64
	o, _ := newHTTPOrigin(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Range") != "" {
			ranged.Add(1)
		}
		w.Header().Set("Cache-Control", "max-age=60")
		w.Write(file)
	}), nil)
	c := newCache(t, o, Config{ChunkSize: cs, MaxBytes: cs})
	m := mustManifest(t, c, "file.bin")
	for i := len(m.Chunks) - 1; i >= 0; i-- {
		b, _ := mustChunk(t, c, m, i)
		if !bytes.Equal(b, chunkOf(file, cs, i)) {
			t.Fatalf("chunk %d: wrong bytes", i)
		}
	}
	if ranged.Load() == 0 {
		t.Error("no range requests")
	}
}

func TestHTTPOriginErrors(t *testing.T) {
	body := pattern(1000, 4)
	var otherHits atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		otherHits.Add(1)
		w.Write(body)
	}))
	defer other.Close()
	status := func(code int) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", code) }
	}
	tests := []struct {
		name    string
		h       http.HandlerFunc
		want    error // nil: served
		wantMsg string
	}{
		{"200", func(w http.ResponseWriter, r *http.Request) { w.Write(body) }, nil, ""},
		{"200 chunked, length unknown", func(w http.ResponseWriter, r *http.Request) {
			w.Write(body[:300])
			w.(http.Flusher).Flush()
			w.Write(body[300:])
		}, nil, ""},
		{"404", status(http.StatusNotFound), ErrNotFound, "404"},
		{"410", status(http.StatusGone), ErrNotFound, "410"},
		{"500", status(http.StatusInternalServerError), ErrOrigin, "500"},
		{"503", status(http.StatusServiceUnavailable), ErrOrigin, "503"},
		{"403", status(http.StatusForbidden), ErrOrigin, "403"},
		{"redirect to another host", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, other.URL+r.URL.Path, http.StatusFound)
		}, ErrOrigin, "leaves the origin host"},
		{"permanent redirect to another host", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, other.URL+"/x", http.StatusPermanentRedirect)
		}, ErrOrigin, "leaves the origin host"},
		{"redirect to another scheme", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "https://"+r.Host+"/static/moved.bin", http.StatusFound)
		}, ErrOrigin, "leaves the origin host"},
		{"redirect within the host", func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/static/moved.bin" {
				w.Write(body)
				return
			}
			http.Redirect(w, r, "/static/moved.bin", http.StatusMovedPermanently)
		}, nil, ""},
		{"redirect loop", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, r.URL.Path+"x", http.StatusFound)
		}, ErrOrigin, "redirects"},
		{"206 to a whole-file request", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Range", "bytes 0-99/1000")
			w.WriteHeader(http.StatusPartialContent)
			w.Write(body[:100])
		}, ErrOrigin, "206"},
		{"304 to an unconditional request", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusNotModified)
		}, ErrOrigin, "not modified"},
		{"truncated body", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "1000")
			w.Write(body[:600])
		}, ErrOrigin, "unexpected EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			otherHits.Store(0)
			var good atomic.Bool
			o, _ := newHTTPOrigin(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if good.Load() {
					w.Write(body)
					return
				}
				tt.h(w, r)
			}), nil)
			clk := newClock()
			c := newCache(t, o, Config{ChunkSize: 256, Now: clk.Now})
			m, err := c.Manifest(t.Context(), "file.bin")
			if tt.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				checkManifest(t, m, "file.bin", body, 256)
				return
			}
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("Manifest: %v; want %v mentioning %q", err, tt.want, tt.wantMsg)
			}
			if otherHits.Load() != 0 {
				t.Errorf("the other host was asked %d times", otherHits.Load())
			}
			if st := c.Stats(); st.Chunks != 0 || st.Manifests != 0 || st.Bytes != 0 {
				t.Errorf("a failed fetch left %+v", st)
			}
			good.Store(true)
			if errors.Is(tt.want, ErrNotFound) { // remembered for the negative TTL: see TestNegativeCache
				if _, err := c.Manifest(t.Context(), "file.bin"); !errors.Is(err, ErrNotFound) {
					t.Errorf("within the negative TTL: %v, want ErrNotFound", err)
				}
				clk.advance(10 * time.Second)
			}
			m = mustManifest(t, c, "file.bin")
			checkManifest(t, m, "file.bin", body, 256)
		})
	}
}

// TestHTTPOriginRequests checks the request headers Fetch sends.
func TestHTTPOriginRequests(t *testing.T) {
	lm := time.Date(2024, 6, 7, 8, 9, 10, 0, time.UTC)
	tests := []struct {
		name   string
		req    Request
		header map[string]string // "" means absent
	}{
		{"whole", Request{Path: "a"}, map[string]string{"Range": "", "If-Range": "", "If-None-Match": "", "If-Modified-Since": ""}},
		{"conditional", Request{Path: "a", Cond: Validators{ETag: `"x"`, LastModified: lm}},
			map[string]string{"If-None-Match": `"x"`, "If-Modified-Since": lm.Format(http.TimeFormat), "Range": ""}},
		{"conditional, weak etag", Request{Path: "a", Cond: Validators{ETag: `W/"x"`}},
			map[string]string{"If-None-Match": `W/"x"`, "If-Modified-Since": ""}},
		{"range", Request{Path: "a", Offset: 100, Length: 50},
			map[string]string{"Range": "bytes=100-149", "If-Range": "", "Accept-Encoding": "identity", "If-None-Match": ""}},
		{"range, strong etag", Request{Path: "a", Offset: 0, Length: 1, IfRange: Validators{ETag: `"x"`, LastModified: lm}},
			map[string]string{"Range": "bytes=0-0", "If-Range": `"x"`}},
		{"range, weak etag: the date instead", Request{Path: "a", Offset: 0, Length: 1, IfRange: Validators{ETag: `W/"x"`, LastModified: lm}},
			map[string]string{"If-Range": lm.Format(http.TimeFormat)}},
		{"range, weak etag and no date", Request{Path: "a", Offset: 0, Length: 1, IfRange: Validators{ETag: `W/"x"`}},
			map[string]string{"If-Range": ""}},
		{"range, date only", Request{Path: "a", Offset: 0, Length: 1, IfRange: Validators{LastModified: lm}},
			map[string]string{"If-Range": lm.Format(http.TimeFormat)}},
		{"range ignores Cond", Request{Path: "a", Offset: 0, Length: 1, Cond: Validators{ETag: `"x"`}},
			map[string]string{"If-None-Match": ""}},
	}
	var mu sync.Mutex
	var got http.Header
	o, _ := newHTTPOrigin(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = r.Header.Clone()
		mu.Unlock()
		w.Write([]byte("0123456789"))
	}), nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := o.Fetch(t.Context(), tt.req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			mu.Lock()
			defer mu.Unlock()
			for k, want := range tt.header {
				if got.Get(k) != want {
					t.Errorf("%s: %q, want %q", k, got.Get(k), want)
				}
			}
			if got.Get("User-Agent") != "p2pcache" {
				t.Errorf("User-Agent %q", got.Get("User-Agent"))
			}
		})
	}
	t.Run("bad path", func(t *testing.T) {
		if _, err := o.Fetch(t.Context(), Request{Path: "../a"}); !errors.Is(err, ErrBadPath) {
			t.Errorf("Fetch(../a): %v, want ErrBadPath", err)
		}
	})
}

func TestHTTPOriginResponses(t *testing.T) {
	cond := Validators{ETag: `"c"`, LastModified: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
	tests := []struct {
		name    string
		req     Request
		h       http.HandlerFunc
		want    Response // Body ignored
		body    string
		wantErr error
	}{
		{"200 with validators", Request{Path: "a"}, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("ETag", `"e"`)
			w.Header().Set("Last-Modified", "Mon, 02 Jan 2006 15:04:05 GMT")
			w.Header().Set("Content-Type", "image/png")
			w.Header().Set("Cache-Control", "max-age=30")
			w.Write([]byte("png!"))
		}, Response{Size: 4, Length: 4, ContentType: "image/png", MaxAge: 30 * time.Second,
			Validators: Validators{ETag: `"e"`, LastModified: time.Date(2006, 1, 2, 15, 4, 5, 0, time.UTC)}}, "png!", nil},
		{"206", Request{Path: "a", Offset: 2, Length: 3}, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Range", "bytes 2-4/10")
			w.Header().Set("Content-Type", "application/x-test")
			w.WriteHeader(http.StatusPartialContent)
			w.Write([]byte("234"))
		}, Response{Partial: true, Offset: 2, Length: 3, Size: 10, ContentType: "application/x-test"}, "234", nil},
		{"206, size unknown", Request{Path: "a", Offset: 2, Length: 3}, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Range", "bytes 2-4/*")
			w.Header().Set("Content-Type", "application/x-test")
			w.WriteHeader(http.StatusPartialContent)
			w.Write([]byte("234"))
		}, Response{Partial: true, Offset: 2, Length: 3, Size: -1, ContentType: "application/x-test"}, "234", nil},
		{"206, other range", Request{Path: "a", Offset: 2, Length: 3}, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Range", "bytes 0-2/10")
			w.WriteHeader(http.StatusPartialContent)
			w.Write([]byte("012"))
		}, Response{}, "", ErrOrigin},
		{"206, longer range", Request{Path: "a", Offset: 2, Length: 3}, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Range", "bytes 2-9/10")
			w.WriteHeader(http.StatusPartialContent)
			w.Write([]byte("23456789"))
		}, Response{}, "", ErrOrigin},
		{"206, no Content-Range", Request{Path: "a", Offset: 2, Length: 3}, func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusPartialContent)
			w.Write([]byte("234"))
		}, Response{}, "", ErrOrigin},
		{"304 keeps the asked validators", Request{Path: "a", Cond: cond}, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=5")
			w.WriteHeader(http.StatusNotModified)
		}, Response{NotModified: true, Size: -1, Validators: cond, MaxAge: 5 * time.Second}, "", nil},
		{"304 with its own etag", Request{Path: "a", Cond: cond}, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("ETag", `"c"`)
			w.WriteHeader(http.StatusNotModified)
		}, Response{NotModified: true, Size: -1, Validators: Validators{ETag: `"c"`}}, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, _ := newHTTPOrigin(t, tt.h, nil)
			resp, err := o.Fetch(t.Context(), tt.req)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Fetch: %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var body []byte
			if resp.Body != nil {
				body, err = io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil {
					t.Fatal(err)
				}
			}
			resp.Body = nil
			if string(body) != tt.body {
				t.Errorf("body %q, want %q", body, tt.body)
			}
			if !resp.Validators.LastModified.Equal(tt.want.Validators.LastModified) {
				t.Errorf("last modified %v, want %v", resp.Validators.LastModified, tt.want.Validators.LastModified)
			}
			resp.Validators.LastModified, tt.want.Validators.LastModified = time.Time{}, time.Time{}
			if *resp != tt.want {
				t.Errorf("response\n %+v\nwant\n %+v", *resp, tt.want)
			}
		})
	}
}

// TestHTTPOriginPaths: a path reaches the server as the same path, escaped.
func TestHTTPOriginPaths(t *testing.T) {
	var mu sync.Mutex
	var gotPath string
	o, _ := newHTTPOrigin(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		gotPath = r.URL.Path
		mu.Unlock()
		w.Write([]byte("x"))
	}), nil)
	for _, p := range []string{"a b/c.jpg", "ünï/cödé.txt", "x/a:b", "a+b=c&d@e;f,g", "'quoted'", "[brackets]", "*star*"} {
		t.Run(p, func(t *testing.T) {
			if _, err := wire.CleanPath(p); err != nil {
				t.Fatal(err)
			}
			resp, err := o.Fetch(t.Context(), Request{Path: p})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			mu.Lock()
			defer mu.Unlock()
			if gotPath != "/static/"+p {
				t.Errorf("server saw %q, want %q (URL %s)", gotPath, "/static/"+p, o.URL(p))
			}
		})
	}
}

func TestNewHTTPOrigin(t *testing.T) {
	tests := []struct {
		base    string
		wantURL string // of "a/b c"; "" means refused
	}{
		{"http://cdn.example", "http://cdn.example/a/b%20c"},
		{"http://cdn.example/", "http://cdn.example/a/b%20c"},
		{"https://cdn.example/static", "https://cdn.example/static/a/b%20c"},
		{"https://cdn.example:8443/static/", "https://cdn.example:8443/static/a/b%20c"},
		{"ftp://cdn.example/", ""},
		{"file:///etc/", ""},
		{"/static/", ""},
		{"cdn.example/static", ""},
		{"http:///static", ""},
		{"http://cdn.example/?v=1", ""},
		{"http://cdn.example/#top", ""},
		{"http://user:pass@cdn.example/", ""},
		{"http://cdn.example/%zz", ""},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.base, func(t *testing.T) {
			o, err := NewHTTPOrigin(tt.base, HTTPOriginConfig{})
			if tt.wantURL == "" {
				if err == nil {
					t.Fatalf("NewHTTPOrigin(%q) accepted, URL %s", tt.base, o.URL("a/b c"))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := o.URL("a/b c"); got != tt.wantURL {
				t.Errorf("URL = %q, want %q", got, tt.wantURL)
			}
		})
	}
}

func TestParseContentRange(t *testing.T) {
	tests := []struct {
		in                string
		first, last, size int64
		ok                bool
	}{
		{"bytes 0-99/1000", 0, 99, 1000, true},
		{"bytes 100-100/101", 100, 100, 101, true},
		{"bytes 0-99/*", 0, 99, -1, true},
		{"bytes 0-99/99", 0, 0, 0, false}, // last must be inside size
		{"bytes 5-4/10", 0, 0, 0, false},
		{"bytes -1-4/10", 0, 0, 0, false},
		{"bytes 0-/10", 0, 0, 0, false},
		{"bytes */1000", 0, 0, 0, false},
		{"bytes 0-99", 0, 0, 0, false},
		{"items 0-99/1000", 0, 0, 0, false},
		{"bytes=0-99/1000", 0, 0, 0, false},
		{"bytes 0-99/x", 0, 0, 0, false},
		{"", 0, 0, 0, false},
	}
	for _, tt := range tests {
		first, last, size, err := parseContentRange(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("parseContentRange(%q) error %v, want ok=%v", tt.in, err, tt.ok)
			continue
		}
		if tt.ok && (first != tt.first || last != tt.last || size != tt.size) {
			t.Errorf("parseContentRange(%q) = %d, %d, %d; want %d, %d, %d", tt.in, first, last, size, tt.first, tt.last, tt.size)
		}
	}
}
