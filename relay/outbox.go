package relay

import (
	"context"
	"sync"

	"github.com/p2pcache/p2pcache/cache"
	"github.com/p2pcache/p2pcache/relay/wire"
)

// bufPool recycles frame buffers of MaxMessageSize capacity for answers
// (CHUNK and MANIFEST fragments). pion's SCTP stream copies what it is
// given, so a buffer is reusable as soon as the write returns. Control
// frames never take one: a PONG is 16 bytes, and holds 16 bytes.
var bufPool = sync.Pool{New: func() any {
	b := make([]byte, 0, wire.MaxMessageSize)
	return &b
}}

func getBuf() *[]byte { return bufPool.Get().(*[]byte) }

// controlFrame encodes a control frame (PING, PONG, ERROR, GET_CHUNK,
// CANCEL) in a buffer of its own size.
func controlFrame(f *wire.Frame) (msg, error) {
	b, err := wire.AppendFrame(nil, f)
	return msg{typ: wire.BinaryMessage, b: b}, err
}

// msg is one outgoing message.
type msg struct {
	typ    int     // TextMessage or BinaryMessage; the data channel sends binary
	b      []byte  // the bytes
	pooled *[]byte // returned to bufPool after the write, if set
	// reserved is what the message holds of the memory budget (answers
	// only): released when it is dropped, or handed to the data channel's
	// send buffer accounting when it is written there.
	reserved int64
	// written, if set, is closed once the message is written or dropped.
	written chan struct{}
}

// size is the memory the queued message holds: its buffer's capacity.
func (m *msg) size() int64 { return int64(cap(m.b)) }

// recycle returns the message's buffer to the pool and tells whoever
// waits that it is gone.
func (m *msg) recycle() {
	if m.pooled != nil {
		*m.pooled = (*m.pooled)[:0]
		bufPool.Put(m.pooled)
		m.pooled = nil
	}
	if m.written != nil {
		close(m.written)
		m.written = nil
	}
}

// queueLimits bound one transport's outbox in bytes (and control frames in
// number too). Control frames are never waited for: over their bound they
// are refused and the caller decides (drop a PONG and count it, or drop
// the peer). Answers wait for room.
type queueLimits struct {
	ctrlMsgs  int   // control frames queued at most
	ctrlBytes int64 // their bytes at most
	dataBytes int64 // answer bytes queued at most (one answer always fits)
}

// Queue bounds. Control frames come out of the peer's admission allowance
// (Config.PeerMemory), answers out of the shared budget as well.
var (
	// dcQueue: the data channel's. Four answer frames keep its writer busy
	// while the request goroutines make the next ones.
	dcQueue = queueLimits{ctrlMsgs: 256, ctrlBytes: 16 << 10, dataBytes: 4 * wire.MaxMessageSize}
	// wsQueue: the WebSocket's (signaling, and the rung). An SDP answer is
	// up to wire.MaxSDPLen; ctrlMsgs is Config.SignalQueue.
	wsQueue = queueLimits{ctrlBytes: 2 * wire.MaxSignalSize, dataBytes: 16 * wire.MaxMessageSize}
)

// outbox is one transport's bounded send queue, drained by one writer
// goroutine (run) so that the transport has a single writer. Control frames
// (PONG, ERROR, signaling) go ahead of answers. The policy when full:
//   - control: trySend does not wait; the caller decides (drop a PONG and
//     count it, or drop the peer);
//   - answers: send waits for room in this peer's queue, then for the bytes
//     from the memory budget, so a slow peer holds back only its own request
//     handlers (bounded by Config.MaxRequests) and a full budget holds back
//     new answers everywhere, never control frames.
//
// Every queued answer's bytes are reserved from the budget until they are
// written (then handed to sent, if set) or dropped; close drops what is
// left, so a session that ends holds nothing.
type outbox struct {
	write  func(msg) error
	ready  func(context.Context) error // if set, runs before each write and may wait (flow control)
	sent   func(reserved, n int64)     // if set, takes over the reservation of an answer written (n bytes)
	copies int64                       // with sent: an answer reserves this many times its length, for the copies its transport keeps
	budget *cache.Budget
	lim    queueLimits

	wake chan struct{} // the writer has something to do

	mu                   sync.Mutex // guards the following
	ctrl, data           []msg
	ctrlBytes, dataBytes int64 // dataBytes counts the room reserved by senders too
	room                 chan struct{}
	closed               bool
}

func newOutbox(lim queueLimits, budget *cache.Budget, write func(msg) error) *outbox {
	return &outbox{write: write, budget: budget, lim: lim, wake: make(chan struct{}, 1), room: make(chan struct{})}
}

// pending counts the messages queued and not yet taken by the writer.
func (o *outbox) pending() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.ctrl) + len(o.data)
}

func (o *outbox) signal() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// trySend queues a control message without waiting; false if its queue is
// full or the outbox closed (the message is dropped).
func (o *outbox) trySend(m msg) bool {
	n := m.size()
	o.mu.Lock()
	if o.closed || len(o.ctrl) >= o.lim.ctrlMsgs || o.ctrlBytes+n > o.lim.ctrlBytes {
		o.mu.Unlock()
		o.drop(&m)
		return false
	}
	o.ctrl = append(o.ctrl, m)
	o.ctrlBytes += n
	o.mu.Unlock()
	o.signal()
	return true
}

// send queues an answer frame of n bytes (at most wire.MaxMessageSize),
// waiting until this peer's queue has room for it and the budget has its
// bytes, or until ctx ends (the error wraps cache.ErrMemoryBudget when the
// budget could not give them). Only then is the frame built, by build
// appending it to an empty pooled buffer: a request waiting for room holds
// no buffer.
func (o *outbox) send(ctx context.Context, n int, build func([]byte) []byte) error {
	const room = wire.MaxMessageSize // the pooled buffer it will take
	for {
		o.mu.Lock()
		if o.closed {
			o.mu.Unlock()
			return errQueueClosed
		}
		if o.dataBytes == 0 || o.dataBytes+room <= o.lim.dataBytes {
			o.dataBytes += room // the room is this sender's from now on
			o.mu.Unlock()
			break
		}
		wait := o.room
		o.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
	r := max(room, o.copies*int64(n))
	if err := o.budget.Acquire(ctx, r); err != nil {
		o.freeRoom(room)
		return err
	}
	b := getBuf()
	*b = build((*b)[:0])
	m := msg{typ: wire.BinaryMessage, b: *b, pooled: b, reserved: r}
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		o.drop(&m)
		return errQueueClosed
	}
	o.data = append(o.data, m)
	o.mu.Unlock()
	o.signal()
	return nil
}

// freeRoom gives back n bytes of the answer queue and wakes the senders
// waiting for room.
func (o *outbox) freeRoom(n int64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.dataBytes -= n
	if !o.closed { // close closed room for good
		close(o.room)
		o.room = make(chan struct{})
	}
}

// drop releases what an unsent message holds.
func (o *outbox) drop(m *msg) {
	o.budget.Release(m.reserved)
	m.reserved = 0
	m.recycle()
}

// next takes the next message to write, control first; false once ctx ends.
func (o *outbox) next(ctx context.Context) (msg, bool) {
	for {
		o.mu.Lock()
		switch {
		case len(o.ctrl) > 0:
			m := o.ctrl[0]
			o.ctrl[0] = msg{}
			o.ctrl = o.ctrl[1:]
			o.ctrlBytes -= m.size()
			o.mu.Unlock()
			return m, true
		case len(o.data) > 0:
			m := o.data[0]
			o.data[0] = msg{}
			o.data = o.data[1:]
			o.mu.Unlock()
			o.freeRoom(wire.MaxMessageSize)
			return m, true
		}
		o.mu.Unlock()
		select {
		case <-o.wake:
		case <-ctx.Done():
			return msg{}, false
		}
	}
}

// run writes queued messages until ctx ends or a write fails; it then
// closes the outbox.
func (o *outbox) run(ctx context.Context) error {
	defer o.close()
	for {
		m, ok := o.next(ctx)
		if !ok {
			return context.Cause(ctx)
		}
		if o.ready != nil {
			if err := o.ready(ctx); err != nil {
				o.drop(&m)
				return err
			}
		}
		err := o.write(m)
		if err == nil && o.sent != nil && m.reserved != 0 {
			o.sent(m.reserved, int64(len(m.b)))
			m.reserved = 0
		}
		o.drop(&m)
		if err != nil {
			return err
		}
	}
}

// close drops everything queued and refuses what comes after; senders
// waiting for room give up.
func (o *outbox) close() {
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return
	}
	o.closed = true
	left := append(o.ctrl, o.data...)
	o.ctrl, o.data = nil, nil
	close(o.room)
	o.mu.Unlock()
	for i := range left {
		o.drop(&left[i])
	}
}
