package relay

import (
	"context"
	"sync"

	"github.com/p2pcache/p2pcache/relay/wire"
)

// bufPool recycles frame buffers of MaxMessageSize capacity. pion's SCTP
// stream copies what it is given, so a buffer is reusable as soon as the
// write returns.
var bufPool = sync.Pool{New: func() any {
	b := make([]byte, 0, wire.MaxMessageSize)
	return &b
}}

func getBuf() *[]byte { return bufPool.Get().(*[]byte) }

// msg is one outgoing message.
type msg struct {
	typ    int     // TextMessage or BinaryMessage; the data channel sends binary
	b      []byte  // the bytes
	pooled *[]byte // returned to bufPool after the write, if set
}

func (m msg) release() {
	if m.pooled != nil {
		*m.pooled = (*m.pooled)[:0]
		bufPool.Put(m.pooled)
	}
}

// outbox is one transport's bounded send queue, drained by one writer
// goroutine (run) so that the transport has a single writer. Control frames
// (PONG, ERROR, signaling) go ahead of answers. The policy when full:
//   - control: trySend does not wait; the caller decides (drop a PONG and
//     count it, or drop the peer);
//   - answers: send waits, so a slow peer holds back only its own request
//     handlers, which are bounded by Config.MaxRequests.
type outbox struct {
	ctrl  chan msg
	data  chan msg
	write func(msg) error
	// ready, if set, runs before each write and may wait (flow control).
	ready func(context.Context) error
}

func newOutbox(ctrl, data int, write func(msg) error, ready func(context.Context) error) *outbox {
	return &outbox{ctrl: make(chan msg, ctrl), data: make(chan msg, data), write: write, ready: ready}
}

// pending counts the messages queued and not yet taken by the writer.
func (o *outbox) pending() int { return len(o.ctrl) + len(o.data) }

// trySend queues a control message without waiting; false if the queue is full.
func (o *outbox) trySend(m msg) bool {
	select {
	case o.ctrl <- m:
		return true
	default:
		m.release()
		return false
	}
}

// send queues an answer, waiting while the queue is full until ctx ends.
func (o *outbox) send(ctx context.Context, m msg) error {
	select {
	case o.data <- m:
		return nil
	case <-ctx.Done():
		m.release()
		return context.Cause(ctx)
	}
}

// run writes queued messages until ctx ends or a write fails.
func (o *outbox) run(ctx context.Context) error {
	for {
		var m msg
		select {
		case m = <-o.ctrl:
		default:
			select {
			case m = <-o.ctrl:
			case m = <-o.data:
			case <-ctx.Done():
				return context.Cause(ctx)
			}
		}
		if o.ready != nil {
			if err := o.ready(ctx); err != nil {
				m.release()
				return err
			}
		}
		err := o.write(m)
		m.release()
		if err != nil {
			return err
		}
	}
}
