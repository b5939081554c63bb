package portmux

import (
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Config holds a Mux's optional settings. The zero value is usable.
type Config struct {
	// PeekTimeout bounds the wait for a connection's first bytes, all of
	// them, not each read: a client that sends nothing or trickles is
	// closed when it ends. Zero means 5 s.
	PeekTimeout time.Duration
	// MaxPending bounds the connections being classified or handed over at
	// once; past it Serve waits before accepting more. Zero means 1024.
	MaxPending int
	// Logger receives the Mux's logs; nil means none.
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.PeekTimeout <= 0 {
		c.PeekTimeout = 5 * time.Second
	}
	if c.MaxPending <= 0 {
		c.MaxPending = 1024
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Outcome is what became of one accepted connection.
type Outcome int

const (
	// Handed: classified and accepted by its protocol's listener.
	Handed Outcome = iota
	// Garbage: its first bytes are none of the protocols.
	Garbage
	// Timeout: too few bytes to tell before Config.PeekTimeout.
	Timeout
	// ClosedEarly: the client closed (or the read failed) before its
	// protocol was known.
	ClosedEarly
	// Unserved: a protocol nobody listens for (HTTP on a TLS-only port).
	Unserved
	numOutcomes
)

func (o Outcome) String() string {
	return [...]string{"handed", "garbage", "timeout", "closed_early", "unserved"}[o]
}

// Mux classifies the connections of one listener by their first bytes and
// hands each to its protocol's listener. Build it with New, get the
// protocols' listeners with Listener, then run Serve; Close ends it.
type Mux struct {
	ln    net.Listener
	cfg   Config
	slots chan struct{} // one per connection being classified or handed over
	done  chan struct{} // closed by Close
	wg    sync.WaitGroup

	handed [numProtocols]atomic.Uint64 // Handed, by protocol
	others [numOutcomes]atomic.Uint64  // every other outcome

	mu      sync.Mutex // guards the following
	lns     map[Protocol]*listener
	pending map[net.Conn]struct{} // being classified
	serving bool
	closed  bool
}

const numProtocols = int(HTTP) + 1

// New returns a Mux that serves ln. The Mux owns ln: Close closes it.
func New(ln net.Listener, cfg Config) *Mux {
	cfg = cfg.withDefaults()
	return &Mux{
		ln:      ln,
		cfg:     cfg,
		slots:   make(chan struct{}, cfg.MaxPending),
		done:    make(chan struct{}),
		lns:     make(map[Protocol]*listener),
		pending: make(map[net.Conn]struct{}),
	}
}

// Addr is the shared listener's address.
func (m *Mux) Addr() net.Addr { return m.ln.Addr() }

// Listener returns the listener of p (STUN, TLS or HTTP; nil for any other
// value), made on first call. Until it exists, and once it is closed, p's
// connections are closed as Unserved. After Close it returns a closed
// listener.
func (m *Mux) Listener(p Protocol) net.Listener {
	if p != STUN && p != TLS && p != HTTP {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if l := m.lns[p]; l != nil {
		return l
	}
	l := &listener{m: m, p: p, conns: make(chan net.Conn), done: make(chan struct{})}
	if m.closed {
		l.once.Do(func() { close(l.done) })
		return l
	}
	m.lns[p] = l
	return l
}

// Serve accepts connections until Close and hands each over once its first
// bytes tell its protocol. It returns nil after Close, ErrClosed if Close
// came first, or the listener's error when it fails for good (a temporary
// failure, out of file descriptors say, is retried with a backoff).
func (m *Mux) Serve() error {
	m.mu.Lock()
	switch {
	case m.closed:
		m.mu.Unlock()
		return ErrClosed
	case m.serving:
		m.mu.Unlock()
		return ErrServing
	}
	m.serving = true
	m.wg.Add(1)
	m.mu.Unlock()
	defer m.wg.Done()
	var backoff time.Duration
	for {
		select {
		case m.slots <- struct{}{}:
		case <-m.done:
			return nil
		}
		c, err := m.ln.Accept()
		if err != nil {
			<-m.slots
			select {
			case <-m.done:
				return nil
			default:
			}
			var ne net.Error
			if errors.Is(err, net.ErrClosed) || !errors.As(err, &ne) {
				return err
			}
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			m.cfg.Logger.Warn("portmux: accept failed; retrying", "err", err, "in", backoff)
			t := time.NewTimer(backoff)
			select {
			case <-t.C:
			case <-m.done:
				t.Stop()
				return nil
			}
			continue
		}
		backoff = 0
		m.mu.Lock()
		if m.closed {
			m.mu.Unlock()
			c.Close()
			<-m.slots
			return nil
		}
		m.pending[c] = struct{}{}
		m.wg.Add(1)
		m.mu.Unlock()
		go m.handle(c)
	}
}

// handle classifies c and hands it over, or closes it.
func (m *Mux) handle(c net.Conn) {
	defer m.wg.Done()
	defer func() { <-m.slots }()
	p, n, buf, outcome := m.peek(c)
	m.mu.Lock()
	delete(m.pending, c)
	closed := m.closed
	l := m.lns[p]
	m.mu.Unlock()
	if outcome == Handed && (l == nil || closed) {
		outcome = Unserved
	}
	if outcome != Handed {
		m.others[outcome].Add(1)
		m.cfg.Logger.Debug("portmux: connection closed", "remote", c.RemoteAddr(), "outcome", outcome, "first_bytes", n)
		c.Close()
		return
	}
	select {
	case l.conns <- &conn{Conn: c, peeked: buf[:n]}:
		m.handed[p].Add(1)
	case <-l.done:
		m.others[Unserved].Add(1)
		c.Close()
	case <-m.done:
		c.Close()
	}
}

// peek reads c's first bytes until Classify decides, within PeekTimeout.
func (m *Mux) peek(c net.Conn) (p Protocol, n int, buf []byte, outcome Outcome) {
	buf = make([]byte, MaxPeek)
	if err := c.SetReadDeadline(time.Now().Add(m.cfg.PeekTimeout)); err != nil {
		return Unknown, 0, buf, ClosedEarly
	}
	for {
		p, done := Classify(buf[:n])
		if done {
			if p == Unknown {
				return p, n, buf, Garbage
			}
			if err := c.SetReadDeadline(time.Time{}); err != nil {
				return p, n, buf, ClosedEarly
			}
			return p, n, buf, Handed
		}
		k, err := c.Read(buf[n:])
		n += k
		if err != nil {
			if p, done := Classify(buf[:n]); done {
				if p == Unknown {
					return p, n, buf, Garbage
				}
				// Decided by the last bytes: the error is the protocol's
				// to see on its next read.
				c.SetReadDeadline(time.Time{})
				return p, n, buf, Handed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return Unknown, n, buf, Timeout
			}
			return Unknown, n, buf, ClosedEarly
		}
	}
}

// Close closes the shared listener, the protocols' listeners and the
// connections not yet handed over, and waits for Serve and the Mux's
// goroutines to end. Connections already handed over are their acceptors'.
// It is idempotent; later calls wait too.
func (m *Mux) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		m.wg.Wait()
		return nil
	}
	m.closed = true
	close(m.done)
	for c := range m.pending {
		c.Close()
	}
	lns := make([]*listener, 0, len(m.lns))
	for _, l := range m.lns {
		lns = append(lns, l)
	}
	m.mu.Unlock()
	err := m.ln.Close()
	for _, l := range lns {
		l.Close()
	}
	m.wg.Wait()
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}
