package certs

import (
	"context"
	"crypto/tls"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/p2pcache/p2pcache/server/internal/testcert"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// newPair is testcert.Pair: a self-signed certificate named cn for names
// (DNS names or IPs), and its key, as PEM.
var newPair = testcert.Pair

func writeFile(t *testing.T, name string, b []byte) {
	t.Helper()
	if err := os.WriteFile(name, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// handshakeCN does a TLS handshake with a server on cfg and returns the
// common name of the certificate it presents.
func handshakeCN(t *testing.T, cfg *tls.Config, serverName string) (string, error) {
	t.Helper()
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tls.Server(b, cfg).Handshake()
		b.Close() // not the tls.Conn: its close_notify would block on the pipe
	}()
	c := tls.Client(a, &tls.Config{InsecureSkipVerify: true, ServerName: serverName})
	err := c.Handshake()
	cn := ""
	if err == nil {
		cn = c.ConnectionState().PeerCertificates[0].Subject.CommonName
	}
	a.Close()
	wg.Wait()
	return cn, err
}

// TestFilesReload: Reload swaps the certificate new handshakes get; a pair
// that does not load leaves the one in use.
func TestFilesReload(t *testing.T) {
	dir := t.TempDir()
	cf, kf := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	c1, k1 := newPair(t, "one", "127.0.0.1")
	writeFile(t, cf, c1)
	writeFile(t, kf, k1)
	f, err := LoadFiles(cf, kf, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := f.TLSConfig()
	if cn, err := handshakeCN(t, cfg, ""); err != nil || cn != "one" {
		t.Fatalf("first handshake: %q, %v", cn, err)
	}
	c2, k2 := newPair(t, "two", "127.0.0.1")
	writeFile(t, cf, c2) // the certificate alone: no longer the key's
	if err := f.Reload(); err == nil {
		t.Fatal("Reload of a mismatched pair succeeded")
	}
	if cn, _ := handshakeCN(t, cfg, ""); cn != "one" {
		t.Fatalf("after a failed reload: %q, want the old one", cn)
	}
	writeFile(t, kf, k2)
	if err := f.Reload(); err != nil {
		t.Fatal(err)
	}
	if cn, _ := handshakeCN(t, cfg, ""); cn != "two" || f.Leaf().Subject.CommonName != "two" {
		t.Fatalf("after reload: %q, want two", cn)
	}
	if _, err := LoadFiles(filepath.Join(dir, "none.pem"), kf, nil); err == nil {
		t.Error("LoadFiles of a missing file succeeded")
	}
}

// TestFilesWatch: Watch notices the files change (a renewal writing the
// certificate, then the key) and reloads them; it ends with its context.
func TestFilesWatch(t *testing.T) {
	dir := t.TempDir()
	cf, kf := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	c1, k1 := newPair(t, "one", "127.0.0.1")
	writeFile(t, cf, c1)
	writeFile(t, kf, k1)
	f, err := LoadFiles(cf, kf, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.Watch(ctx, 10*time.Millisecond)
	}()
	defer func() { cancel(); <-done }()
	c2, k2 := newPair(t, "two", "127.0.0.1")
	writeFile(t, cf, c2)
	time.Sleep(50 * time.Millisecond) // Watch sees a half-written renewal and keeps "one"
	if cn, _ := handshakeCN(t, f.TLSConfig(), ""); cn != "one" {
		t.Fatalf("half-written renewal: %q, want one", cn)
	}
	writeFile(t, kf, k2)
	deadline := time.Now().Add(5 * time.Second)
	for f.Leaf().Subject.CommonName != "two" {
		if time.Now().After(deadline) {
			t.Fatal("Watch did not reload the renewed pair")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if cn, _ := handshakeCN(t, f.TLSConfig(), ""); cn != "two" {
		t.Fatalf("after the watch reloaded: %q", cn)
	}
}
