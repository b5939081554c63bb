package relay

import (
	"bufio"
	"net"
	"runtime"
	"sync"
)

// Write coalescing on ICE-TCP connections.
//
// pion sends every SCTP packet (≈1.2 KB) as its own DTLS record, and ICE-TCP
// frames each as its own Write: one syscall per packet, a quarter of the
// relay's CPU when it streams. A coalescedConn turns those into few large
// writes without delaying any: Write copies the packet into a buffer and
// returns, and one flusher goroutine writes out whatever has gathered. A
// lone packet goes out at once; while one write syscall runs, the packets
// behind it gather into the next, and before each write the flusher yields
// while the batch keeps growing, so a burst goes out whole (25-35 packets a
// syscall when streaming). There is no timer and no Nagle-style wait.
//
// Reads go through a buffer too: ICE-TCP reads each packet as a 2-byte
// length and then the payload, two syscalls a packet without it.
//
// The buffer is bounded (maxCoalesce): a writer ahead of the socket blocks,
// as it would on the kernel's send buffer. A write error is returned by the
// next Write; Close drops what is unsent (the peer is going away).

// maxCoalesce bounds the bytes a coalescedConn holds unsent.
const maxCoalesce = 64 << 10

// coalesceBufs holds the batch buffers of idle connections: a burst takes
// one full-sized buffer instead of growing a new one packet by packet (the
// profile showed that growth as a tenth of the relay's CPU when streaming),
// and an idle connection still holds none.
var coalesceBufs = sync.Pool{New: func() any {
	b := make([]byte, 0, maxCoalesce+16<<10) // room for the one write that may pass maxCoalesce
	return &b
}}

func getCoalesceBuf() []byte { return (*coalesceBufs.Get().(*[]byte))[:0] }

// putCoalesceBuf gives b back to the pool unless it is missing or grew
// past a normal batch.
func putCoalesceBuf(b []byte) {
	if b == nil || cap(b) > 2*maxCoalesce {
		return
	}
	b = b[:0]
	coalesceBufs.Put(&b)
}

// iceListener wraps every accepted ICE-TCP connection: its resets read as
// its end (resetAsEOF), and, with coalesce, its writes are batched
// (coalescedConn).
type iceListener struct {
	net.Listener
	coalesce bool
}

func (l iceListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	c = resetAsEOF{c}
	if l.coalesce {
		c = newCoalescedConn(c)
	}
	return c, nil
}

type coalescedConn struct {
	net.Conn
	r       *bufio.Reader  // only the conn's one reader uses it
	flusher sync.WaitGroup // the flusher goroutine, while one runs

	mu      sync.Mutex // guards the following
	cond    *sync.Cond // signalled when buf gains bytes, drains, or the conn ends
	buf     []byte     // bytes waiting for the flusher
	spare   []byte     // the flusher's previous buffer, for reuse
	running bool       // a flusher goroutine is running
	writing bool       // the flusher is writing a batch
	err     error      // the write error that ended the flusher
	closed  bool
}

func newCoalescedConn(c net.Conn) *coalescedConn {
	cc := &coalescedConn{Conn: c, r: bufio.NewReaderSize(c, 4<<10)}
	cc.cond = sync.NewCond(&cc.mu)
	return cc
}

// Read reads through the conn's buffer.
func (c *coalescedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// Write queues p and returns; it waits only while maxCoalesce bytes are
// already queued.
func (c *coalescedConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.buf) > 0 && len(c.buf)+len(p) > maxCoalesce && c.err == nil && !c.closed {
		c.cond.Wait()
	}
	switch {
	case c.err != nil:
		return 0, c.err
	case c.closed:
		return 0, net.ErrClosed
	}
	if c.buf == nil {
		c.buf = getCoalesceBuf()
	}
	c.buf = append(c.buf, p...)
	if !c.running { // an idle conn has no flusher: start one
		c.running = true
		c.flusher.Add(1)
		go c.flush()
	}
	return len(p), nil
}

// flush writes batches until the buffer is empty (then it ends, so an idle
// connection costs no goroutine), the conn is closed, or a write fails.
func (c *coalescedConn) flush() {
	defer c.flusher.Done()
	c.mu.Lock()
	defer c.mu.Unlock()
	defer func() { c.running = false }()
	for {
		if len(c.buf) == 0 || c.closed {
			putCoalesceBuf(c.buf) // an idle conn holds no buffer
			putCoalesceBuf(c.spare)
			c.buf, c.spare = nil, nil
			return
		}
		// Let the writer add the rest of its burst: yield while the batch
		// grows (no timer, so a lone packet is not held back).
		for i := 0; i < 4 && len(c.buf) < maxCoalesce/4; i++ {
			n := len(c.buf)
			c.mu.Unlock()
			runtime.Gosched()
			c.mu.Lock()
			if len(c.buf) == n || c.closed {
				break
			}
		}
		if c.closed {
			return
		}
		out := c.buf
		c.buf, c.spare = c.spare[:0], nil
		c.writing = true
		c.cond.Broadcast() // room for writers
		c.mu.Unlock()
		_, err := c.Conn.Write(out)
		c.mu.Lock()
		c.writing = false
		c.cond.Broadcast() // for drained
		if cap(out) <= 2*maxCoalesce {
			c.spare = out[:0]
		} else {
			c.spare = nil
		}
		if err != nil {
			c.err = err
			c.cond.Broadcast()
			return
		}
	}
}

// drained reports whether every byte written has been handed to the socket.
func (c *coalescedConn) drained() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.buf) == 0 && !c.writing
}

// Close closes the connection, dropping unsent bytes, and waits for the
// flusher. It is idempotent.
func (c *coalescedConn) Close() error {
	c.mu.Lock()
	already := c.closed
	c.closed = true
	c.cond.Broadcast()
	c.mu.Unlock()
	err := c.Conn.Close() // unblocks a write in progress
	c.flusher.Wait()
	if already {
		return nil
	}
	return err
}
