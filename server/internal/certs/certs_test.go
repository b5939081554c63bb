package certs

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// newPair writes a self-signed certificate for names (DNS names or IPs)
// named cn, and its key, as PEM; it returns the PEM bytes.
func newPair(t *testing.T, cn string, names ...string) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(90 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}

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
