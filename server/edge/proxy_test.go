package edge_test

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/p2pcache/p2pcache/relay/peer"
	"github.com/p2pcache/p2pcache/relay/wire"
)

// proxied is a relay behind a real reverse proxy (net/http/httputil's, which
// proxies WebSocket upgrades and appends the client's address to
// X-Forwarded-For), and clients reaching the proxy from their own addresses:
// each through a NAT of its own, a TCP forwarder that dials the proxy from
// another loopback address (127.0.0.2, 127.0.0.3...). The proxy reaches the
// relay from 127.0.0.1.
type proxied struct {
	relay string // the relay's own URL
	proxy string // the proxy's URL
	file  []byte // big.bin at the origin, 12 chunks
}

func startProxied(t *testing.T, opts ...func(*setup)) *proxied {
	t.Helper()
	dir := t.TempDir()
	p := &proxied{file: make([]byte, 12*wire.MaxChunkData)}
	rng := rand.New(rand.NewChaCha8([32]byte{7}))
	for i := range p.file {
		p.file[i] = byte(rng.Uint32())
	}
	if err := os.WriteFile(filepath.Join(dir, "big.bin"), p.file, 0o644); err != nil {
		t.Fatal(err)
	}
	// One chunk of cache: what the liar holds is soon asked of it.
	p.relay = startServer(t, dir, append([]func(*setup){cacheSize(wire.MaxChunkSize)}, opts...)...)
	target, err := url.Parse(p.relay)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.Transport = &http.Transport{}
	srv := httptest.NewServer(rp)
	t.Cleanup(func() {
		srv.Close()
		rp.Transport.(*http.Transport).CloseIdleConnections()
	})
	p.proxy = srv.URL
	return p
}

// via is the URL a client at src (a loopback address) reaches the proxy by.
func (p *proxied) via(t *testing.T, src string) string {
	t.Helper()
	return "http://" + natFrom(t, src, strings.TrimPrefix(p.proxy, "http://"))
}

// natFrom forwards the TCP connections it accepts on a loopback port to
// target, dialing from src: the NAT of a client at src. It stops, with
// every connection, when t ends.
func natFrom(t *testing.T, src, target string) (addr string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns []net.Conn
	)
	track := func(c net.Conn) {
		mu.Lock()
		conns = append(conns, c)
		mu.Unlock()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			down, err := ln.Accept()
			if err != nil {
				return
			}
			d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
			up, err := d.Dial("tcp", target)
			if err != nil {
				down.Close()
				continue
			}
			track(down)
			track(up)
			wg.Add(2)
			go func() { defer wg.Done(); io.Copy(up, down); up.(*net.TCPConn).CloseWrite() }()
			go func() { defer wg.Done(); io.Copy(down, up); down.(*net.TCPConn).CloseWrite() }()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// dialWS opens a signaling WebSocket at base (an http URL), the request
// carrying hdr; it returns the HTTP status of a refusal (101 when open).
func dialWS(t *testing.T, base string, hdr http.Header) (*websocket.Conn, int) {
	t.Helper()
	c, resp, err := wsDial(base, "", hdr)
	if err == nil {
		t.Cleanup(func() { c.Close() })
		return c, http.StatusSwitchingProtocols
	}
	if resp == nil {
		t.Fatalf("no HTTP answer: %v", err)
	}
	return nil, resp.StatusCode
}

// TestBehindReverseProxy: behind a real reverse proxy trusted with
// TrustedProxies, clients at two addresses get separate connect buckets,
// and a lying peer's ban hits the liar's address only. Without the trust,
// everyone behind the proxy is one client: one bucket, one ban.
func TestBehindReverseProxy(t *testing.T) {
	defer http.DefaultClient.CloseIdleConnections()
	const alice, bob = "127.0.0.2", "127.0.0.3"

	t.Run("separate buckets", func(t *testing.T) {
		p := startProxied(t, wsRate(0.01), wsBurst(2), trustProxies("127.0.0.1/32")) // two connects, then none
		a, b := p.via(t, alice), p.via(t, bob)
		for i, want := range []int{101, 101, 429} {
			if _, got := dialWS(t, a, nil); got != want {
				t.Fatalf("alice's connect %d: %d, want %d", i+1, got, want)
			}
		}
		if _, got := dialWS(t, b, nil); got != 101 {
			t.Fatalf("bob after alice's flood: %d, want 101 (a bucket of his own)", got)
		}
	})

	t.Run("one bucket without trust", func(t *testing.T) {
		p := startProxied(t, wsRate(0.01), wsBurst(2))
		a, b := p.via(t, alice), p.via(t, bob)
		for range 2 {
			if _, got := dialWS(t, a, nil); got != 101 {
				t.Fatalf("alice: %d, want 101", got)
			}
		}
		if _, got := dialWS(t, b, nil); got != 429 {
			t.Fatalf("bob after alice's flood: %d, want 429 (the proxy is the client)", got)
		}
	})

	t.Run("a ban hits only the liar", func(t *testing.T) {
		p := startProxied(t, trustProxies("127.0.0.1/32"))
		banLiar(t, p, p.via(t, alice), p.via(t, bob), false)
		if _, got := dialWS(t, p.via(t, alice), nil); got != http.StatusForbidden {
			t.Errorf("the liar reconnecting: %d, want 403 banned", got)
		}
		if _, got := dialWS(t, p.via(t, bob), nil); got != 101 {
			t.Errorf("the honest client reconnecting: %d, want 101", got)
		}
	})

	t.Run("a ban hits everyone without trust", func(t *testing.T) {
		p := startProxied(t)
		banLiar(t, p, p.via(t, alice), p.via(t, bob), true)
		if _, got := dialWS(t, p.via(t, bob), nil); got != http.StatusForbidden {
			t.Errorf("the honest client reconnecting: %d, want 403 (one identity behind the proxy)", got)
		}
	})
}

// banLiar has a liar (at liarURL) hold big.bin with every chunk corrupt and
// an honest peer (at honestURL) fetch it: the relay asks the liar, the
// chunks fail verification, the liar is banned. The honest peer gets the
// file from the origin, and keeps its session; unless the two are one
// identity (shared): the ban then ends the honest peer's session too.
func banLiar(t *testing.T, p *proxied, liarURL, honestURL string, shared bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	liar, err := peer.Dial(ctx, liarURL, peer.Options{Tamper: func(_ int, b []byte) []byte { b[0] ^= 0xff; return b }})
	if err != nil {
		t.Fatal(err)
	}
	defer liar.Close()
	if _, err := liar.Fetch(ctx, "big.bin"); err != nil {
		t.Fatal(err)
	}
	waitMetric(t, p.relay, "p2pcache_holder_index_entries 12")
	honest, err := peer.Dial(ctx, honestURL, peer.Options{NoServe: true})
	if err != nil {
		t.Fatal(err)
	}
	defer honest.Close()
	got, err := honest.Fetch(ctx, "big.bin")
	if !shared && (err != nil || !bytes.Equal(got, p.file)) {
		t.Fatalf("honest fetch: %d bytes, %v", len(got), err)
	}
	waitMetric(t, p.relay, "p2pcache_peer_bans_total 1")
	for deadline := time.Now().Add(5 * time.Second); (liar.Err() == nil || shared && honest.Err() == nil) && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if liar.Err() == nil {
		t.Error("the liar's session outlived its ban")
	}
	switch err := honest.Err(); {
	case shared && err == nil:
		t.Error("the liar's ban left a session of its identity open")
	case !shared && err != nil:
		t.Errorf("the liar's ban ended the honest peer's session: %v", err)
	}
}

// waitMetric waits (10 s at most) for /metrics at base to contain line.
func waitMetric(t *testing.T, base, line string) {
	t.Helper()
	var body []byte
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if _, body = get(t, base+"/metrics", nil); bytes.Contains(body, []byte(line+"\n")) {
			return
		}
	}
	t.Fatalf("/metrics never showed %q", line)
}

// TestSpoofedForwardedForIgnored: from a client that is not a trusted
// proxy, X-Forwarded-For and Forwarded change nothing: with no proxy
// trusted, and with one trusted that the client is not.
func TestSpoofedForwardedForIgnored(t *testing.T) {
	defer http.DefaultClient.CloseIdleConnections()
	for _, tc := range []struct {
		name string
		opts []func(*setup)
	}{
		{"no trusted proxy", nil},
		{"client is not the trusted proxy", []func(*setup){trustProxies("127.0.0.1/32")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := startServer(t, t.TempDir(), append([]func(*setup){wsRate(0.01), wsBurst(2)}, tc.opts...)...)
			direct := "http://" + natFrom(t, "127.0.0.2", strings.TrimPrefix(base, "http://"))
			for i, hdr := range []http.Header{
				{"X-Forwarded-For": {"198.51.100.1"}},
				{"X-Forwarded-For": {"198.51.100.2"}},
			} {
				if _, got := dialWS(t, direct, hdr); got != 101 {
					t.Fatalf("connect %d: %d, want 101", i+1, got)
				}
			}
			for _, hdr := range []http.Header{
				{"X-Forwarded-For": {"198.51.100.3"}},
				{"X-Forwarded-For": {"198.51.100.3, 127.0.0.1"}},
				{"Forwarded": {"for=198.51.100.4"}},
			} {
				if _, got := dialWS(t, direct, hdr); got != 429 {
					t.Errorf("a spoofed %v made a new client: %d, want 429", hdr, got)
				}
			}
		})
	}
}

// TestClientIPv6Grouped: behind a trusted proxy, IPv6 clients are limited
// by their /64 (one subscriber's prefix): a neighbour in the /64 shares the
// bucket, the next /64 does not.
func TestClientIPv6Grouped(t *testing.T) {
	defer http.DefaultClient.CloseIdleConnections()
	base := startServer(t, t.TempDir(), wsRate(0.01), wsBurst(2), trustProxies("127.0.0.1/32"))
	from := func(a string) http.Header { return http.Header{"X-Forwarded-For": {a}} }
	for i, tc := range []struct {
		client string
		want   int
	}{
		{"2001:db8:1:2::1", 101},
		{"2001:db8:1:2::2", 101},
		{"2001:db8:1:2:ffff:ffff:ffff:ffff", 429},
		{"[2001:db8:1:2::3]:4711", 429},
		{"2001:db8:1:3::1", 101},
		{"192.0.2.1", 101},
	} {
		if _, got := dialWS(t, base, from(tc.client)); got != tc.want {
			t.Errorf("connect %d from %s: %d, want %d", i+1, tc.client, got, tc.want)
		}
	}
	// Forwarded, without X-Forwarded-For, is read the same way.
	if _, got := dialWS(t, base, http.Header{"Forwarded": {`for="[2001:db8:1:2::9]:80";proto=https`}}); got != 429 {
		t.Errorf("Forwarded from the limited /64: %d, want 429", got)
	}
	if _, got := dialWS(t, base, http.Header{"Forwarded": {`for="[2001:db8:1:4::9]"`}}); got != 101 {
		t.Errorf("Forwarded from a fresh /64: %d, want 101", got)
	}
}
