package relay_test

import (
	"bytes"
	"context"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"go.uber.org/goleak"

	"github.com/p2pcache/p2pcache/cache"
	"github.com/p2pcache/p2pcache/relay"
	"github.com/p2pcache/p2pcache/relay/peer"
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
	up := websocket.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		conn, err := up.Upgrade(w, req, nil)
		if err != nil {
			return
		}
		// Tests name peers' identities (all are 127.0.0.1) to test bans.
		r.Accept(req.Context(), conn, relay.Meta{Remote: req.RemoteAddr, Identity: req.Header.Get("X-Test-Identity")})
	}))
	t.Cleanup(func() {
		r.Close()
		srv.Close()
		c.Close()
		closeDir()
	})
	return &testRelay{relay: r, cache: c, origin: co, url: srv.URL, dir: dir}
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

var testLogLevel = func() slog.Level {
	if os.Getenv("P2PCACHE_TEST_DEBUG") != "" {
		return slog.LevelDebug
	}
	return slog.LevelWarn
}()
