package relay

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/p2pcache/p2pcache/relay/wire"
)

// maxFilesPerPeer bounds the file versions one peer may announce.
const maxFilesPerPeer = 4096

// uploadSource is the peer as a source of chunks for the relay: whether it
// serves, the bounds on what the relay asks of it, how fast it has been,
// the relay's pulls in flight to it, what it announced holding (HAVE) and
// its strikes for bad bytes.
type uploadSource struct {
	serves   atomic.Bool   // false once the peer declined to serve
	slots    chan struct{} // a token per pull in flight to the peer
	rate     *rate.Limiter // bytes per second asked of the peer; nil: no bound
	haves    *rate.Limiter // chunks per second the peer may announce
	inflight atomic.Int32  // pulls in flight, for the ranking
	tput     throughput    // the peer's measured upload rate
	demotion demotion      // its tries that timed out, for the ranking

	mu      sync.Mutex                           // guards the following
	pulls   map[uint32]*pull                     // by request id
	lastID  uint32                               // the last id used for a pull
	files   map[wire.Hash]map[wire.Hash]struct{} // file version → chunks the peer announced; nil once torn down
	strikes int                                  // bad chunks sent
}

func (u *uploadSource) init(cfg Config) {
	u.serves.Store(true)
	u.slots = make(chan struct{}, cfg.MaxUploads)
	if cfg.UploadRate > 0 {
		u.rate = rate.NewLimiter(rate.Limit(cfg.UploadRate), max(cfg.UploadRate, wire.MaxChunkSize))
	}
	u.haves = rate.NewLimiter(rate.Limit(cfg.HaveRate), cfg.HaveRate)
	u.pulls = make(map[uint32]*pull)
	u.files = make(map[wire.Hash]map[wire.Hash]struct{})
}

// begin registers p and returns its request id.
func (u *uploadSource) begin(p *pull) uint32 {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.lastID++
	u.pulls[u.lastID] = p
	return u.lastID
}

func (u *uploadSource) end(id uint32) {
	u.mu.Lock()
	defer u.mu.Unlock()
	delete(u.pulls, id)
}

// onAnswer routes an answer frame (CHUNK or ERROR) that came via the given
// transport to the pull waiting for it.
func (u *uploadSource) onAnswer(via transport, f *wire.Frame) {
	u.mu.Lock()
	p := u.pulls[f.ID]
	u.mu.Unlock()
	if p == nil {
		return // cancelled or finished
	}
	p.onFrame(via, f)
}

// held returns what the peer announced of file version v; ok is false when
// v is new and the peer has announced maxFilesPerPeer versions already.
func (u *uploadSource) held(v wire.Hash) (chunks map[wire.Hash]struct{}, ok bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	had, known := u.files[v]
	return had, known || len(u.files) < maxFilesPerPeer
}

// setHeld records what the peer holds of file version v now; false if the
// session was torn down meanwhile (the caller drops those entries).
func (u *uploadSource) setHeld(v wire.Hash, now map[wire.Hash]struct{}) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.files == nil {
		return false
	}
	if len(now) == 0 {
		delete(u.files, v)
	} else {
		u.files[v] = now
	}
	return true
}

// forgetHeld empties what the peer announced and returns it (teardown).
func (u *uploadSource) forgetHeld() []map[wire.Hash]struct{} {
	u.mu.Lock()
	defer u.mu.Unlock()
	held := make([]map[wire.Hash]struct{}, 0, len(u.files))
	for _, set := range u.files {
		held = append(held, set)
	}
	u.files = nil
	return held
}

// strike counts one bad chunk and returns the count.
func (u *uploadSource) strike() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.strikes++
	return u.strikes
}

// pull is one chunk the relay asked a peer for (GET_CHUNK). The session's
// reader of the transport the request went out on fills it from CHUNK
// frames; the asker waits on done. Once done, the pull takes no more
// frames: the buffer it hands on is verified and may be cached without a
// copy, so nothing may write it after.
type pull struct {
	want int       // the chunk's length per the manifest
	via  transport // where the request went: answers on the other transport are ignored

	mu       sync.Mutex // guards the following
	buf      []byte
	got      int
	finished bool

	err  error         // why it ended; set before done closes
	done chan struct{} // closed when the pull ends
}

func newPull(want int, via transport) *pull {
	return &pull{want: want, via: via, done: make(chan struct{})}
}

// finish ends the pull with err (nil: buf holds the whole chunk); later
// calls and frames change nothing.
func (p *pull) finish(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.finishLocked(err)
}

func (p *pull) finishLocked(err error) {
	if p.finished {
		return
	}
	p.finished = true
	p.err = err
	close(p.done)
}

// onFrame takes one answer frame that came via the given transport (on
// that transport's reader goroutine). Frames on another transport than the
// request's, and any frame once the pull is done, are ignored: a duplicate
// or late answer cannot touch a buffer already handed on. It checks every
// length against the manifest, so a peer cannot make the relay allocate or
// write beyond one chunk.
func (p *pull) onFrame(via transport, f *wire.Frame) {
	if via != p.via {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.finished {
		return
	}
	switch f.Type {
	case wire.TypeError:
		p.finishLocked(&wire.RemoteError{Code: f.Code, Message: f.Message})
	case wire.TypeChunk:
		if int(f.Total) != p.want {
			p.finishLocked(fmt.Errorf("%w: chunk is %d bytes, manifest says %d", wire.ErrVerify, f.Total, p.want))
			return
		}
		if p.buf == nil {
			p.buf = make([]byte, p.want)
		}
		p.got += copy(p.buf[f.Offset:], f.Data)
		switch {
		case p.got > p.want:
			p.finishLocked(fmt.Errorf("%w: %d bytes for a %d-byte chunk", wire.ErrVerify, p.got, p.want))
		case p.got == p.want:
			p.finishLocked(nil)
		}
	default:
		p.finishLocked(fmt.Errorf("%w: %s in answer to GET_CHUNK", wire.ErrBadFrame, f.Type))
	}
}

// pullChunk asks this peer for chunk i of m and returns the bytes it sent,
// unverified (the router verifies and strikes). It refuses at once, without
// asking, when the peer declined to serve, has no data channel, has its
// upload slots full or would exceed its byte rate before ctx ends.
func (s *session) pullChunk(ctx context.Context, m *wire.Manifest, i int) ([]byte, error) {
	u := &s.up
	if !u.serves.Load() {
		return nil, errPeerDeclined
	}
	out := s.ch.outbox()
	if out == nil || s.isGone() {
		return nil, errPeerGone
	}
	// All upload slots taken: wait for one within this try's time (the
	// ranking already counted the queue), rather than give up on a holder
	// that is merely busy.
	select {
	case u.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, errPeerBusy
	case <-s.gone:
		return nil, errPeerGone
	}
	defer func() { <-u.slots }()
	n := m.ChunkLen(i)
	if err := u.reserve(ctx, n); err != nil {
		return nil, err
	}
	// The chunk's buffer, from the memory budget while the pull is in
	// flight: once returned it is the cache's (bounded on its own) or garbage.
	if err := s.r.cfg.Budget.Acquire(ctx, int64(n)); err != nil {
		return nil, fmt.Errorf("%w: %w", errPeerBusy, err)
	}
	defer s.r.cfg.Budget.Release(int64(n))

	p := newPull(n, viaDC)
	id := u.begin(p)
	defer u.end(id)
	u.inflight.Add(1)
	defer u.inflight.Add(-1)
	start := time.Now()

	req, _ := controlFrame(&wire.Frame{Type: wire.TypeGetChunk, ID: id, Index: uint32(i), Hash: m.Chunks[i], Path: m.Path})
	if !out.trySend(req) {
		return nil, errPeerBusy
	}
	select {
	case <-p.done:
		if p.err == nil {
			u.tput.observe(n, time.Since(start), s.live.rtt.Get().Min)
		}
		return p.buf, p.err
	case <-ctx.Done():
		p.finish(context.Cause(ctx))
		c, _ := controlFrame(&wire.Frame{Type: wire.TypeCancel, ID: id})
		out.trySend(c)
		return nil, context.Cause(ctx)
	case <-s.gone:
		p.finish(errPeerGone)
		return nil, errPeerGone
	}
}

// reserve waits until n more bytes are within the peer's upload rate;
// errPeerBusy at once if that would take past ctx's deadline.
func (u *uploadSource) reserve(ctx context.Context, n int) error {
	if u.rate == nil {
		return nil
	}
	res := u.rate.ReserveN(time.Now(), n)
	if !res.OK() {
		return errPeerBusy
	}
	d := res.Delay()
	if d <= 0 {
		return nil
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
		res.Cancel()
		return errPeerBusy
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		res.Cancel()
		return context.Cause(ctx)
	}
}

// throughput is a smoothed estimate of a peer's upload rate, from the
// pulls it completed: bytes over the time beyond one round trip (the
// peer's recent minimum RTT: its latency without queueing, which is the
// transfer time this measures).
type throughput struct {
	mu  sync.Mutex // guards bps
	bps float64
}

func (t *throughput) observe(n int, took, rtt time.Duration) {
	d := took - rtt
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
