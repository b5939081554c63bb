package mesh

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

// NATS client settings. Reconnection never stops (MaxReconnects -1), so a
// relay rejoins by itself when NATS comes back; nothing is buffered while
// disconnected, so nothing stale is sent late; a server that died without
// closing the connection is noticed after two missed pings.
const (
	reconnectWait    = 250 * time.Millisecond
	natsPingInterval = 5 * time.Second
	natsMaxPingsOut  = 2
	leaveFlush       = time.Second
)

// Mesh is this relay's membership in a cluster of relays on NATS, and the
// cluster cache tier (cache.Tier) over it. New joins; Close leaves. It is
// safe for concurrent use. See the package comment for the design.
type Mesh struct {
	cfg      Config
	cache    Cache
	instance string
	started  time.Time

	emb   *Embedded // nil with NATSURLs
	nc    *nats.Conn
	inbox string
	subs  []*nats.Subscription

	members *members
	remotes *remotes
	calls   calls
	beats   beats
	served  servedCounters
	faults  atomic.Pointer[faults]

	ctx     context.Context // ends at Close: the work for other relays
	cancel  context.CancelFunc
	closing chan struct{} // closed at Close
	done    chan struct{} // closed when run returns
	kick    chan struct{} // cap 1: announce now
	once    sync.Once

	mu      sync.Mutex // guards the following
	closed  bool
	serving int
	wg      sync.WaitGroup // work for other relays

	connMu      sync.Mutex    // guards the following
	down        chan struct{} // nil while disconnected; closed when the connection is lost
	joinPending bool          // the next announcement is a join
	connects    uint64
	disconnects uint64
}

// New joins the cluster: it starts the embedded NATS server if configured
// (waiting, until ctx ends, for its listeners), connects, subscribes, and
// announces this relay. NATS need not be reachable yet: the relay then
// serves alone and joins when it is. c serves other relays' requests; to
// have the cache ask the cluster, install the mesh with c.SetTier(m), and
// remove it (c.SetTier(nil)) before Close.
func New(ctx context.Context, cfg Config, c Cache) (*Mesh, error) {
	if c == nil {
		return nil, fmt.Errorf("%w: nil cache", ErrBadConfig)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	var inst [8]byte
	rand.Read(inst[:])
	m := &Mesh{
		cfg: cfg, cache: c, instance: hex.EncodeToString(inst[:]), started: time.Now().UTC(),
		remotes: newRemotes(cfg),
		closing: make(chan struct{}), done: make(chan struct{}), kick: make(chan struct{}, 1),
	}
	m.members = newMembers(cfg.ID, m.instance, cfg.Expiry)
	m.ctx, m.cancel = context.WithCancel(context.Background())

	urls := strings.Join(cfg.NATSURLs, ",")
	opts := []nats.Option{
		nats.Name("p2pcache relay " + cfg.ID),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(reconnectWait),
		nats.RetryOnFailedConnect(true),
		nats.ReconnectBufSize(-1),
		nats.PingInterval(natsPingInterval),
		nats.MaxPingsOutstanding(natsMaxPingsOut),
		nats.NoEcho(),
		nats.NoCallbacksAfterClientClose(),
		nats.ConnectHandler(func(*nats.Conn) { m.setConnected(true) }),
		nats.ReconnectHandler(func(*nats.Conn) { m.setConnected(true) }),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			m.cfg.Logger.Warn("NATS connection lost; serving alone until it is back", "err", err)
			m.setConnected(false)
		}),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			m.cfg.Logger.Warn("NATS error", "err", err)
		}),
	}
	if cfg.Embedded != nil {
		ec := *cfg.Embedded
		if ec.ServerName == "" {
			ec.ServerName = "p2pcache-" + cfg.ID
		}
		if ec.Logger == nil {
			ec.Logger = cfg.Logger.With("component", "nats-server")
		}
		e, err := StartEmbedded(ctx, ec)
		if err != nil {
			return nil, err
		}
		m.emb = e
		opts = append(opts, nats.InProcessServer(e.Server()))
	}
	opts = append(opts, cfg.NATSOptions...)
	nc, err := nats.Connect(urls, opts...)
	if err != nil {
		m.closeEmbedded()
		return nil, fmt.Errorf("%w: connect: %w", ErrNATS, err)
	}
	m.nc = nc
	m.inbox = nc.NewInbox()
	for _, s := range []struct {
		subject string
		fn      nats.MsgHandler
	}{
		{m.inbox + ".*", m.onReply},
		{membersSubject(cfg.Namespace), m.onAnnouncement},
		{relayWildcard(cfg.Namespace, cfg.ID), m.onRequest},
	} {
		sub, err := nc.Subscribe(s.subject, s.fn)
		if err != nil {
			nc.Close()
			m.closeEmbedded()
			return nil, fmt.Errorf("%w: subscribe %s: %w", ErrNATS, s.subject, err)
		}
		m.subs = append(m.subs, sub)
	}
	if nc.IsConnected() {
		m.setConnected(true) // the connect handler may have run before the subscriptions: announce after them
	}
	go m.run()
	return m, nil
}

// Close leaves the cluster: this relay announces it is leaving (so the
// others stop asking it), answers MISS to the requests already on their
// way for Config.TimeoutMin (so they go elsewhere at once rather than time
// out), stops listening, waits for the work for other relays in flight
// (their contexts are cancelled), disconnects, and shuts the embedded
// server down. It is idempotent and blocking.
func (m *Mesh) Close() error {
	m.once.Do(func() {
		close(m.closing)
		<-m.done
		m.mu.Lock()
		m.closed = true
		m.mu.Unlock()
		if m.nc.IsConnected() {
			m.announce(stateLeave)
			m.nc.FlushTimeout(leaveFlush)
			time.Sleep(m.cfg.TimeoutMin)
		}
		for _, s := range slices.Backward(m.subs) {
			s.Unsubscribe()
		}
		m.cancel()
		m.wg.Wait()
		m.nc.Close()
		m.closeEmbedded()
	})
	return nil
}

func (m *Mesh) closeEmbedded() {
	if m.emb != nil {
		m.emb.Close()
	}
}

// run announces this relay every AnnounceInterval (and at once when asked
// by a join), expires silent members, and sends heartbeats, until Close.
func (m *Mesh) run() {
	defer close(m.done)
	announce := time.NewTicker(m.cfg.AnnounceInterval)
	defer announce.Stop()
	tick := time.NewTicker(min(m.cfg.Heartbeat, m.cfg.AnnounceInterval/4))
	defer tick.Stop()
	for {
		select {
		case <-m.closing:
			return
		case <-m.kick:
			m.announceNow()
		case <-announce.C:
			m.announceNow()
		case now := <-tick.C:
			if m.members.expire(now) {
				m.remotes.prune(m.members.live(), now)
			}
			m.heartbeat()
		}
	}
}

// announceNow announces this relay: a join if it (re)connected since the
// last announcement, else "up".
func (m *Mesh) announceNow() {
	m.connMu.Lock()
	state := stateUp
	if m.joinPending {
		state, m.joinPending = stateJoin, false
	}
	m.connMu.Unlock()
	m.announce(state)
}

func (m *Mesh) announce(state string) {
	if f := m.faults.Load(); f != nil && f.mute {
		return
	}
	l := m.cfg.Load()
	a := announcement{
		V: Version, ID: m.cfg.ID, Instance: m.instance, State: state,
		URL: m.cfg.PublicURL, Region: m.cfg.Region,
		Peers: max(l.Peers, 0), Egress: l.Egress, Started: m.started,
	}
	if err := m.nc.Publish(membersSubject(m.cfg.Namespace), a.encode()); err != nil && !errors.Is(err, nats.ErrReconnectBufExceeded) {
		m.cfg.Logger.Debug("announcement not sent", "err", err)
	}
}

// onAnnouncement is the members subject's handler.
func (m *Mesh) onAnnouncement(msg *nats.Msg) {
	a, err := decodeAnnouncement(msg.Data)
	if err != nil {
		m.cfg.Logger.Debug("bad announcement", "err", err)
		return
	}
	if a.ID == m.cfg.ID && a.Instance != m.instance {
		m.cfg.Logger.Warn("another relay announces this relay's id", "id", a.ID, "url", a.URL)
	}
	changed, answer := m.members.apply(a, time.Now())
	if changed {
		m.cfg.Logger.Info("cluster membership changed", "member", a.ID, "state", a.State, "members", len(m.members.live()))
	}
	if answer {
		m.kickAnnounce()
	}
}

func (m *Mesh) kickAnnounce() {
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

// setConnected records that the NATS connection is up or down. Down, this
// relay is alone: it forgets the others and every wait on them ends. Up,
// it announces a join, which the others answer.
func (m *Mesh) setConnected(up bool) {
	m.connMu.Lock()
	defer m.connMu.Unlock()
	switch {
	case up && m.down == nil:
		m.down = make(chan struct{})
		m.joinPending = true
		m.connects++
		m.remotes.forgive() // what failed while NATS was away says nothing of the others
		m.kickAnnounce()
	case !up && m.down != nil:
		close(m.down)
		m.down = nil
		m.disconnects++
		m.members.reset()
	}
}

// downSignal returns a channel closed when the NATS connection is lost;
// nil if it is down now.
func (m *Mesh) downSignal() <-chan struct{} {
	m.connMu.Lock()
	defer m.connMu.Unlock()
	if m.down == nil {
		return nil
	}
	return m.down
}

// Embedded returns the embedded NATS server (its client and route URLs),
// nil with NATSURLs.
func (m *Mesh) Embedded() *Embedded { return m.emb }

// ID is this relay's id.
func (m *Mesh) ID() string { return m.cfg.ID }

// Ready reports whether this relay is connected to NATS, so in the
// cluster. The membership is complete one round trip after (the others
// answer its join at once).
func (m *Mesh) Ready() bool { return m.downSignal() != nil }

// Members returns the live members, this relay included (Self), by id.
func (m *Mesh) Members() []Member {
	l := m.cfg.Load()
	self := Member{
		ID: m.cfg.ID, URL: m.cfg.PublicURL, Region: m.cfg.Region,
		Peers: max(l.Peers, 0), Egress: l.Egress, Started: m.started, Self: true,
	}
	out := m.members.list(time.Now())
	i, _ := slices.BinarySearchFunc(out, self.ID, func(a Member, id string) int { return strings.Compare(a.ID, id) })
	return slices.Insert(out, i, self)
}

// Watch returns a channel closed at the next change of membership (a
// relay joins, leaves or expires, or changes its URL or region; not load
// updates). Call Members after it closes, and Watch again.
func (m *Mesh) Watch() <-chan struct{} {
	_, ch := m.members.watch()
	return ch
}

// Cluster is the JSON of GET /cluster.
type Cluster struct {
	Self   string   `json:"self"`
	Relays []Member `json:"relays"`
}

// Cluster returns this relay's view of the cluster, for GET /cluster.
func (m *Mesh) Cluster() Cluster { return Cluster{Self: m.cfg.ID, Relays: m.Members()} }

// Stats are a Mesh's counts, for metrics.
type Stats struct {
	Connected    bool
	Members      int    // live members, this relay included
	Connects     uint64 // NATS connections made (the first and every reconnection)
	Disconnects  uint64 // NATS connections lost
	DuplicateIDs uint64 // announcements of this relay's id by another process
	// Remotes are this relay's requests to each other relay it asked.
	Remotes map[string]RemoteStats
	// Served are the other relays' requests to this one.
	Served ServedStats
}

// Stats returns the counts.
func (m *Mesh) Stats() Stats {
	m.connMu.Lock()
	st := Stats{Connected: m.down != nil, Connects: m.connects, Disconnects: m.disconnects}
	m.connMu.Unlock()
	st.Members = len(m.members.live())
	st.DuplicateIDs = m.members.duplicates()
	st.Remotes = m.remotes.stats(time.Now())
	st.Served = m.served.stats()
	return st
}
