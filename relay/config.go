package relay

import (
	"cmp"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/p2pcache/p2pcache/cache"
	"github.com/p2pcache/p2pcache/relay/wire"
)

// DefaultPeerMemory is Config.PeerMemory's default: what one connected peer
// costs beyond the answers the budget holds for it, rounded up. Measured in
// the soak (soak_test.go): 270 KiB of RSS an idle peer (its WebRTC stack,
// goroutine stacks, the data channel's 64 KiB read buffer), to which a busy
// one adds up to ~200 KiB unbudgeted (its ICE-TCP write batch, pion's
// per-fragment bookkeeping).
const DefaultPeerMemory = 512 << 10

// Config holds a Relay's optional settings. The zero value is usable.
type Config struct {
	// PublicIPs are advertised in the relay's candidates instead of the ICE
	// listener's own IP (for a relay behind 1:1 NAT); empty means the
	// listener's IP, or every interface's when it listens on all.
	PublicIPs []string
	// Logger receives the relay's logs; nil means none.
	Logger *slog.Logger
	// MaxRequests bounds one peer's requests in flight; more are answered
	// ERROR busy. Zero means 32.
	MaxRequests int
	// RequestRate bounds one peer's requests per second (burst: one second's
	// worth); more are answered ERROR busy and counted. Zero means 2000.
	RequestRate int
	// SendHighWater and SendLowWater are the data channel's bufferedAmount
	// watermarks: sending pauses above high and resumes below low. Zero means
	// 2 MiB and 512 KiB: 2 MiB in flight is 40 MB/s at 50 ms RTT.
	SendHighWater, SendLowWater int
	// SignalQueue is a peer's WebSocket send queue, in messages; a peer whose
	// queue overflows is dropped as a slow consumer. Zero means 256.
	SignalQueue int
	// HandshakeTimeout bounds answering an offer (SDP, candidate gathering).
	// Zero means 5 s.
	HandshakeTimeout time.Duration
	// PingInterval is how often the relay pings each peer to measure its
	// RTT. Zero means 1 s.
	PingInterval time.Duration
	// IdleTimeout drops a peer heard nothing from for this long. Zero means 30 s.
	IdleTimeout time.Duration
	// WriteTimeout bounds one WebSocket write. Zero means 10 s.
	WriteTimeout time.Duration
	// ICEDisconnectedTimeout, ICEFailedTimeout and ICEKeepalive tune ICE
	// consent checks; zero means 5 s, 30 s and 2 s. On ICE-TCP the checks
	// queue behind the data in flight on the same TCP stream, so a slow
	// downstream delays them by seconds: short timeouts would drop busy,
	// healthy peers (30 s matches browsers' consent freshness). A peer whose
	// WebSocket closes is dropped at once whatever these say.
	ICEDisconnectedTimeout, ICEFailedTimeout, ICEKeepalive time.Duration

	// DisablePeerFetch stops filling cache misses from peers that hold the
	// chunk; the zero value fills from peers.
	DisablePeerFetch bool
	// PeerTimeoutMin is the least time one try at a peer gets; the try's
	// timeout otherwise follows the peer's RTT. Zero means 200 ms.
	PeerTimeoutMin time.Duration
	// BanStrikes is how many bad chunks get a peer dropped and banned. Zero
	// means 3.
	BanStrikes int
	// BanDuration is how long a banned identity is refused. Zero means 10 min.
	BanDuration time.Duration
	// MaxUploads bounds the relay's requests in flight to one peer. Zero
	// means 8.
	MaxUploads int
	// UploadRate bounds the bytes per second the relay asks of one peer.
	// Zero means no bound.
	UploadRate int
	// MaxHolderEntries bounds the (chunk, peer) pairs learnt from HAVE
	// frames. Zero means 1 << 20 (~100 MB of index at most).
	MaxHolderEntries int
	// MaxHolderEntriesPerPeer bounds the pairs one peer may hold in the
	// index, so that one peer cannot fill it and leave the others'
	// announcements unindexed. Zero means MaxHolderEntries/16 (64 Ki pairs
	// by default: 4 GiB of 64 KiB chunks); at most MaxHolderEntries.
	MaxHolderEntriesPerPeer int
	// HaveRate bounds the chunks one peer may announce per second, counted
	// over its HAVE frames (each costs its chunk count, at most one
	// second's worth); past it HAVEs are dropped and counted. Zero means
	// 16384 (1 GiB of 64 KiB chunks a second).
	HaveRate int

	// Budget, if set, is the process-wide memory budget the relay reserves
	// from, the same one the cache's manifest builds use (cache.Config.Budget):
	// each peer's allowance (PeerMemory) for its life, from admission (Admit,
	// Accept) to the end of its teardown; every answer queued for a peer
	// until the peer has acknowledged its bytes (the data channel's buffered
	// amount) or it is dropped; every chunk pulled from a peer while it is
	// in flight. Answers wait for their bytes (backpressure); a peer whose
	// allowance is not free is refused with ErrOverloaded. Nil means
	// unbounded.
	Budget *cache.Budget
	// PressureTimeout: with a Budget that others are waiting for, a peer
	// whose data channel has drained nothing for this long is dropped as a
	// slow consumer (without waiters, IdleTimeout applies), so that peers
	// that stopped reading give their memory to those that read. Zero means
	// 5 s.
	PressureTimeout time.Duration
	// PeerMemory is a peer's allowance: what a connected peer costs beyond
	// the answers queued for it (its WebRTC stack's state and buffers, its
	// goroutines, its control queues), reserved from Budget for the peer's
	// life. Zero means DefaultPeerMemory; at most Budget's Max.
	PeerMemory int64

	// noWriteCoalescing writes each ICE-TCP packet with its own syscall, as
	// pion does; the zero value batches the packets queued behind a write in
	// progress into the next one (see coalesce.go). For the A/B benchmark
	// (export_test.go).
	noWriteCoalescing bool
}

// Validate reports the first out-of-range field.
func (c Config) Validate() error {
	for _, ip := range c.PublicIPs {
		if net.ParseIP(ip) == nil {
			return fmt.Errorf("%w: public IP %q is not an IP address", ErrBadConfig, ip)
		}
	}
	switch {
	case c.MaxRequests < 0 || c.RequestRate < 0:
		return fmt.Errorf("%w: negative MaxRequests or RequestRate", ErrBadConfig)
	case c.SendHighWater < 0 || c.SendLowWater < 0:
		return fmt.Errorf("%w: negative send watermark", ErrBadConfig)
	case c.SendHighWater != 0 && c.SendLowWater > c.SendHighWater:
		return fmt.Errorf("%w: SendLowWater %d above SendHighWater %d", ErrBadConfig, c.SendLowWater, c.SendHighWater)
	case c.PeerTimeoutMin < 0 || c.BanDuration < 0:
		return fmt.Errorf("%w: negative peer timeout or ban duration", ErrBadConfig)
	case c.BanStrikes < 0 || c.MaxUploads < 0 || c.UploadRate < 0 || c.MaxHolderEntries < 0:
		return fmt.Errorf("%w: negative BanStrikes, MaxUploads, UploadRate or MaxHolderEntries", ErrBadConfig)
	case c.MaxHolderEntriesPerPeer < 0 || c.HaveRate < 0:
		return fmt.Errorf("%w: negative MaxHolderEntriesPerPeer or HaveRate", ErrBadConfig)
	case c.MaxHolderEntries != 0 && c.MaxHolderEntriesPerPeer > c.MaxHolderEntries:
		return fmt.Errorf("%w: MaxHolderEntriesPerPeer %d above MaxHolderEntries %d", ErrBadConfig, c.MaxHolderEntriesPerPeer, c.MaxHolderEntries)
	case c.PeerMemory < 0:
		return fmt.Errorf("%w: negative PeerMemory", ErrBadConfig)
	case c.Budget != nil && cmp.Or(c.PeerMemory, DefaultPeerMemory)+wire.MaxMessageSize > c.Budget.Max():
		return fmt.Errorf("%w: a memory budget of %d bytes holds not even one peer (PeerMemory %d) and one frame", ErrBadConfig, c.Budget.Max(), cmp.Or(c.PeerMemory, DefaultPeerMemory))
	case c.SignalQueue < 0:
		return fmt.Errorf("%w: negative SignalQueue", ErrBadConfig)
	case c.HandshakeTimeout < 0 || c.PingInterval < 0 || c.IdleTimeout < 0 || c.WriteTimeout < 0 || c.PressureTimeout < 0 ||
		c.ICEDisconnectedTimeout < 0 || c.ICEFailedTimeout < 0 || c.ICEKeepalive < 0:
		return fmt.Errorf("%w: negative duration", ErrBadConfig)
	}
	return nil
}

func (c Config) withDefaults() Config {
	def := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.MaxRequests == 0 {
		c.MaxRequests = 32
	}
	if c.RequestRate == 0 {
		c.RequestRate = 2000
	}
	if c.SendHighWater == 0 {
		c.SendHighWater = 2 << 20
	}
	if c.SendLowWater == 0 {
		c.SendLowWater = min(512<<10, c.SendHighWater)
	}
	if c.SignalQueue == 0 {
		c.SignalQueue = 256
	}
	def(&c.HandshakeTimeout, 5*time.Second)
	def(&c.PingInterval, time.Second)
	def(&c.IdleTimeout, 30*time.Second)
	def(&c.PressureTimeout, 5*time.Second)
	def(&c.WriteTimeout, 10*time.Second)
	def(&c.ICEDisconnectedTimeout, 5*time.Second)
	def(&c.ICEFailedTimeout, 30*time.Second)
	def(&c.ICEKeepalive, 2*time.Second)
	def(&c.PeerTimeoutMin, 200*time.Millisecond)
	def(&c.BanDuration, 10*time.Minute)
	if c.BanStrikes == 0 {
		c.BanStrikes = 3
	}
	if c.MaxUploads == 0 {
		c.MaxUploads = 8
	}
	if c.MaxHolderEntries == 0 {
		c.MaxHolderEntries = 1 << 20
	}
	if c.MaxHolderEntriesPerPeer == 0 {
		c.MaxHolderEntriesPerPeer = max(1, c.MaxHolderEntries/16)
	}
	if c.HaveRate == 0 {
		c.HaveRate = 16384
	}
	if c.PeerMemory == 0 {
		c.PeerMemory = DefaultPeerMemory
	}
	return c
}
