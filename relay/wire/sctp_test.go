package wire

import (
	"context"
	"crypto/tls"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/dtls/v3/pkg/crypto/selfsign"
)

// recordSizer remembers the largest datagram written through it.
type recordSizer struct {
	net.PacketConn
	largest atomic.Int64
}

func (r *recordSizer) WriteTo(b []byte, addr net.Addr) (int, error) {
	if n := int64(len(b)); n > r.largest.Load() {
		r.largest.Store(n)
	}
	return r.PacketConn.WriteTo(b, addr)
}

// TestSCTPMTUFitsDTLSRecord seals one sctpMTU-byte SCTP packet with each
// cipher suite pion offers for an ECDSA certificate (the relay's and the Go
// peer's) and checks that its DTLS record stays within maxDTLSRecord, the
// most libwebrtc reads; and that one byte more overflows with at least one
// suite, so sctpMTU is the largest size that fits.
func TestSCTPMTUFitsDTLSRecord(t *testing.T) {
	cert, err := selfsign.GenerateSelfSigned()
	if err != nil {
		t.Fatal(err)
	}
	suites := []struct {
		name string
		id   dtls.CipherSuiteID
	}{
		{"AES-128-GCM", dtls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256},
		{"AES-256-GCM", dtls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384},
		{"ChaCha20-Poly1305", dtls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256},
		{"AES-256-CBC-SHA", dtls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA},
	}
	overflows := false
	for _, s := range suites {
		t.Run(s.name, func(t *testing.T) {
			fits := recordSize(t, cert, s.id, sctpMTU)
			if fits > maxDTLSRecord {
				t.Errorf("a %d-byte SCTP packet is a %d-byte DTLS record, over %d", sctpMTU, fits, maxDTLSRecord)
			}
			if recordSize(t, cert, s.id, sctpMTU+1) > maxDTLSRecord {
				overflows = true
			}
		})
	}
	if !overflows {
		t.Errorf("a %d-byte SCTP packet fits every suite: sctpMTU is not the largest that does", sctpMTU+1)
	}
}

// recordSize completes a DTLS handshake over loopback UDP with suite id,
// writes one payload of n bytes from the client and returns the size of the
// datagram that carried it.
func recordSize(t *testing.T, cert tls.Certificate, id dtls.CipherSuiteID, n int) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	listen := func() net.PacketConn {
		pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		return pc
	}
	cpc, spc := listen(), listen()
	sizer := &recordSizer{PacketConn: cpc}
	cfg := &dtls.Config{
		Certificates:       []tls.Certificate{cert},
		CipherSuites:       []dtls.CipherSuiteID{id},
		InsecureSkipVerify: true,
	}
	client, err := dtls.Client(sizer, spc.LocalAddr(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := dtls.Server(spc, cpc.LocalAddr(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()

	var wg sync.WaitGroup
	var serverErr error
	wg.Go(func() { serverErr = server.HandshakeContext(ctx) })
	if err := client.HandshakeContext(ctx); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if serverErr != nil {
		t.Fatal(serverErr)
	}
	if state, ok := client.ConnectionState(); !ok || state.CipherSuiteID != id {
		t.Fatalf("negotiated %v, want %v", state.CipherSuiteID, id)
	}

	sizer.largest.Store(0)
	if _, err := client.Write(make([]byte, n)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 2*maxDTLSRecord)
	got, err := server.Read(buf)
	if err != nil || got != n {
		t.Fatalf("server read %d bytes, %v; want %d", got, err, n)
	}
	return int(sizer.largest.Load())
}
