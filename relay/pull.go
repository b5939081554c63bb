package relay

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/p2pcache/p2pcache/relay/wire"
)

// Errors of a pull from a peer, for metrics and strikes.
var (
	errPeerGone     = errors.New("peer gone")
	errPeerBusy     = errors.New("peer busy")
	errPeerDeclined = errors.New("peer declined")
)

// pull is one chunk the relay asked a peer for (GET_CHUNK). The session's
// data-channel reader fills it from CHUNK frames; the asker waits on done.
type pull struct {
	want int // the chunk's length per the manifest
	buf  []byte
	got  int

	once sync.Once
	err  error
	done chan struct{}
}

func (p *pull) finish(err error) {
	p.once.Do(func() {
		p.err = err
		close(p.done)
	})
}

// onFrame takes one answer frame (on the reader goroutine). It checks every
// length against the manifest, so a peer cannot make the relay allocate or
// write beyond one chunk.
func (p *pull) onFrame(f *wire.Frame) {
	switch f.Type {
	case wire.TypeError:
		p.finish(&wire.RemoteError{Code: f.Code, Message: f.Message})
	case wire.TypeChunk:
		if int(f.Total) != p.want {
			p.finish(fmt.Errorf("%w: chunk is %d bytes, manifest says %d", wire.ErrVerify, f.Total, p.want))
			return
		}
		if p.buf == nil {
			p.buf = make([]byte, p.want)
		}
		p.got += copy(p.buf[f.Offset:], f.Data)
		switch {
		case p.got > p.want:
			p.finish(fmt.Errorf("%w: %d bytes for a %d-byte chunk", wire.ErrVerify, p.got, p.want))
		case p.got == p.want:
			p.finish(nil)
		}
	default:
		p.finish(fmt.Errorf("%w: %s in answer to GET_CHUNK", wire.ErrBadFrame, f.Type))
	}
}

// pullChunk asks this peer for chunk i of m and returns the bytes it sent,
// unverified (the router verifies and strikes). It refuses at once, without
// asking, when the peer declined to serve, has no data channel, has its
// upload slots full or would exceed its byte rate before ctx ends.
func (s *session) pullChunk(ctx context.Context, m *wire.Manifest, i int) ([]byte, error) {
	if !s.serves.Load() {
		return nil, errPeerDeclined
	}
	s.mu.Lock()
	out, closed := s.dcOut, s.closed
	s.mu.Unlock()
	if out == nil || closed {
		return nil, errPeerGone
	}
	// All upload slots taken: wait for one within this try's time (the
	// ranking already counted the queue), rather than give up on a holder
	// that is merely busy.
	select {
	case s.uploadSem <- struct{}{}:
	case <-ctx.Done():
		return nil, errPeerBusy
	case <-s.gone:
		return nil, errPeerGone
	}
	defer func() { <-s.uploadSem }()
	n := m.ChunkLen(i)
	if s.uploadRate != nil {
		res := s.uploadRate.ReserveN(time.Now(), n)
		if !res.OK() {
			return nil, errPeerBusy
		}
		if d := res.Delay(); d > 0 {
			if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
				res.Cancel()
				return nil, errPeerBusy
			}
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				res.Cancel()
				return nil, context.Cause(ctx)
			}
		}
	}

	p := &pull{want: n, done: make(chan struct{})}
	s.mu.Lock()
	s.pullID++
	id := s.pullID
	s.pulls[id] = p
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.pulls, id)
		s.mu.Unlock()
	}()
	s.inflight.Add(1)
	defer s.inflight.Add(-1)
	start := time.Now()

	b := getBuf()
	*b, _ = wire.AppendFrame(*b, &wire.Frame{Type: wire.TypeGetChunk, ID: id, Index: uint32(i), Hash: m.Chunks[i], Path: m.Path})
	if !out.trySend(msg{typ: wire.BinaryMessage, b: *b, pooled: b}) {
		return nil, errPeerBusy
	}
	select {
	case <-p.done:
		if p.err == nil {
			s.upload.observe(n, time.Since(start), s.rtt.Get().SRTT)
		}
		return p.buf, p.err
	case <-ctx.Done():
		c := getBuf()
		*c, _ = wire.AppendFrame(*c, &wire.Frame{Type: wire.TypeCancel, ID: id})
		out.trySend(msg{typ: wire.BinaryMessage, b: *c, pooled: c})
		return nil, context.Cause(ctx)
	case <-s.gone:
		return nil, errPeerGone
	}
}

// onAnswer routes an answer frame to the pull waiting for it.
func (s *session) onAnswer(f *wire.Frame) {
	s.mu.Lock()
	p := s.pulls[f.ID]
	s.mu.Unlock()
	if p == nil {
		return // cancelled or finished
	}
	p.onFrame(f)
}

// throughput is a smoothed estimate of a peer's upload rate, from the
// pulls it completed: bytes over the time beyond one round trip.
type throughput struct {
	mu  sync.Mutex // guards bps
	bps float64
}

func (t *throughput) observe(n int, took, srtt time.Duration) {
	d := took - srtt
	if d < 100*time.Microsecond {
		d = 100 * time.Microsecond
	}
	v := float64(n) / d.Seconds()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.bps == 0 {
		t.bps = v
	} else {
		t.bps += (v - t.bps) / 4
	}
}

// get returns bytes per second, or def when nothing was measured yet.
func (t *throughput) get(def float64) float64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.bps == 0 {
		return def
	}
	return t.bps
}
