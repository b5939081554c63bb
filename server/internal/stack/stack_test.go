package stack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/p2pcache/p2pcache/relay/peer"
	"github.com/p2pcache/p2pcache/server/edge"
	"github.com/p2pcache/p2pcache/server/internal/config"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// fasthttp's process-wide Date ticker and its worker-pool cleaner
		// (which notices a stopped server only after a 10 s sleep).
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.updateServerDate.func1"),
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*workerPool).Start.func2"),
	)
}

// start runs a stack for cfg on loopback ports; it returns the stack, its
// base URL and a channel with Serve's result.
func start(t *testing.T, cfg config.Config) (*Stack, string, chan error) {
	t.Helper()
	iceLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	level := slog.LevelWarn
	if os.Getenv("P2PCACHE_TEST_DEBUG") != "" {
		level = slog.LevelDebug
	}
	s, err := New(cfg, edge.BuildInfo{Version: "test"}, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})), iceLn)
	if err != nil {
		t.Fatal(err)
	}
	httpLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(httpLn) }()
	t.Cleanup(func() { s.Close() })
	return s, "http://" + httpLn.Addr().String(), served
}

// TestPeerFetchWiring: with --peer-fetch on, the stack has the cache ask
// the relay for its misses, and the relay gets them from a peer that holds
// the chunks; off, no peer is asked.
func TestPeerFetchWiring(t *testing.T) {
	for _, on := range []bool{true, false} {
		t.Run(fmt.Sprintf("peer-fetch=%v", on), func(t *testing.T) {
			defer http.DefaultClient.CloseIdleConnections()
			dir := t.TempDir()
			files := map[string][]byte{}
			rng := rand.New(rand.NewChaCha8([32]byte{}))
			for _, name := range []string{"a.bin", "b.bin"} {
				files[name] = make([]byte, 200_000) // 4 distinct chunks
				for i := range files[name] {
					files[name][i] = byte(rng.Uint32())
				}
				os.WriteFile(filepath.Join(dir, name), files[name], 0o644)
			}
			cfg := config.Default()
			cfg.Origin, cfg.CacheSize, cfg.PeerFetch = dir, 300<<10, on
			s, base, _ := start(t, cfg)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()

			// A fetches a.bin and holds its chunks.
			a, err := peer.Dial(ctx, base, peer.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			if b, err := a.Fetch(ctx, "a.bin"); err != nil || !bytes.Equal(b, files["a.bin"]) {
				t.Fatalf("peer A: %d bytes, %v", len(b), err)
			}
			for s.Relay.Stats().HolderIndex < 4 {
				if ctx.Err() != nil {
					t.Fatal("the relay never learnt that A holds a.bin")
				}
				time.Sleep(10 * time.Millisecond)
			}
			// b.bin over HTTP pushes a.bin's chunks out of the 300 KiB cache.
			resp, err := http.Get(base + "/files/b.bin")
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()

			// B's a.bin misses: filled from A with peer fetch on.
			b, err := peer.Dial(ctx, base, peer.Options{NoServe: true})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			if got, err := b.Fetch(ctx, "a.bin"); err != nil || !bytes.Equal(got, files["a.bin"]) {
				t.Fatalf("peer B: %d bytes, %v", len(got), err)
			}
			fills := s.Cache.Stats().PeerFills
			t.Logf("peer A served %d chunks; the cache took %d from peers", a.Served(), fills)
			if on && (a.Served() == 0 || fills == 0) {
				t.Errorf("peer fetch on: A served %d chunks, cache peer fills %d; want both > 0", a.Served(), fills)
			}
			if !on && (a.Served() != 0 || fills != 0) {
				t.Errorf("peer fetch off: A served %d chunks, cache peer fills %d; want 0", a.Served(), fills)
			}
		})
	}
}

// TestShutdown: Serve returns once Shutdown is done; Shutdown and Close
// are idempotent; the ICE port is closed.
func TestShutdown(t *testing.T) {
	cfg := config.Default()
	s, base, served := start(t, cfg)
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	resp, err := client.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve still running after Shutdown")
	}
	if err := s.Shutdown(ctx); err != nil {
		t.Errorf("second Shutdown: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close after Shutdown: %v", err)
	}
	if _, err := client.Get(base + "/healthz"); err == nil {
		t.Error("still serving HTTP after Shutdown")
	}
}

func TestNewBadTLS(t *testing.T) {
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(cert, []byte("not a certificate"), 0o600)
	os.WriteFile(key, []byte("not a key"), 0o600)
	cfg := config.Default()
	cfg.TLSCert, cfg.TLSKey = cert, key
	iceLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, err = New(cfg, edge.BuildInfo{}, slog.New(slog.DiscardHandler), iceLn)
	if !errors.Is(err, config.ErrConfig) {
		t.Fatalf("New with a bad certificate: %v, want ErrConfig", err)
	}
	// What New built before it failed is closed: the ICE port too.
	if c, err := net.Dial("tcp", iceLn.Addr().String()); err == nil {
		c.Close()
		t.Error("the ICE listener is still open after New failed")
	}
}
