package edge_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/p2pcache/p2pcache/cache"
	"github.com/p2pcache/p2pcache/relay"
	"github.com/p2pcache/p2pcache/server/demo"
	"github.com/p2pcache/p2pcache/server/edge"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// fasthttp keeps a process-wide Date-header ticker forever, and its
		// worker-pool cleaner notices a stopped server only after its 10 s
		// sleep: both are fasthttp's, not leaks of ours.
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.updateServerDate.func1"),
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*workerPool).Start.func2"),
	)
}

// setup is what a test changes from the defaults of startServer.
type setup struct {
	chunkSize int
	cacheSize int64
	edge      edge.Config
	relay     relay.Config
}

func chunkSize(n int) func(*setup)         { return func(s *setup) { s.chunkSize = n } }
func cacheSize(n int64) func(*setup)       { return func(s *setup) { s.cacheSize = n } }
func authSecret(k string) func(*setup)     { return func(s *setup) { s.edge.AuthSecret = k } }
func wsRate(perSec float64) func(*setup)   { return func(s *setup) { s.edge.WSRate = perSec } }
func wsBurst(n int) func(*setup)           { return func(s *setup) { s.edge.WSBurst = n } }
func httpRate(perSec float64) func(*setup) { return func(s *setup) { s.edge.HTTPRate = perSec } }
func maxPeers(n int) func(*setup)          { return func(s *setup) { s.edge.MaxPeers = n } }
func maxPeersPerIP(n int) func(*setup)     { return func(s *setup) { s.edge.MaxPeersPerIP = n } }
func relayConfig(f func(*relay.Config)) func(*setup) {
	return func(s *setup) { f(&s.relay) }
}

// trustProxies trusts the reverse proxies in ranges (CIDR).
func trustProxies(ranges ...string) func(*setup) {
	return func(s *setup) {
		for _, r := range ranges {
			s.edge.TrustedProxies = append(s.edge.TrustedProxies, netip.MustParsePrefix(r))
		}
	}
}

// startServer runs a relay on random loopback ports as a program embedding
// the edge would: origin → cache → relay (filling the cache's misses from
// peers) → edge. origin "" is the built-in demo, a URL an HTTP origin, else
// a directory. It returns the HTTP base URL.
func startServer(t testing.TB, origin string, opts ...func(*setup)) string {
	t.Helper()
	base, _ := startServerAddrs(t, origin, opts...)
	return base
}

// startServerAddrs is startServer, also returning the ICE-TCP address.
func startServerAddrs(t testing.TB, origin string, opts ...func(*setup)) (base, ice string) {
	t.Helper()
	s := setup{chunkSize: 64 << 10, cacheSize: 256 << 20}
	for _, o := range opts {
		o(&s)
	}
	level := slog.LevelWarn
	if os.Getenv("P2PCACHE_TEST_DEBUG") != "" {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	var o cache.Origin
	closeOrigin := func() error { return nil }
	switch {
	case origin == "":
		o = cache.NewFSOrigin(demo.FS(), cache.FSOriginConfig{})
	case strings.Contains(origin, "://"):
		h, err := cache.NewHTTPOrigin(origin, cache.HTTPOriginConfig{})
		if err != nil {
			t.Fatal(err)
		}
		o = h
	default:
		d, closeDir, err := cache.DirOrigin(origin, cache.FSOriginConfig{})
		if err != nil {
			t.Fatal(err)
		}
		o, closeOrigin = d, closeDir
	}
	c, err := cache.New(o, cache.Config{ChunkSize: s.chunkSize, MaxBytes: s.cacheSize, Logger: log, Budget: s.relay.Budget})
	if err != nil {
		t.Fatal(err)
	}
	iceLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.relay.Logger = log
	r, err := relay.New(c, iceLn, s.relay)
	if err != nil {
		t.Fatal(err)
	}
	c.SetPeers(r)
	s.edge.Logger = log
	e, err := edge.New(r, c, s.edge)
	if err != nil {
		t.Fatal(err)
	}
	httpLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- e.Serve(httpLn) }()
	t.Cleanup(func() {
		// The order of a graceful stop (see Edge.Shutdown).
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		e.Drain()
		c.SetPeers(nil)
		if err := r.Shutdown(ctx); err != nil {
			t.Errorf("relay shutdown: %v", err)
		}
		if err := e.Shutdown(ctx); err != nil {
			t.Errorf("edge shutdown: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		c.Close()
		closeOrigin()
	})
	return "http://" + httpLn.Addr().String(), iceLn.Addr().String()
}

func get(t testing.TB, url string, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}
