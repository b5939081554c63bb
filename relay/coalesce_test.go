package relay

import (
	"bytes"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// tcpPair is a connected loopback TCP pair.
func tcpPair(t testing.TB) (client, server net.Conn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var srv net.Conn
	var aerr error
	done := make(chan struct{})
	go func() { srv, aerr = l.Accept(); close(done) }()
	cli, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	<-done
	if aerr != nil {
		t.Fatal(aerr)
	}
	return cli, srv
}

func TestCoalescedConnKeepsOrder(t *testing.T) {
	cli, srv := tcpPair(t)
	defer cli.Close()
	c := newCoalescedConn(srv)
	var want bytes.Buffer
	var wg sync.WaitGroup
	got := make(chan []byte, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		b, _ := io.ReadAll(cli)
		got <- b
	}()
	for i := range 5000 { // more than maxCoalesce, so writers also wait for room
		p := bytes.Repeat([]byte{byte(i)}, 1+i%1400)
		want.Write(p)
		if n, err := c.Write(p); n != len(p) || err != nil {
			t.Fatalf("write %d: %d, %v", i, n, err)
		}
	}
	// Close drops unsent bytes, so wait for the flusher to drain first.
	for !c.drained() {
		time.Sleep(time.Millisecond)
	}
	srv.(*net.TCPConn).CloseWrite()
	b := <-got
	wg.Wait()
	if !bytes.Equal(b, want.Bytes()) {
		t.Fatalf("read %d bytes, wrote %d; equal=%v", len(b), want.Len(), bytes.Equal(b, want.Bytes()))
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := c.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("write after close: %v", err)
	}
}

func TestCoalescedConnWriteError(t *testing.T) {
	cli, srv := tcpPair(t)
	c := newCoalescedConn(srv)
	defer c.Close()
	cli.(*net.TCPConn).SetLinger(0)
	cli.Close() // the far end resets
	var err error
	for range 10000 {
		if _, err = c.Write(make([]byte, 1200)); err != nil {
			break
		}
	}
	if err == nil {
		t.Fatal("writes to a reset connection never failed")
	}
}

func TestCoalescedConnCloseUnblocksWriter(t *testing.T) {
	cli, srv := tcpPair(t)
	defer cli.Close() // never reads: the socket and then the buffer fill
	c := newCoalescedConn(srv)
	errc := make(chan error, 1)
	go func() {
		for {
			if _, err := c.Write(make([]byte, 64<<10)); err != nil {
				errc <- err
				return
			}
		}
	}()
	for { // wait until the writer is blocked on a full buffer
		c.mu.Lock()
		full := len(c.buf) > maxCoalesce-64<<10
		c.mu.Unlock()
		if full {
			break
		}
	}
	c.Close()
	if err := <-errc; err == nil {
		t.Fatal("blocked writer returned no error after Close")
	}
}

// BenchmarkICETCPWrites sends 1200-byte packets (an SCTP packet in a DTLS
// record) over loopback TCP, plain and coalesced: the syscall saving is the
// relay's CPU per MB.
func BenchmarkICETCPWrites(b *testing.B) {
	pkt := make([]byte, 1200)
	for _, tc := range []struct {
		name string
		wrap func(net.Conn) net.Conn
	}{
		{"plain", func(c net.Conn) net.Conn { return c }},
		{"coalesced", func(c net.Conn) net.Conn { return newCoalescedConn(c) }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			cli, srv := tcpPair(b)
			defer cli.Close()
			go io.Copy(io.Discard, cli)
			c := tc.wrap(srv)
			defer c.Close()
			b.SetBytes(int64(len(pkt)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Write(pkt); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
