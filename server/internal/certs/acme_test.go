package certs

import (
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"

	"golang.org/x/crypto/acme"
)

// TestACMEWiring: the ACME config answers TLS-ALPN-01 (it offers
// acme-tls/1), serves a certificate from its cache for a listed domain,
// refuses other names, and its HTTP-01 handler answers challenges and
// redirects the rest; the CA is never asked (a fake directory counts).
func TestACMEWiring(t *testing.T) {
	var asked atomic.Int64
	ca := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		http.Error(w, "no", http.StatusTeapot)
	}))
	defer ca.Close()
	dir := t.TempDir()
	// A certificate already in the cache, as autocert stores it: the key,
	// then the chain, under the domain's name (ECDSA keys).
	c, k := newPair(t, "cached", "relay.example.com")
	writeFile(t, filepath.Join(dir, "relay.example.com"), append(k, c...))

	a := NewACME(ACMEConfig{
		Domains:  []string{"relay.example.com", "cdn.example.com"},
		CacheDir: dir,
		Email:    "ops@example.com",
		Client:   &acme.Client{DirectoryURL: ca.URL + "/directory"},
	})
	cfg := a.TLSConfig()
	if cfg.GetCertificate == nil || !slices.Contains(cfg.NextProtos, acme.ALPNProto) || !slices.Contains(cfg.NextProtos, "http/1.1") || slices.Contains(cfg.NextProtos, "h2") {
		t.Fatalf("NextProtos %q, GetCertificate set %v: want http/1.1 and acme-tls/1, no h2", cfg.NextProtos, cfg.GetCertificate != nil)
	}
	if cn, err := handshakeCN(t, cfg, "relay.example.com"); err != nil || cn != "cached" {
		t.Fatalf("handshake for relay.example.com: %q, %v; want the cached certificate", cn, err)
	}
	if _, err := handshakeCN(t, cfg, "evil.example.com"); err == nil {
		t.Fatal("a handshake for a name not listed succeeded")
	}
	if _, err := handshakeCN(t, cfg, ""); err == nil {
		t.Fatal("a handshake without a server name succeeded")
	}

	h := a.HTTPHandler()
	for _, tt := range []struct {
		path string
		want int
	}{{"/.well-known/acme-challenge/no-such-token", http.StatusNotFound}, {"/files/a.png", http.StatusFound}} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "http://relay.example.com"+tt.path, nil)
		h.ServeHTTP(rec, req)
		b, _ := io.ReadAll(rec.Body)
		if rec.Code != tt.want {
			t.Errorf("GET %s: %d %s, want %d", tt.path, rec.Code, b, tt.want)
		}
		if tt.want == http.StatusFound && rec.Header().Get("Location") != "https://relay.example.com"+tt.path {
			t.Errorf("redirect to %q", rec.Header().Get("Location"))
		}
	}
	if n := asked.Load(); n != 0 {
		t.Errorf("the CA was asked %d times", n)
	}
}
