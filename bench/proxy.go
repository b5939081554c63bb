package main

import (
	"errors"
	"net"
	"sync"
	"time"
)

// delayProxy is a user-space TCP proxy that emulates a path with a one-way
// delay and, optionally, a bandwidth: every byte read on one side is written
// to the other side `delay` after it arrived, in order; with a bandwidth the
// writes are also paced to that many bytes per second (per connection and
// direction). No root, no qdisc: it works on loopback in any container.
//
// Each direction is a delay line: a reader goroutine stamps every read with
// its arrival time and queues it; a writer goroutine releases each segment at
// max(arrival + delay, when the pacer allows it). Sleeping until an absolute
// release time means a late wake-up is not carried over to later segments,
// so the proxy adds the delay once, not once per read. A full queue blocks
// the reader, and so TCP's flow control reaches the sender.
type delayProxy struct {
	ln     net.Listener
	target string
	delay  time.Duration // one-way
	bw     float64       // bytes per second; 0 = unlimited
	// handshake emulates TCP's SYN/SYN-ACK round trip, which the kernel
	// completes locally before the proxy can delay it: the client's first
	// bytes leave no earlier than one RTT after the connection was accepted.
	handshake bool

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

const (
	proxyQueue   = 256      // segments queued per direction
	proxyBuf     = 32 << 10 // bytes per read
	proxyPaceBuf = 16 << 10 // bytes per read when pacing (finer pacing)
)

// newDelayProxy starts forwarding connections accepted on ln to target.
func newDelayProxy(ln net.Listener, target string, oneWay time.Duration, bw float64) *delayProxy {
	p := &delayProxy{ln: ln, target: target, delay: oneWay, bw: bw, handshake: true, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	return p
}

func (p *delayProxy) Addr() string { return p.ln.Addr().String() }

func (p *delayProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		accepted := time.Now()
		if !p.track(c) {
			c.Close()
			return
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			defer p.untrack(c)
			up, err := net.DialTimeout("tcp", p.target, 10*time.Second)
			if err != nil {
				c.Close()
				return
			}
			if !p.track(up) {
				c.Close()
				up.Close()
				return
			}
			defer p.untrack(up)
			p.splice(c, up, accepted)
		}()
	}
}

func (p *delayProxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *delayProxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

// Close stops accepting, cuts every connection and waits for the goroutines.
func (p *delayProxy) Close() error {
	p.mu.Lock()
	p.closed = true
	err := p.ln.Close()
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
	return err
}

// splice runs both delay lines of one connection (a the accepted side, b
// the upstream) until both ends are done.
func (p *delayProxy) splice(a, b net.Conn, accepted time.Time) {
	var once sync.Once
	kill := func() {
		once.Do(func() {
			a.Close()
			b.Close()
		})
	}
	var wg sync.WaitGroup
	wg.Add(2)
	var notBefore time.Time
	if p.handshake {
		notBefore = accepted.Add(2 * p.delay)
	}
	go func() { defer wg.Done(); p.line(a, b, notBefore, kill) }()
	go func() { defer wg.Done(); p.line(b, a, time.Time{}, kill) }()
	wg.Wait()
	kill()
}

type segment struct {
	b   []byte
	at  time.Time
	eof bool
}

var segPool = sync.Pool{New: func() any { b := make([]byte, proxyBuf); return &b }}

// line forwards src to dst through the delay line; at src's EOF it half-closes
// dst (after the delay, like the bytes before it). Bytes are taken as sent
// no earlier than notBefore (the emulated handshake).
func (p *delayProxy) line(src, dst net.Conn, notBefore time.Time, kill func()) {
	q := make(chan segment, proxyQueue)
	bufSize := proxyBuf
	if p.bw > 0 {
		bufSize = proxyPaceBuf
	}
	go func() {
		defer close(q)
		for {
			bp := segPool.Get().(*[]byte)
			n, err := src.Read((*bp)[:bufSize])
			if n > 0 {
				q <- segment{b: (*bp)[:n], at: time.Now()}
			} else {
				segPool.Put(bp)
			}
			if err != nil {
				q <- segment{eof: true, at: time.Now()}
				return
			}
		}
	}()
	var next time.Time // the pacer's earliest next release
	failed := false
	for s := range q {
		if failed {
			p.recycle(s)
			continue
		}
		sent := s.at
		if sent.Before(notBefore) {
			sent = notBefore
		}
		release := sent.Add(p.delay)
		if p.bw > 0 && next.After(release) {
			release = next
		}
		if d := time.Until(release); d > 0 {
			time.Sleep(d)
		}
		if s.eof {
			if tc, ok := dst.(*net.TCPConn); ok {
				tc.CloseWrite()
			} else {
				kill()
			}
			continue
		}
		_, err := dst.Write(s.b)
		if p.bw > 0 {
			next = release.Add(time.Duration(float64(len(s.b)) / p.bw * float64(time.Second)))
		}
		p.recycle(s)
		if err != nil {
			failed = true
			kill() // unblocks our reader and the other direction
		}
	}
}

func (p *delayProxy) recycle(s segment) {
	if s.b != nil {
		b := s.b[:cap(s.b)]
		segPool.Put(&b)
	}
}

// listenLoopback listens on a free port of ip.
func listenLoopback(ip string) (net.Listener, error) {
	return net.Listen("tcp", net.JoinHostPort(ip, "0"))
}

// errNoAltLoopback: 127.0.0.2 cannot be bound here.
var errNoAltLoopback = errors.New("127.0.0.2 is not usable (the delay proxy needs the whole 127.0.0.0/8 on lo)")

// checkAltLoopback verifies that 127.0.0.2 can be listened on and reached.
func checkAltLoopback() error {
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		return errNoAltLoopback
	}
	defer ln.Close()
	c, err := net.DialTimeout("tcp", ln.Addr().String(), 2*time.Second)
	if err != nil {
		return errNoAltLoopback
	}
	c.Close()
	return nil
}
