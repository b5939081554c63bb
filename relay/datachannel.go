package relay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/datachannel"
	"github.com/pion/webrtc/v4"

	"github.com/p2pcache/p2pcache/cache"
	"github.com/p2pcache/p2pcache/relay/wire"
)

// dataChannel is the session's one data channel: pre-negotiated, created by
// answer, detached once open so that the session reads it in a goroutine of
// its own (readDC) and writes it from one writer (out's run), which holds
// back above the send high watermark (waitBuffered).
type dataChannel struct {
	lowWater chan struct{} // the buffered amount fell below SendLowWater
	open     atomic.Bool
	buffered sendBuffer   // the budget held by bytes written and not yet acknowledged
	written  atomic.Int64 // bytes written to the channel

	mu      sync.Mutex // guards the following
	dc      *webrtc.DataChannel
	out     *outbox   // nil until the channel is open
	acked   int64     // bytes the peer had acknowledged at ackedAt
	ackedAt time.Time // when acked last grew, or nothing was buffered
}

func (c *dataChannel) init(budget *cache.Budget) {
	c.lowWater = make(chan struct{}, 1)
	c.buffered.budget = budget
}

// sync releases the budget held by bytes the peer has acknowledged, and
// returns for how long, as of now, the peer has acknowledged nothing while
// bytes wait for it (0 when none wait, or it is draining).
func (c *dataChannel) sync(now time.Time) (stalled time.Duration) {
	c.mu.Lock()
	dc := c.dc
	c.mu.Unlock()
	if dc == nil {
		return 0
	}
	b := dc.BufferedAmount()
	acked := c.written.Load() - int64(b) // written after b: never below the truth
	c.buffered.sync(b)
	c.mu.Lock()
	defer c.mu.Unlock()
	if b == 0 || acked > c.acked || c.ackedAt.IsZero() {
		c.acked, c.ackedAt = max(acked, c.acked), now
		return 0
	}
	return now.Sub(c.ackedAt)
}

// sctpCopies is how many copies pion's SCTP keeps of answer bytes written
// and not yet acknowledged, at worst: its stream's (the buffered amount
// counts it) and, for the packets its write loop has gathered for the wire
// and not yet written out (up to a congestion window's worth, 1 MiB or
// more, while a slow peer blocks the write), the marshalled packets. The
// soak's heap profile, busy peers behind a loaded CPU, before the sctp
// patch (third_party/PATCHES.md): 238 MB in stream fragments, 194 MB in
// marshalled DATA chunks, which upstream keeps until the chunk is acked.
// The patch drops that copy, so a peer that keeps reading now holds about
// one copy; the budget still reserves for the blocked write loop.
const sctpCopies = 2

// sendBuffer keeps, in the memory budget, the answer bytes written to the
// data channel until the peer acknowledges them, sctpCopies times over:
// SCTP holds them until then (its buffered amount), so a peer that stops
// reading holds up to twice the send high watermark of the budget, and a
// busy one what its round trip needs. Writes add (hold); sync releases what
// the buffered amount says has gone (called when the amount falls below the
// low watermark, before each write that waits, and by the keepalive);
// release gives back the rest when the session ends.
type sendBuffer struct {
	budget *cache.Budget

	mu   sync.Mutex // guards held
	held int64
}

// hold takes over the reservation of an answer of which n bytes were
// written: sctpCopies·n stay held (the sender reserved that much), the rest
// is released.
func (b *sendBuffer) hold(reserved, n int64) {
	keep := min(sctpCopies*n, reserved)
	b.budget.Release(reserved - keep)
	b.mu.Lock()
	b.held += keep
	b.mu.Unlock()
}

// sync releases what is held beyond sctpCopies times the channel's buffered
// amount. Bytes count as held once written (hold runs after the write
// returns), so what is held never falls below what is buffered of them.
func (b *sendBuffer) sync(buffered uint64) {
	b.mu.Lock()
	n := max(b.held-sctpCopies*int64(min(buffered, uint64(b.held))), 0)
	b.held -= n
	b.mu.Unlock()
	b.budget.Release(n)
}

// release gives back everything held: the peer connection is closed.
func (b *sendBuffer) release() {
	b.sync(0)
}

// outbox returns the channel's send queue, nil until it is open.
func (c *dataChannel) outbox() *outbox {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.out
}

// unsent reports whether bytes are queued for the peer, in the outbox or in
// the channel's buffer.
func (c *dataChannel) unsent() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.out != nil && (c.out.pending() > 0 || c.dc.BufferedAmount() > 0)
}

// createDataChannel creates the pre-negotiated channel on pc and refuses
// any other the peer opens.
func (s *session) createDataChannel(ctx context.Context, pc *webrtc.PeerConnection) error {
	dc, err := pc.CreateDataChannel(wire.DataChannelLabel, wire.DataChannelInit())
	if err != nil {
		return fmt.Errorf("data channel: %w", err)
	}
	dc.SetBufferedAmountLowThreshold(uint64(s.r.cfg.SendLowWater))
	dc.OnBufferedAmountLow(func() { // in a goroutine of pion's, no lock of its held
		if s.r.cfg.Budget != nil {
			b := dc.BufferedAmount()
			s.ch.buffered.sync(b)
			s.armLowWater(dc, b)
		}
		select {
		case s.ch.lowWater <- struct{}{}:
		default:
		}
	})
	dc.OnOpen(func() { s.onOpen(ctx, dc) })
	pc.OnDataChannel(func(extra *webrtc.DataChannel) {
		// One pre-negotiated channel per peer; a peer opening more is refused.
		s.r.stats.extraChannels.Add(1)
		s.log.Info("extra data channel refused", "label", extra.Label())
		go extra.Close() // not inside pion's callback
	})
	return nil
}

// onOpen runs in pion's callback: it only starts goroutines. The ctx is the
// session's (captured by answer's caller), so they end with it.
func (s *session) onOpen(ctx context.Context, dc *webrtc.DataChannel) {
	raw, err := dc.Detach()
	if err != nil {
		s.close(fmt.Errorf("detach data channel: %w", err))
		return
	}
	if !s.admit(2) {
		raw.Close()
		return
	}
	out := newOutbox(dcQueue, s.r.cfg.Budget, func(m msg) error {
		n, err := raw.WriteDataChannel(m.b, false)
		s.sent(n)
		s.ch.written.Add(int64(n))
		if s.r.cfg.Budget != nil {
			s.armLowWater(dc, dc.BufferedAmount())
		}
		return err
	})
	out.ready = func(ctx context.Context) error { return s.waitBuffered(ctx, dc) }
	out.sent, out.copies = s.ch.buffered.hold, sctpCopies
	s.ch.mu.Lock()
	s.ch.dc, s.ch.out = dc, out
	s.ch.mu.Unlock()
	s.ch.open.Store(true)
	s.r.stats.dataChannels.Add(1)
	s.log.Debug("data channel open", "after", time.Since(s.start).Round(time.Microsecond))
	go func() {
		defer s.wg.Done()
		if err := out.run(ctx); err != nil {
			s.close(fmt.Errorf("data channel write: %w", err))
		}
	}()
	go func() {
		defer s.wg.Done()
		s.readDC(ctx, raw)
	}()
	s.ping(out)
}

// syncStep is how much of the budget held for a data channel's buffered
// bytes (sctpCopies times it) may wait for its release after the peer has
// acknowledged them.
const syncStep = wire.MaxMessageSize

// armLowWater, with a budget, sets the channel's low threshold syncStep
// below its buffered amount b (but not below SendLowWater while b is above
// it): pion tells the relay each time the peer has acknowledged another
// syncStep, and the callback gives the budget back what those bytes held
// and arms the next. The writer's watermarks are unchanged: it is woken at
// SendLowWater as before, and re-checks the amount when woken earlier.
func (s *session) armLowWater(dc *webrtc.DataChannel, b uint64) {
	low := uint64(s.r.cfg.SendLowWater)
	th := b - min(b, syncStep)
	if b > low && th < low {
		th = low
	}
	dc.SetBufferedAmountLowThreshold(th)
}

// waitBuffered holds the writer while the channel's buffered amount is above
// the high watermark, until it falls below the low one. A peer that makes no
// progress draining for IdleTimeout is a slow consumer and is dropped; a
// slow one that drains is not. (Under memory pressure the keepalive drops
// it sooner: see dataChannel.sync.)
func (s *session) waitBuffered(ctx context.Context, dc *webrtc.DataChannel) error {
	if dc.BufferedAmount() <= uint64(s.r.cfg.SendHighWater) {
		return nil
	}
	s.ch.buffered.sync(dc.BufferedAmount())
	idle := s.r.cfg.IdleTimeout
	tick := time.NewTicker(min(idle/4, 250*time.Millisecond))
	defer tick.Stop()
	last, since := dc.BufferedAmount(), time.Now()
	for dc.BufferedAmount() > uint64(s.r.cfg.SendLowWater) {
		select {
		case <-s.ch.lowWater: // the callback synced the budget
		case <-ctx.Done():
			return context.Cause(ctx)
		case now := <-tick.C:
			b := dc.BufferedAmount()
			stalled := now.Sub(since)
			switch {
			case b < last:
				last, since = b, now
			case stalled >= idle:
				s.r.stats.slowConsumers.Add(1)
				return fmt.Errorf("%w: %d bytes unsent, none delivered for %v", ErrSlowConsumer, b, idle)
			}
		}
	}
	return nil
}

// readDC reads the data channel's frames until it closes.
func (s *session) readDC(ctx context.Context, raw datachannel.ReadWriteCloser) {
	buf := make([]byte, wire.MaxMessageSize)
	for {
		n, isString, err := raw.ReadDataChannel(buf)
		if err != nil {
			if !errors.Is(err, io.EOF) && ctx.Err() == nil {
				s.log.Debug("data channel read", "err", err)
			}
			s.close(fmt.Errorf("data channel closed: %w", err))
			return
		}
		s.heard()
		if isString {
			s.r.stats.badFrames.Add(1)
			continue
		}
		f, err := wire.DecodeFrame(buf[:n])
		s.handleFrame(ctx, viaDC, f, err)
	}
}

// outFor returns the outbox answering requests that came via t: the data
// channel's if it is open, else the WebSocket's.
func (s *session) outFor(t transport) *outbox {
	if t == viaDC {
		if out := s.ch.outbox(); out != nil {
			return out
		}
	}
	return s.sig.out
}
