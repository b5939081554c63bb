package stack

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/p2pcache/p2pcache/relay/peer"
	"github.com/p2pcache/p2pcache/server/internal/config"
	"github.com/p2pcache/p2pcache/server/internal/testcert"
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
			testcert.Write(t, cf, kf, "before")
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

			ws := testcert.DialWSS(t, addr)
			ping := func(data string) {
				t.Helper()
				if got := ws.Ping(t, data); got != data {
					t.Fatalf("pong %q, want %q", got, data)
				}
			}
			ping("before")

			testcert.Write(t, cf, kf, "after")
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
