package stack

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/p2pcache/p2pcache/relay/peer"
	"github.com/p2pcache/p2pcache/server/internal/config"
)

// getStatus GETs url and returns the status and body.
func getStatus(t *testing.T, client *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestReadyzDuringDrain: /readyz is 503 "starting" until Started, 200
// while the relay takes peers, and 503 "draining" from the moment Shutdown
// begins while a transfer still drains (its file waits on the origin);
// the transfer then completes and Shutdown returns.
func TestReadyzDuringDrain(t *testing.T) {
	defer http.DefaultClient.CloseIdleConnections()
	file := bytes.Repeat([]byte("drain me"), 40_000) // 320 kB: 5 chunks
	asked, release := make(chan struct{}, 16), make(chan struct{})
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/slow.bin" {
			http.NotFound(w, r)
			return
		}
		asked <- struct{}{}
		<-release
		w.Header().Set("ETag", `"slow-1"`)
		http.ServeContent(w, r, "slow.bin", time.Unix(1_700_000_000, 0), bytes.NewReader(file))
	}))
	defer origin.Close()
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()
	cfg := config.Default()
	cfg.Origin = origin.URL
	s, base, served := start(t, cfg)
	ready := func() (int, string) { return getStatus(t, http.DefaultClient, base+"/readyz") }

	if code, body := ready(); code != 503 || !strings.Contains(body, `"starting"`) {
		t.Fatalf("before Started: %d %s, want 503 starting", code, body)
	}
	s.Started()
	if code, body := ready(); code != 200 {
		t.Fatalf("started: %d %s, want 200", code, body)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := peer.Dial(ctx, base, peer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	fetched := make(chan []byte, 1)
	go func() {
		b, err := p.Fetch(ctx, "/slow.bin")
		if err != nil {
			t.Errorf("fetch during drain: %v", err)
		}
		fetched <- b
	}()
	select {
	case <-asked: // the transfer is in flight, waiting on the origin
	case <-ctx.Done():
		t.Fatal("the origin was never asked")
	}

	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown(ctx) }()
	for {
		code, body := ready()
		if code == 503 && strings.Contains(body, `"draining"`) {
			break
		}
		if code != 200 {
			t.Fatalf("while draining began: %d %s", code, body)
		}
		time.Sleep(5 * time.Millisecond)
	}
	// The drain holds for the transfer, and /readyz says so all along.
	for range 5 {
		time.Sleep(40 * time.Millisecond)
		if code, _ := ready(); code != 503 {
			t.Fatalf("/readyz %d while a transfer drains", code)
		}
		select {
		case err := <-shut:
			t.Fatalf("Shutdown returned %v with a transfer in flight", err)
		case <-fetched:
			t.Fatal("the transfer finished before the origin answered")
		default:
		}
	}
	close(release)
	if b := <-fetched; !bytes.Equal(b, file) {
		t.Fatalf("drained transfer: %d of %d bytes", len(b), len(file))
	}
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
}

// writePair writes a self-signed certificate for 127.0.0.1 named cn and
// its key to certFile and keyFile, and returns the certificate's PEM.
func writePair(t *testing.T, certFile, keyFile, cn string) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certPEM
}

// servedCN is the common name of the certificate a new TLS handshake with
// addr gets.
func servedCN(t *testing.T, addr string) string {
	t.Helper()
	c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].Subject.CommonName
}

// TestCertReloadKeepsConnections: replacing the TLS files, then a reload
// (ReloadCerts, the binary's SIGHUP; or the watch noticing the change),
// gives new handshakes the new certificate while an open WebSocket (a
// peer's signaling) stays up and answers.
func TestCertReloadKeepsConnections(t *testing.T) {
	for _, how := range []string{"ReloadCerts", "watch"} {
		t.Run(how, func(t *testing.T) {
			dir := t.TempDir()
			cf, kf := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
			writePair(t, cf, kf, "before")
			cfg := config.Default()
			cfg.TLSCert, cfg.TLSKey, cfg.TLSReloadInterval = cf, kf, 0
			if how == "watch" {
				cfg.TLSReloadInterval = 20 * time.Millisecond
			}
			s, base, _ := start(t, cfg)
			s.Started()
			addr := strings.TrimPrefix(base, "http://")
			if !s.TLS {
				t.Fatal("the stack serves no TLS")
			}
			if cn := servedCN(t, addr); cn != "before" {
				t.Fatalf("first certificate %q", cn)
			}

			d := websocket.Dialer{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, HandshakeTimeout: 5 * time.Second}
			ws, _, err := d.Dial("wss://"+addr+"/ws", http.Header{"Origin": {"https://" + addr}})
			if err != nil {
				t.Fatal(err)
			}
			defer ws.Close()
			pongs := make(chan string, 4)
			ws.SetPongHandler(func(data string) error { pongs <- data; return nil })
			readDone := make(chan error, 1)
			go func() {
				for {
					if _, _, err := ws.ReadMessage(); err != nil {
						readDone <- err
						return
					}
				}
			}()
			ping := func(data string) {
				t.Helper()
				if err := ws.WriteControl(websocket.PingMessage, []byte(data), time.Now().Add(2*time.Second)); err != nil {
					t.Fatalf("ping %s: %v", data, err)
				}
				select {
				case got := <-pongs:
					if got != data {
						t.Fatalf("pong %q, want %q", got, data)
					}
				case err := <-readDone:
					t.Fatalf("the WebSocket closed: %v", err)
				case <-time.After(5 * time.Second):
					t.Fatalf("no pong for %s", data)
				}
			}
			ping("before")

			writePair(t, cf, kf, "after")
			if how == "ReloadCerts" {
				if err := s.ReloadCerts(); err != nil {
					t.Fatal(err)
				}
			}
			deadline := time.Now().Add(10 * time.Second)
			for servedCN(t, addr) != "after" {
				if time.Now().After(deadline) {
					t.Fatal("new handshakes never got the new certificate")
				}
				time.Sleep(20 * time.Millisecond)
			}
			ping("after") // the connection made under the old certificate is still up
			if n := s.Relay.PeerCount(); n != 1 {
				t.Errorf("%d peers after the reload, want the 1 still connected", n)
			}
		})
	}
}
