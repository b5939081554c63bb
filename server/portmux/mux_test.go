package portmux

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// start serves a Mux on a loopback port with listeners for protos; Close
// runs at cleanup and Serve must then have returned nil.
func start(t *testing.T, cfg Config, protos ...Protocol) (*Mux, map[Protocol]net.Listener) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m := New(ln, cfg)
	lns := map[Protocol]net.Listener{}
	for _, p := range protos {
		lns[p] = m.Listener(p)
	}
	served := make(chan error, 1)
	go func() { served <- m.Serve() }()
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return m, lns
}

// acceptOne accepts one connection from l in the background.
func acceptOne(l net.Listener) <-chan net.Conn {
	ch := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			close(ch)
			return
		}
		ch <- c
	}()
	return ch
}

func dial(t *testing.T, m *Mux) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", m.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// closedByServer reports whether the server closed c within d.
func closedByServer(c net.Conn, d time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(d))
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	return err != nil && !(errors.As(err, &ne) && ne.Timeout())
}

func waitStats(t *testing.T, m *Mux, ok func(Stats) bool) Stats {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s := m.Stats()
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("stats never as wanted: %+v", s)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestSTUN: a framed STUN binding request goes to the STUN listener, whose
// connection reads every byte the client sent, the peeked ones first; the
// listener's address is the shared one.
func TestSTUN(t *testing.T) {
	m, lns := start(t, Config{}, STUN, TLS, HTTP)
	if lns[STUN].Addr().String() != m.Addr().String() {
		t.Errorf("STUN listener at %v, want the shared %v", lns[STUN].Addr(), m.Addr())
	}
	got := acceptOne(lns[STUN])
	c := dial(t, m)
	msg := append(stunFrame(64), stunFrame(8)...)
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	sc := <-got
	if sc == nil {
		t.Fatal("no STUN connection")
	}
	defer sc.Close()
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(sc, buf); err != nil || !bytes.Equal(buf, msg) {
		t.Fatalf("read % x, %v; want % x", buf, err, msg)
	}
	if sc.LocalAddr().String() != m.Addr().String() || sc.RemoteAddr().String() != c.LocalAddr().String() {
		t.Errorf("conn addresses %v <- %v, want %v <- %v", sc.LocalAddr(), sc.RemoteAddr(), m.Addr(), c.LocalAddr())
	}
	if _, ok := sc.(interface{ NetConn() net.Conn }).NetConn().(*net.TCPConn); !ok {
		t.Error("NetConn is not the *net.TCPConn")
	}
	// Both ways.
	sc.Write([]byte("pong"))
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(c, buf[:4]); err != nil || string(buf[:4]) != "pong" {
		t.Fatalf("client read %q, %v", buf[:4], err)
	}
	waitStats(t, m, func(s Stats) bool { return s.Handed[STUN] == 1 })
}

// TestTLSAndHTTP: an HTTPS server on the TLS listener and an HTTP server on
// the HTTP listener answer on the one port, and each sees only its own.
func TestTLSAndHTTP(t *testing.T) {
	m, lns := start(t, Config{}, STUN, TLS, HTTP)
	cert := selfSigned(t)
	handler := func(name string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, name) })
	}
	httpsSrv := &http.Server{Handler: handler("https"), ReadHeaderTimeout: 5 * time.Second}
	httpSrv := &http.Server{Handler: handler("http"), ReadHeaderTimeout: 5 * time.Second}
	done := make(chan error, 2)
	go func() {
		done <- httpsSrv.Serve(tls.NewListener(lns[TLS], &tls.Config{Certificates: []tls.Certificate{cert}}))
	}()
	go func() { done <- httpSrv.Serve(lns[HTTP]) }()
	defer func() {
		httpsSrv.Close()
		httpSrv.Close()
		<-done
		<-done
	}()
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	for _, scheme := range []string{"https", "http", "https"} {
		resp, err := client.Get(scheme + "://" + m.Addr().String() + "/")
		if err != nil {
			t.Fatalf("%s: %v", scheme, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != scheme {
			t.Errorf("%s request answered by %q", scheme, b)
		}
	}
	s := waitStats(t, m, func(s Stats) bool { return s.Handed[TLS] >= 1 && s.Handed[HTTP] >= 1 })
	if s.Handed[STUN] != 0 || s.Garbage != 0 {
		t.Errorf("stats %+v", s)
	}
}

// TestRejected: what is not handed over is closed, and counted by why.
func TestRejected(t *testing.T) {
	const peek = 300 * time.Millisecond
	tests := []struct {
		name   string
		protos []Protocol
		send   func(c net.Conn)
		check  func(Stats) bool
		after  time.Duration // the least time the close may take
	}{
		{"garbage", []Protocol{STUN, TLS, HTTP},
			func(c net.Conn) { c.Write([]byte("SSH-2.0-OpenSSH_9.6\r\n")) },
			func(s Stats) bool { return s.Garbage == 1 }, 0},
		{"zeros", []Protocol{STUN, TLS, HTTP},
			func(c net.Conn) { c.Write(make([]byte, 64)) },
			func(s Stats) bool { return s.Garbage == 1 }, 0},
		{"silent", []Protocol{STUN, TLS, HTTP},
			func(c net.Conn) {},
			func(s Stats) bool { return s.Timeout == 1 }, peek},
		{"slowloris, a byte at a time", []Protocol{STUN, TLS, HTTP},
			func(c net.Conn) {
				go func() {
					for _, b := range []byte("OPTION") { // never the space that decides
						if _, err := c.Write([]byte{b}); err != nil {
							return
						}
						time.Sleep(peek / 5)
					}
				}()
			},
			func(s Stats) bool { return s.Timeout == 1 }, peek},
		{"short first bytes, then close", []Protocol{STUN, TLS, HTTP},
			func(c net.Conn) {
				c.Write([]byte{0x16, 0x03})
				c.(*net.TCPConn).CloseWrite()
			},
			func(s Stats) bool { return s.ClosedEarly == 1 }, 0},
		{"stun header cut short, then close", []Protocol{STUN, TLS, HTTP},
			func(c net.Conn) {
				c.Write(stunFrame(8)[:7])
				c.(*net.TCPConn).CloseWrite()
			},
			func(s Stats) bool { return s.ClosedEarly == 1 }, 0},
		{"http with no HTTP listener", []Protocol{STUN, TLS},
			func(c net.Conn) { c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")) },
			func(s Stats) bool { return s.Unserved == 1 }, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, lns := start(t, Config{PeekTimeout: peek}, tt.protos...)
			for _, l := range lns {
				go func() {
					if c, err := l.Accept(); err == nil {
						t.Errorf("%v listener got a connection", l)
						c.Close()
					}
				}()
			}
			c := dial(t, m)
			began := time.Now()
			tt.send(c)
			if !closedByServer(c, 5*time.Second) {
				t.Fatal("the server did not close the connection")
			}
			if took := time.Since(began); took < tt.after*9/10 {
				t.Errorf("closed after %v, want at least %v", took, tt.after)
			}
			s := waitStats(t, m, tt.check)
			if s.Handed[STUN]+s.Handed[TLS]+s.Handed[HTTP] != 0 {
				t.Errorf("handed over: %+v", s)
			}
		})
	}
}

// TestSplitFirstBytes: first bytes that arrive in pieces, a byte at a time
// within the peek timeout, are put together.
func TestSplitFirstBytes(t *testing.T) {
	m, lns := start(t, Config{PeekTimeout: 5 * time.Second}, STUN, HTTP)
	for _, tt := range []struct {
		p   Protocol
		msg []byte
	}{{HTTP, []byte("OPTIONS * HTTP/1.1\r\n")}, {STUN, stunFrame(12)}} {
		got := acceptOne(lns[tt.p])
		c := dial(t, m)
		for _, b := range tt.msg[:MaxPeek] {
			c.Write([]byte{b})
			time.Sleep(10 * time.Millisecond)
		}
		c.Write(tt.msg[MaxPeek:])
		sc := <-got
		if sc == nil {
			t.Fatalf("%v: not handed over", tt.p)
		}
		buf := make([]byte, len(tt.msg))
		_, err := io.ReadFull(sc, buf)
		sc.Close()
		if err != nil || !bytes.Equal(buf, tt.msg) {
			t.Fatalf("%v: read %q, %v", tt.p, buf, err)
		}
	}
}

// TestMaxPending: with every slot held by a silent client, the next
// connection waits in the backlog until one times out, then is served.
func TestMaxPending(t *testing.T) {
	const peek = 400 * time.Millisecond
	m, lns := start(t, Config{PeekTimeout: peek, MaxPending: 2}, HTTP)
	dial(t, m)
	dial(t, m)
	time.Sleep(50 * time.Millisecond) // both accepted and peeking
	got := acceptOne(lns[HTTP])
	began := time.Now()
	c := dial(t, m) // the kernel completes the handshake; the Mux does not accept it yet
	c.Write([]byte("GET / HTTP/1.1\r\n"))
	sc := <-got
	if sc == nil {
		t.Fatal("the third connection was never handed over")
	}
	sc.Close()
	if took := time.Since(began); took < peek/2 {
		t.Errorf("handed over after %v: the silent clients did not hold their slots", took)
	}
	waitStats(t, m, func(s Stats) bool { return s.Timeout == 2 && s.Handed[HTTP] == 1 })
}

// TestClose: Close ends Serve, closes the connections being classified and
// the protocols' listeners, and is idempotent; Serve after it fails.
func TestClose(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m := New(ln, Config{PeekTimeout: time.Minute})
	l := m.Listener(STUN)
	served := make(chan error, 1)
	go func() { served <- m.Serve() }()
	accepted := make(chan error, 1)
	go func() {
		_, err := l.Accept()
		accepted <- err
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	time.Sleep(50 * time.Millisecond)
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve after Close: %v, want nil", err)
	}
	if err := <-accepted; !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept after Close: %v, want net.ErrClosed", err)
	}
	if !closedByServer(c, time.Second) {
		t.Error("the connection being classified is still open")
	}
	if err := m.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := m.Serve(); !errors.Is(err, ErrClosed) {
		t.Errorf("Serve after Close: %v, want ErrClosed", err)
	}
	if _, err := m.Listener(HTTP).Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("a listener made after Close accepts: %v", err)
	}
	if m.Listener(Unknown) != nil {
		t.Error("Listener(Unknown) is not nil")
	}
}

// TestListenerClose: closing one protocol's listener leaves the others
// serving; its protocol is then unserved.
func TestListenerClose(t *testing.T) {
	m, lns := start(t, Config{}, STUN, HTTP)
	lns[HTTP].Close()
	if err := lns[HTTP].Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	c := dial(t, m)
	c.Write([]byte("GET / HTTP/1.1\r\n"))
	if !closedByServer(c, 5*time.Second) {
		t.Fatal("HTTP with its listener closed was not closed")
	}
	got := acceptOne(lns[STUN])
	c2 := dial(t, m)
	c2.Write(stunFrame(0))
	if sc := <-got; sc == nil {
		t.Fatal("STUN not handed over")
	} else {
		sc.Close()
	}
	waitStats(t, m, func(s Stats) bool { return s.Unserved == 1 && s.Handed[STUN] == 1 })
}

// TestCollector: the counts are exported by outcome and protocol.
func TestCollector(t *testing.T) {
	m, _ := start(t, Config{})
	c := dial(t, m)
	c.Write([]byte("nonsense!!"))
	closedByServer(c, 5*time.Second)
	waitStats(t, m, func(s Stats) bool { return s.Garbage == 1 })
	var sb strings.Builder
	if err := writeMetrics(&sb, m.Collector()); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`p2pcache_portmux_connections_total{result="garbage"} 1`, `p2pcache_portmux_connections_total{result="stun"} 0`} {
		if !strings.Contains(sb.String(), want) {
			t.Errorf("no %q in\n%s", want, sb.String())
		}
	}
}

func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "portmux test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
