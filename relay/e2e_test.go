package relay_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/fasthttp/websocket"
	"go.uber.org/goleak"

	"github.com/p2pcache/p2pcache/cache"
	"github.com/p2pcache/p2pcache/relay"
	"github.com/p2pcache/p2pcache/relay/peer"
	"github.com/p2pcache/p2pcache/relay/wire"
)

// countingOrigin records every byte range the origin serves.
type countingOrigin struct {
	o cache.Origin

	mu     sync.Mutex // guards the following
	ranges map[[2]int64]int
	calls  int
}

func (c *countingOrigin) Fetch(ctx context.Context, r cache.Request) (*cache.Response, error) {
	resp, err := c.o.Fetch(ctx, r)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	if err == nil && resp.Body != nil {
		c.ranges[[2]int64{resp.Offset, resp.Length}]++
	}
	return resp, err
}

type testRelay struct {
	relay  *relay.Relay
	cache  *cache.Cache
	origin *countingOrigin
	url    string
	dir    string
}

// startRelay runs a relay on random loopback ports over a directory origin
// holding files (name → contents).
func startRelay(t testing.TB, files map[string][]byte, cfg cache.Config, opts ...func(*relay.Config)) *testRelay {
	t.Helper()
	dir := t.TempDir()
	for name, b := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fsOrigin, closeDir, err := cache.DirOrigin(dir, cache.FSOriginConfig{MaxAge: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	co := &countingOrigin{o: fsOrigin, ranges: map[[2]int64]int{}}
	c, err := cache.New(co, cfg)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: testLogLevel}))
	rcfg := relay.Config{Logger: log}
	for _, o := range opts {
		o(&rcfg)
	}
	r, err := relay.New(c, l, rcfg)
	if err != nil {
		t.Fatal(err)
	}
	c.SetPeers(r) // with DisablePeerFetch too: the relay then declines every miss
	up := websocket.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		meta := testMeta(req)
		if req.Header.Get("X-Test-Admit") != "" { // as the edge does
			adm, err := r.Admit()
			if err != nil {
				http.Error(w, err.Error(), http.StatusServiceUnavailable)
				return
			}
			defer adm.Release() // nothing once Accept took it over
			meta.Admission = adm
		}
		conn, err := up.Upgrade(w, req, nil)
		if err != nil {
			return
		}
		r.Accept(req.Context(), conn, meta)
	}))
	t.Cleanup(func() {
		c.SetPeers(nil)
		r.Close()
		srv.Close()
		c.Close()
		closeDir()
	})
	return &testRelay{relay: r, cache: c, origin: co, url: srv.URL, dir: dir}
}

// testMeta is what the test server tells the relay of a peer. Tests name
// peers' identities (all are 127.0.0.1) to test bans (X-Test-Identity), or
// give their address (X-Test-Remote) for the relay to derive it; they scope
// a peer to the paths under a prefix (X-Test-Allow), and end its session
// after a while (X-Test-Expires-In), as a token would. With X-Test-Admit
// the server admits the peer before the upgrade, as the edge does.
func testMeta(req *http.Request) relay.Meta {
	meta := relay.Meta{Remote: req.RemoteAddr, Identity: req.Header.Get("X-Test-Identity")}
	if remote := req.Header.Get("X-Test-Remote"); remote != "" {
		meta.Remote = remote
	}
	if prefix := req.Header.Get("X-Test-Allow"); prefix != "" {
		meta.Allow = func(p string) bool { return strings.HasPrefix(p, prefix) }
	}
	if d, err := time.ParseDuration(req.Header.Get("X-Test-Expires-In")); err == nil {
		meta.Expires = time.Now().Add(d)
	}
	return meta
}

func randomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func TestEndToEndTwoPeers(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) }) // first registered, so it runs after the relay's cleanup
	img := randomBytes(1, 3<<20+12345)
	tr := startRelay(t, map[string][]byte{"images/big.png": img}, cache.Config{})

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := peer.Dial(ctx, tr.url, peer.Options{})
			if err != nil {
				t.Errorf("peer %d: dial: %v", i, err)
				return
			}
			defer p.Close()
			got, err := p.Fetch(ctx, "/images/big.png")
			if err != nil {
				t.Errorf("peer %d: fetch: %v", i, err)
				return
			}
			if !bytes.Equal(got, img) {
				t.Errorf("peer %d: bytes differ from the origin file", i)
			}
			pair, err := p.SelectedCandidatePair()
			if err != nil {
				t.Errorf("peer %d: candidate pair: %v", i, err)
				return
			}
			if pair.Local.Protocol.String() != "tcp" || pair.Remote.Protocol.String() != "tcp" {
				t.Errorf("peer %d: selected pair %s is not TCP", i, pair)
			}
			t.Logf("peer %d: timings %+v, pair %s", i, p.Timings(), pair)
		}()
	}
	wg.Wait()

	tr.origin.mu.Lock()
	defer tr.origin.mu.Unlock()
	// One whole-file read built the manifest and filled every chunk: the
	// origin saw each byte once, and nothing else.
	if tr.origin.calls != 1 || tr.origin.ranges[[2]int64{0, int64(len(img))}] != 1 {
		t.Errorf("origin calls = %d, ranges = %v; want one whole-file read", tr.origin.calls, tr.origin.ranges)
	}
}

// TestChunkFault: the chunk fault hook changes what goes out, never what is
// cached; a peer catches the bad chunk, and once the hook is removed the
// same relay serves good bytes.
func TestChunkFault(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	img := randomBytes(12, 3*wire.MaxChunkSize+10)
	tr := startRelay(t, map[string][]byte{"f.png": img}, cache.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	type call struct {
		path  string
		index uint32
	}
	var mu sync.Mutex
	var calls []call
	relay.SetChunkFaultForTest(tr.relay, func(path string, index uint32, data []byte) []byte {
		mu.Lock()
		calls = append(calls, call{path, index})
		mu.Unlock()
		if index != 1 {
			return data
		}
		bad := bytes.Clone(data)
		bad[0] ^= 0xff
		return bad
	})
	p := dial(t, ctx, tr, "p", peer.Options{NoServe: true})
	if _, err := p.Fetch(ctx, "f.png"); !errors.Is(err, wire.ErrVerify) {
		t.Fatalf("fetch through the fault: %v, want %v", err, wire.ErrVerify)
	}
	m, err := p.FetchManifest(ctx, "f.png")
	if err != nil {
		t.Fatal(err)
	}
	byHash := *m
	byHash.Path = ""
	if _, err := p.FetchChunk(ctx, &byHash, 2); err != nil {
		t.Fatalf("chunk 2 by hash: %v", err)
	}
	mu.Lock()
	if len(calls) < 3 || calls[0] != (call{"f.png", 0}) || calls[1] != (call{"f.png", 1}) || calls[len(calls)-1] != (call{"", 2}) {
		t.Errorf("hook called with %v; want chunks 0 and 1 of f.png, then 2 of \"\" (by hash)", calls)
	}
	mu.Unlock()

	relay.SetChunkFaultForTest(tr.relay, nil)
	got, err := p.Fetch(ctx, "f.png")
	if err != nil || !bytes.Equal(got, img) {
		t.Fatalf("fetch without the fault: %v", err)
	}
}

// TestNewLeavesCacheAlone: New and Close do not touch the cache's peer
// source; wiring it is the caller's.
func TestNewLeavesCacheAlone(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	file := randomBytes(13, 4*1024)
	c, err := cache.New(cache.NewFSOrigin(fstest.MapFS{"f": {Data: file}}, cache.FSOriginConfig{}), cache.Config{ChunkSize: 1024, MaxBytes: 1024})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var asked atomic.Int64
	c.SetPeers(cache.PeerSourceFunc(func(ctx context.Context, m *wire.Manifest, i int, from string) ([]byte, error) {
		asked.Add(1)
		return nil, relay.ErrNoHolder
	}))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r, err := relay.New(c, l, relay.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	m, err := c.Manifest(t.Context(), "f")
	if err != nil {
		t.Fatal(err)
	}
	for i := range m.Chunks {
		if _, _, err := c.Chunk(t.Context(), m, i); err != nil {
			t.Fatal(err)
		}
	}
	if asked.Load() == 0 {
		t.Error("the cache's own peer source was not asked: New or Close replaced it")
	}
}

var testLogLevel = func() slog.Level {
	if os.Getenv("P2PCACHE_TEST_DEBUG") != "" {
		return slog.LevelDebug
	}
	return slog.LevelWarn
}()
