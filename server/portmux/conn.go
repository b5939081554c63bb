package portmux

import (
	"net"
	"sync"
)

// conn is an accepted connection whose first bytes were read to classify
// it: Read returns them before reading on.
type conn struct {
	net.Conn
	peeked []byte // only the conn's one reader touches it
}

func (c *conn) Read(p []byte) (int, error) {
	if len(c.peeked) > 0 {
		n := copy(p, c.peeked)
		c.peeked = c.peeked[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// NetConn returns the accepted connection itself (a *net.TCPConn on a TCP
// listener), for socket options. Reading from it skips the bytes already
// read to classify it.
func (c *conn) NetConn() net.Conn { return c.Conn }

// listener is one protocol's net.Listener: Accept returns the connections
// the Mux classified as that protocol.
type listener struct {
	m     *Mux
	p     Protocol
	conns chan net.Conn // unbuffered: a connection is either accepted or still its handler's
	done  chan struct{} // closed by Close
	once  sync.Once
}

func (l *listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, &net.OpError{Op: "accept", Net: "tcp", Addr: l.Addr(), Err: net.ErrClosed}
	}
}

// Close stops the hand-overs to this listener: its protocol's connections
// are closed from now on. The Mux and its other listeners go on.
func (l *listener) Close() error {
	l.once.Do(func() {
		close(l.done)
		l.m.mu.Lock()
		if l.m.lns[l.p] == l {
			delete(l.m.lns, l.p)
		}
		l.m.mu.Unlock()
	})
	return nil
}

// Addr is the shared listener's address: what ICE candidates advertise.
func (l *listener) Addr() net.Addr { return l.m.ln.Addr() }
