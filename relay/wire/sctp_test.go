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

// recordSizer remembers the datagrams written through it: the largest, and
// every size since the last reset.
type recordSizer struct {
	net.PacketConn
	largest atomic.Int64

	mu      sync.Mutex // guards written
	written []int
}

func (r *recordSizer) WriteTo(b []byte, addr net.Addr) (int, error) {
	if n := int64(len(b)); n > r.largest.Load() {
		r.largest.Store(n)
	}
	r.mu.Lock()
	r.written = append(r.written, len(b))
	r.mu.Unlock()
	return r.PacketConn.WriteTo(b, addr)
}

func (r *recordSizer) reset() {
	r.largest.Store(0)
	r.mu.Lock()
	r.written = nil
	r.mu.Unlock()
}

func (r *recordSizer) sizes() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]int(nil), r.written...)
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
			fits := recordSize(t, cert, s.id, 0, sctpMTU)
			if fits > maxDTLSRecord {
				t.Errorf("a %d-byte SCTP packet is a %d-byte DTLS record, over %d", sctpMTU, fits, maxDTLSRecord)
			}
			if recordSize(t, cert, s.id, 0, sctpMTU+1) > maxDTLSRecord {
				overflows = true
			}
		})
	}
	if !overflows {
		t.Errorf("a %d-byte SCTP packet fits every suite: sctpMTU is not the largest that does", sctpMTU+1)
	}
}

// recordSize completes a DTLS handshake over loopback UDP with suite id and
// the given MTU (0 for dtls's default), writes one payload of n bytes from
// the client and returns the size of the datagram that carried it. A record
// under dtlsMTU is read back whole (pion's own read buffer is 8192 bytes, so
// a larger one is only measured).
func recordSize(t *testing.T, cert tls.Certificate, id dtls.CipherSuiteID, mtu, n int) int {
	t.Helper()
	client, server, sizer := dtlsPair(t, cert, id, mtu)
	if _, err := client.Write(make([]byte, n)); err != nil {
		t.Fatal(err)
	}
	size := int(sizer.largest.Load())
	if size < dtlsMTU {
		buf := make([]byte, 9216)
		got, err := server.Read(buf)
		if err != nil || got != n {
			t.Fatalf("server read %d bytes, %v; want %d", got, err, n)
		}
	}
	return size
}

// TestSCTPMTULargeFitsFrame seals one sctpMTULarge-byte SCTP packet with
// each suite and checks that its record, alone in its datagram, stays under
// dtlsMTU (one ICE-TCP frame nICEr reads), and that one byte more does not
// with at least one suite.
func TestSCTPMTULargeFitsFrame(t *testing.T) {
	cert, err := selfsign.GenerateSelfSigned()
	if err != nil {
		t.Fatal(err)
	}
	overflows := false
	for _, id := range []dtls.CipherSuiteID{
		dtls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
		dtls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
		dtls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
		dtls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
	} {
		t.Run(id.String(), func(t *testing.T) {
			if n := recordSize(t, cert, id, dtlsMTU, sctpMTULarge); n >= dtlsMTU {
				t.Errorf("a %d-byte SCTP packet is a %d-byte DTLS record: not under dtlsMTU (%d)", sctpMTULarge, n, dtlsMTU)
			}
			if recordSize(t, cert, id, dtlsMTU, sctpMTULarge+1) >= dtlsMTU {
				overflows = true
			}
		})
	}
	if !overflows {
		t.Errorf("a %d-byte SCTP packet fits every suite: sctpMTULarge is not the largest that does", sctpMTULarge+1)
	}
}

// TestDTLSBatchFitsFrame writes batches of full SCTP packets through the
// patched dtls Conn.WriteBatch with the relay's DTLS MTU and each cipher
// suite: every datagram (one ICE-TCP frame) stays under dtlsMTU, four full
// records share one (the point of the batch), and every payload arrives
// whole and in order.
func TestDTLSBatchFitsFrame(t *testing.T) {
	cert, err := selfsign.GenerateSelfSigned()
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []dtls.CipherSuiteID{
		dtls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
		dtls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
		dtls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
	} {
		t.Run(id.String(), func(t *testing.T) {
			client, server, sizer := dtlsPair(t, cert, id, dtlsMTU)
			for _, k := range []int{1, 4, 5, 9} {
				payloads := make([][]byte, k)
				for i := range payloads {
					payloads[i] = make([]byte, sctpMTU)
					payloads[i][0], payloads[i][sctpMTU-1] = byte(k), byte(i)
				}
				sizer.reset()
				if n, err := client.WriteBatch(payloads); err != nil || n != k*sctpMTU {
					t.Fatalf("WriteBatch of %d: %d, %v", k, n, err)
				}
				buf := make([]byte, 2*maxDTLSRecord)
				for i := range payloads {
					got, err := server.Read(buf)
					if err != nil || got != sctpMTU || buf[0] != byte(k) || buf[sctpMTU-1] != byte(i) {
						t.Fatalf("batch of %d, record %d: read %d bytes (%d, %d), %v", k, i, got, buf[0], buf[sctpMTU-1], err)
					}
				}
				sizes := sizer.sizes()
				if want := (k + 3) / 4; len(sizes) != want {
					t.Errorf("a batch of %d records went out in %d datagrams %v, want %d (four to a datagram)", k, len(sizes), sizes, want)
				}
				for _, n := range sizes {
					if n >= dtlsMTU {
						t.Errorf("a %d-byte datagram: not under dtlsMTU (%d)", n, dtlsMTU)
					}
				}
			}
		})
	}
}

// dtlsPair completes a DTLS handshake over loopback UDP with suite id (and
// the given MTU, 0 for the default) and returns the client, whose writes the
// sizer sees, and the server.
func dtlsPair(t *testing.T, cert tls.Certificate, id dtls.CipherSuiteID, mtu int) (*dtls.Conn, *dtls.Conn, *recordSizer) {
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
		MTU:                mtu,
	}
	client, err := dtls.Client(sizer, spc.LocalAddr(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	server, err := dtls.Server(spc, cpc.LocalAddr(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Close() })

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
	sizer.reset()
	return client, server, sizer
}
