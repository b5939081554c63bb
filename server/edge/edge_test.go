package edge

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"github.com/p2pcache/p2pcache/cache"
	"github.com/p2pcache/p2pcache/relay"
)

// newTestEdge is an edge over a relay and a cache of one small file,
// closed when t ends; nothing listens but the relay's ICE port.
func newTestEdge(t *testing.T, cfg Config) (*Edge, *relay.Relay) {
	t.Helper()
	return newTestEdgeCache(t, cache.Config{}, cfg)
}

// newTestEdgeCache is newTestEdge with the cache configured by cc.
func newTestEdgeCache(t *testing.T, cc cache.Config, cfg Config) (*Edge, *relay.Relay) {
	t.Helper()
	c, err := cache.New(cache.NewFSOrigin(fstest.MapFS{
		"hello.txt": {Data: []byte("hello, p2pcache\n")},
	}, cache.FSOriginConfig{}), cc)
	if err != nil {
		t.Fatal(err)
	}
	iceLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r, err := relay.New(c, iceLn, relay.Config{})
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(r, c, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		e.Close()
		r.Close()
		c.Close()
	})
	return e, r
}

// do drives the app in memory (app.Test) and returns the status and body.
func do(t *testing.T, e *Edge, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := e.App().Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// TestRoutes drives the edge as a library, with no listener: every
// endpoint answers as documented.
func TestRoutes(t *testing.T) {
	const secret = "0123456789abcdef0123456789abcdef"
	open, _ := newTestEdge(t, Config{Build: BuildInfo{Version: "v1.2.3", Commit: "abc123"}})
	locked, _ := newTestEdge(t, Config{AuthSecret: secret})
	tok, err := MintToken(secret, "alice", []string{"/hello.txt"}, time.Minute) // scopes match whole segments
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		e      *Edge
		method string
		path   string
		hdr    map[string]string
		status int
		body   string // substring
		header map[string]string
	}{
		{"healthz", open, "GET", "/healthz", nil, 200, `{"peers":0,"status":"ok"}`, nil},
		{"readyz cors", open, "GET", "/readyz", map[string]string{"Origin": "https://site.example"}, 200, `"status":"ready"`,
			map[string]string{"Access-Control-Allow-Origin": "*", "Cache-Control": "no-store"}},
		{"healthz cors", open, "GET", "/healthz", map[string]string{"Origin": "https://site.example"}, 200, `"status":"ok"`,
			map[string]string{"Access-Control-Allow-Origin": "*"}},
		{"file", open, "GET", "/files/hello.txt", nil, 200, "hello, p2pcache\n",
			map[string]string{"Content-Type": "text/plain; charset=utf-8", "Accept-Ranges": "bytes", "Content-Length": "16"}},
		{"file head", open, "HEAD", "/files/hello.txt", nil, 200, "", map[string]string{"Content-Length": "16"}},
		{"file range", open, "GET", "/files/hello.txt", map[string]string{"Range": "bytes=7-"}, 206, "p2pcache\n",
			map[string]string{"Content-Range": "bytes 7-15/16"}},
		{"file cors", open, "GET", "/files/hello.txt", map[string]string{"Origin": "https://site.example"}, 200, "hello",
			map[string]string{"Access-Control-Allow-Origin": "*"}},
		{"missing", open, "GET", "/files/nope.txt", nil, 404, `"error":"not found: nope.txt"`, nil},
		{"traversal", open, "GET", "/files/../hello.txt", nil, 400, "bad path", nil},
		{"manifest", open, "GET", "/manifest/hello.txt", nil, 200, `"size":16`,
			map[string]string{"Content-Type": "application/json"}},
		{"sdk", open, "GET", "/p2pcache.js", nil, 200, "", map[string]string{"Content-Type": "text/javascript; charset=utf-8"}},
		{"demo page", open, "GET", "/", nil, 200, "<html", nil},
		{"demo asset traversal", open, "GET", "/demo/..%2f..%2fgo.mod", nil, 400, "bad path", nil},
		{"ws without upgrade", open, "GET", "/ws", nil, 426, "WebSocket endpoint", nil},
		{"unknown", open, "GET", "/nope", nil, 404, "no such endpoint: /nope", nil},
		{"build info", open, "GET", "/metrics", nil, 200,
			`p2pcache_build_info{commit="abc123",goversion="go`, nil},
		{"build version", open, "GET", "/metrics", nil, 200, `version="v1.2.3"} 1`, nil},
		{"relay metrics", open, "GET", "/metrics", nil, 200, `p2pcache_peer_fetches_total{result="hash_mismatch"} 0`, nil},
		{"no token", locked, "GET", "/files/hello.txt", nil, 401, "no token", nil},
		{"token", locked, "GET", "/files/hello.txt", map[string]string{"Authorization": "Bearer " + tok}, 200, "hello", nil},
		{"token query", locked, "GET", "/manifest/hello.txt?access_token=" + tok, nil, 200, `"size":16`, nil},
		{"token scope", locked, "GET", "/files/other.txt", map[string]string{"Authorization": "Bearer " + tok}, 401, "does not cover other.txt", nil},
		{"locked ws", locked, "GET", "/ws", map[string]string{"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}, 401, "no token", nil},
		{"healthz open", locked, "GET", "/healthz", nil, 200, `"status":"ok"`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.path, nil)
			for k, v := range tt.hdr {
				req.Header.Set(k, v)
			}
			resp, body := do(t, tt.e, req)
			if resp.StatusCode != tt.status || !strings.Contains(body, tt.body) {
				t.Fatalf("%s %s: %d %.300q; want %d containing %q", tt.method, tt.path, resp.StatusCode, body, tt.status, tt.body)
			}
			for k, v := range tt.header {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

// TestDrain: after Drain, WebSocket upgrades are refused with 503 (and
// counted) while files are still served.
func TestDrain(t *testing.T) {
	e, _ := newTestEdge(t, Config{})
	e.Drain()
	req := httptest.NewRequest("GET", "/ws", nil)
	for k, v := range map[string]string{"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="} {
		req.Header.Set(k, v)
	}
	if resp, body := do(t, e, req); resp.StatusCode != 503 || !strings.Contains(body, "shutting down") {
		t.Fatalf("upgrade while draining: %d %q, want 503", resp.StatusCode, body)
	}
	if resp, _ := do(t, e, httptest.NewRequest("GET", "/files/hello.txt", nil)); resp.StatusCode != 200 {
		t.Fatalf("file while draining: %d, want 200", resp.StatusCode)
	}
	if _, body := do(t, e, httptest.NewRequest("GET", "/metrics", nil)); !strings.Contains(body, `p2pcache_edge_rejected_total{reason="shutting_down"} 1`) {
		t.Error("the refusal was not counted")
	}
}

// TestServeShutdown: Serve returns nil on Shutdown; Shutdown and Close are
// idempotent; Serve after Shutdown is ErrClosed.
func TestServeShutdown(t *testing.T) {
	e, _ := newTestEdge(t, Config{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- e.Serve(ln) }()
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	var resp *http.Response
	for start := time.Now(); ; time.Sleep(10 * time.Millisecond) {
		if resp, err = client.Get("http://" + ln.Addr().String() + "/healthz"); err == nil || time.Since(start) > 10*time.Second {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve returned %v, want nil", err)
	}
	if err := e.Shutdown(ctx); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
	if err := e.Close(); err != nil {
		t.Fatalf("Close after Shutdown: %v", err)
	}
	ln2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln2.Close()
	if err := e.Serve(ln2); !errors.Is(err, ErrClosed) {
		t.Fatalf("Serve after Shutdown = %v, want ErrClosed", err)
	}
}

// TestCloseUnserved: Close of an edge that never served returns at once.
func TestCloseUnserved(t *testing.T) {
	e, _ := newTestEdge(t, Config{})
	done := make(chan error, 1)
	go func() { done <- e.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close of an unserved edge blocked")
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		cfg  Config
		want string
	}{
		{Config{AuthSecret: "short"}, "at least 32 bytes"},
		{Config{AllowedOrigins: []string{"example.com"}}, `allowed origin "example.com"`},
		{Config{AllowedOrigins: []string{"https://a.example/path"}}, "want scheme://host[:port]"},
		{Config{MaxPeers: -1}, "negative"},
		{Config{WSRate: -1}, "negative"},
		{Config{AllowedOrigins: []string{"*", "http://localhost:3000"}}, ""},
	}
	for _, tt := range tests {
		err := tt.cfg.Validate()
		if tt.want == "" {
			if err != nil {
				t.Errorf("%+v: %v", tt.cfg, err)
			}
			continue
		}
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: %v, want ErrConfig containing %q", tt.cfg, err, tt.want)
		}
	}
	if _, err := New(nil, nil, Config{}); !errors.Is(err, ErrConfig) {
		t.Errorf("New(nil, nil): %v, want ErrConfig", err)
	}
}

// TestPanicHidden: a panicking handler answers 500 with a generic JSON error;
// the panic's text goes to the log, never to the client.
func TestPanicHidden(t *testing.T) {
	var logs bytes.Buffer
	e, _ := newTestEdge(t, Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	app := e.newApp()
	app.Get("/boom", func(*fiber.Ctx) error { panic("secret-internal-detail") })
	app.Get("/fail", func(*fiber.Ctx) error { return errors.New("secret-error-detail") })
	for _, path := range []string{"/boom", "/fail"} {
		resp, err := app.Test(httptest.NewRequest(http.MethodGet, path, nil))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusInternalServerError || strings.Contains(string(body), "secret") ||
			!strings.Contains(string(body), `"error":"internal error"`) {
			t.Errorf("GET %s: %d %q, want 500 with a generic JSON error", path, resp.StatusCode, body)
		}
	}
	if !strings.Contains(logs.String(), "secret-internal-detail") {
		t.Errorf("the panic was not logged: %s", logs.String())
	}
}

// TestServeTLS: with Config.TLS, Serve speaks HTTPS on its listener.
func TestServeTLS(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	e, _ := newTestEdge(t, Config{TLS: &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}},
		MinVersion:   tls.VersionTLS12,
	}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- e.Serve(ln) }()
	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	defer client.CloseIdleConnections()
	resp, err := client.Get("https://" + ln.Addr().String() + "/files/hello.txt")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "hello, p2pcache\n" || resp.TLS == nil {
		t.Fatalf("HTTPS: %d %q (TLS %v)", resp.StatusCode, body, resp.TLS != nil)
	}
	if resp, err := http.Get("http://" + ln.Addr().String() + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Error("plain HTTP was served on the TLS listener")
		}
	}
	http.DefaultClient.CloseIdleConnections()
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
}

// TestHandler: the edge serves from a fasthttp server of one's own.
func TestHandler(t *testing.T) {
	e, _ := newTestEdge(t, Config{})
	ln := fasthttputil.NewInmemoryListener()
	srv := &fasthttp.Server{Handler: e.Handler()}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	client := &http.Client{Transport: &http.Transport{
		DialContext: func(context.Context, string, string) (net.Conn, error) { return ln.Dial() },
	}}
	resp, err := client.Get("http://relay.test/files/hello.txt")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	client.CloseIdleConnections()
	if resp.StatusCode != 200 || string(body) != "hello, p2pcache\n" {
		t.Fatalf("GET: %d %q", resp.StatusCode, body)
	}
	if err := srv.Shutdown(); err != nil {
		t.Fatal(err)
	}
	if err := <-served; err != nil {
		t.Fatal(err)
	}
}
