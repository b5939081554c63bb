package stack

import (
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/p2pcache/p2pcache/cache"
	"github.com/p2pcache/p2pcache/server/edge"
	"github.com/p2pcache/p2pcache/server/internal/config"
)

// TestDotfilesFlag: a directory origin answers dotfiles as not found unless
// --allow-dotfiles is on.
func TestDotfilesFlag(t *testing.T) {
	defer http.DefaultClient.CloseIdleConnections()
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, ".git"), 0o755)
	os.WriteFile(filepath.Join(dir, ".git", "config"), []byte("[core]"), 0o644)
	os.WriteFile(filepath.Join(dir, ".env"), []byte("SECRET=1"), 0o644)
	for _, allow := range []bool{false, true} {
		cfg := config.Default()
		cfg.Origin, cfg.AllowDotfiles = dir, allow
		_, base, _ := start(t, cfg)
		want := 404
		if allow {
			want = 200
		}
		for _, p := range []string{"/files/.env", "/files/.git/config"} {
			if got, body := getStatus(t, http.DefaultClient, base+p); got != want {
				t.Errorf("allow-dotfiles %v: GET %s: %d %q, want %d", allow, p, got, body, want)
			}
		}
	}
}

// TestMemoryBudget: the cache and the relay share one budget of
// two thirds of --max-memory less --cache-size, reported in /metrics; --max-memory auto
// is half the machine's memory; a cache not below the limit is refused.
func TestMemoryBudget(t *testing.T) {
	defer http.DefaultClient.CloseIdleConnections()
	cfg := config.Default()
	cfg.Origin = t.TempDir()
	cfg.MaxMemory, cfg.CacheSize = 512<<20, 128<<20
	s, base, _ := start(t, cfg)
	const wantBudget = (512<<20)/3*2 - 128<<20 // 213.3 MiB
	if s.MemoryLimit != 512<<20 || s.Budget.Max() != wantBudget {
		t.Fatalf("limit %d, budget %d; want 512MiB and %d", s.MemoryLimit, s.Budget.Max(), wantBudget)
	}
	if _, body := getStatus(t, http.DefaultClient, base+"/metrics"); !strings.Contains(body, "p2pcache_memory_budget_bytes 2.23696212e+08\n") {
		t.Errorf("/metrics lacks the relay's budget of %d bytes", wantBudget)
	}

	auto := config.Default()
	auto.Origin = t.TempDir()
	want, err := cache.DefaultMemoryLimit()
	if err != nil {
		t.Skipf("no machine memory to read: %v", err)
	}
	auto.CacheSize = min(auto.CacheSize, want/2)
	s, _, _ = start(t, auto)
	if s.MemoryLimit != want || s.Budget.Max() != want/3*2-auto.CacheSize {
		t.Errorf("auto: limit %d, budget %d; want %d and %d", s.MemoryLimit, s.Budget.Max(), want, want/3*2-auto.CacheSize)
	}

	big := config.Default()
	big.Origin = t.TempDir()
	big.CacheSize = want // not below auto's limit
	iceLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer iceLn.Close()
	if _, err := New(big, edge.BuildInfo{}, slog.New(slog.DiscardHandler), iceLn); !errors.Is(err, config.ErrConfig) || !strings.Contains(err.Error(), "--max-memory auto") {
		t.Errorf("a cache as large as the auto limit: %v, want ErrConfig naming --max-memory auto", err)
	}
}

// TestNegativeTTLFlag: an origin's "not found" is remembered for
// --negative-ttl (the default 10 s); 0 asks the origin every time.
func TestNegativeTTLFlag(t *testing.T) {
	defer http.DefaultClient.CloseIdleConnections()
	var hits atomic.Int64
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.NotFound(w, r)
	}))
	defer origin.Close()
	for _, tc := range []struct {
		name     string
		ttl      bool
		wantHits int64
	}{{"default", true, 1}, {"off", false, 3}} {
		t.Run(tc.name, func(t *testing.T) {
			hits.Store(0)
			cfg := config.Default()
			cfg.Origin = origin.URL
			if !tc.ttl {
				cfg.NegativeTTL = 0
			}
			_, base, _ := start(t, cfg)
			for range 3 {
				if got, _ := getStatus(t, http.DefaultClient, base+"/files/missing.png"); got != 404 {
					t.Fatalf("missing file: %d", got)
				}
			}
			if n := hits.Load(); n != tc.wantHits {
				t.Errorf("3 requests for a missing file asked the origin %d times, want %d", n, tc.wantHits)
			}
		})
	}
}

// TestTrustedProxiesWired: --trusted-proxies and --http-rate reach the
// edge: a client forwarded by a trusted proxy has its own bucket.
func TestTrustedProxiesWired(t *testing.T) {
	defer http.DefaultClient.CloseIdleConnections()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte("a"), 0o644)
	cfg := config.Default()
	cfg.Origin = dir
	cfg.HTTPRate = 0.5 // a burst of 1
	cfg.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	_, base, _ := start(t, cfg)
	for i, tc := range []struct {
		client string
		want   int
	}{{"203.0.113.1", 200}, {"203.0.113.1", 429}, {"203.0.113.2", 200}} {
		req, _ := http.NewRequest(http.MethodGet, base+"/files/a.txt", nil)
		req.Header.Set("X-Forwarded-For", tc.client)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.StatusCode; got != tc.want {
			t.Errorf("request %d from %s: %d, want %d", i+1, tc.client, got, tc.want)
		}
	}
}
