package mesh

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
)

// calls multiplexes the answers to this relay's requests: one wildcard
// subscription on <inbox>.*, each request its own last token, as nats.go's
// own request/reply does; but an answer here is a stream (ACK, WORKING,
// PARTs, then the final message), which nats.Conn.Request cannot take.
type calls struct {
	mu  sync.Mutex
	seq uint64
	m   map[string]*call
}

// call is one request's answer as it arrives.
type call struct {
	limit    int           // most answer bytes accepted
	progress chan struct{} // cap 1: a message arrived
	done     chan struct{} // closed at the final message, or a bad one

	mu       sync.Mutex
	first    time.Time // when the first message arrived
	buf      []byte
	kind     replyKind // the final message's
	err      error     // a bad message, or no responders
	finished bool
}

func (cs *calls) add(limit int) (string, *call) {
	c := &call{limit: limit, progress: make(chan struct{}, 1), done: make(chan struct{})}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.m == nil {
		cs.m = make(map[string]*call)
	}
	cs.seq++
	tok := strconv.FormatUint(cs.seq, 36)
	cs.m[tok] = c
	return tok, c
}

func (cs *calls) remove(tok string) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	delete(cs.m, tok)
}

func (cs *calls) get(tok string) *call {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return cs.m[tok]
}

// NATS's "no responders" status, sent to the reply subject of a request
// no subscription matched (nats.go: statusHdr, noResponders).
const (
	statusHeader       = "Status"
	statusNoResponders = "503"
)

// deliver takes one message of the answer, received at now.
func (c *call) deliver(msg *nats.Msg, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.finished {
		return
	}
	if c.first.IsZero() {
		c.first = now
	}
	if len(msg.Data) == 0 && msg.Header.Get(statusHeader) == statusNoResponders {
		c.finish(0, ErrUnreachable)
		return
	}
	k, body, err := decodeReply(msg.Data)
	if err != nil {
		c.finish(0, err)
		return
	}
	switch k {
	case replyAck, replyWorking:
	case replyPart, replyData:
		if len(c.buf)+len(body) > c.limit {
			c.finish(0, fmt.Errorf("%w: answer over %d bytes", ErrBadMessage, c.limit))
			return
		}
		if c.buf == nil && k == replyData {
			c.buf = body // nats.go gives each message its own Data
		} else {
			c.buf = append(c.buf, body...)
		}
		if k == replyData {
			c.finish(k, nil)
			return
		}
	default: // MISS, NOTFOUND, ERROR: the body is a reason
		c.buf = body
		c.finish(k, nil)
		return
	}
	select {
	case c.progress <- struct{}{}:
	default:
	}
}

func (c *call) finish(k replyKind, err error) {
	c.kind, c.err, c.finished = k, err, true
	close(c.done)
}

// onReply is the inbox subscription's handler.
func (m *Mesh) onReply(msg *nats.Msg) {
	tok, ok := strings.CutPrefix(msg.Subject, m.inbox+".")
	if !ok {
		return
	}
	if c := m.calls.get(tok); c != nil {
		c.deliver(msg, time.Now())
	}
}

// answer is an owner's final answer to a request.
type answer struct {
	kind replyKind
	body []byte
	took time.Duration // from the request to the final message
}

// ask sends req to relay id's subject for kind and waits for the final
// answer, accepting at most limit bytes. It waits Remotes' timeout for a
// first message, then (the owner acknowledged and works) 2 heartbeats
// plus that timeout between messages. It fails at once with
// ErrUnreachable when NATS is or goes down, or no one is on the subject;
// with ErrTimeout when the owner is silent; with ErrBadMessage for an
// answer that does not decode or is too long; with ctx's error; and
// with ErrClosed when the mesh closes.
func (m *Mesh) ask(ctx context.Context, id, kind string, req *request, limit int) (answer, error) {
	down := m.downSignal()
	if down == nil {
		return answer{}, ErrUnreachable
	}
	tok, c := m.calls.add(limit)
	defer m.calls.remove(tok)
	start := time.Now()
	err := m.nc.PublishMsg(&nats.Msg{Subject: relaySubject(m.cfg.Namespace, id, kind), Reply: m.inbox + "." + tok, Data: req.encode()})
	if err != nil {
		return answer{}, fmt.Errorf("%w: %w", errLostNATS, err)
	}
	first := m.remotes.timeout(id)
	idle := 2*m.cfg.Heartbeat + first
	t := time.NewTimer(first)
	defer t.Stop()
	sampled := false
	sample := func() {
		if sampled {
			return
		}
		sampled = true
		c.mu.Lock()
		at := c.first
		c.mu.Unlock()
		if !at.IsZero() {
			m.remotes.rtt(id, at.Sub(start))
		}
	}
	for {
		select {
		case <-c.done:
			c.mu.Lock()
			a, err := answer{kind: c.kind, body: c.buf, took: time.Since(start)}, c.err
			c.mu.Unlock()
			if !errors.Is(err, ErrUnreachable) {
				sample()
			}
			return a, err
		case <-c.progress:
			sample()
			t.Reset(idle)
		case <-t.C:
			if sampled {
				return answer{}, fmt.Errorf("%w: silent for %v after answering", ErrTimeout, idle)
			}
			return answer{}, fmt.Errorf("%w: no answer in %v", ErrTimeout, first)
		case <-down:
			return answer{}, errLostNATS
		case <-ctx.Done():
			return answer{}, ctx.Err()
		case <-m.closing:
			return answer{}, ErrClosed
		}
	}
}
