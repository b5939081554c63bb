package mesh

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

// Config configures a Mesh. Exactly one of NATSURLs and Embedded is set.
type Config struct {
	// NATSURLs are the servers of an existing NATS deployment (a server, a
	// cluster, or a supercluster whose gateways span regions), as
	// nats://[user:pass@]host:port. The client also learns the cluster's
	// other servers from them and moves on to another when one fails.
	NATSURLs []string
	// Embedded runs a NATS server in this process instead, and connects to
	// it in process (no socket). Routes between relays' embedded servers
	// form a cluster without any other process.
	Embedded *EmbeddedConfig
	// NATSOptions are added to the connection's (credentials, TLS).
	NATSOptions []nats.Option

	// ID names this relay in the cluster and in its subjects: 1 to 64 of
	// [A-Za-z0-9_-], unique in the cluster and best kept across restarts
	// (ownership follows ids). Empty means a random id.
	ID string
	// PublicURL is how browsers reach this relay, announced to the others
	// and listed by Cluster.
	PublicURL string
	// Region is an optional label (a data-center or cloud region).
	Region string
	// Namespace prefixes every subject, so several independent clusters
	// can share one NATS deployment; "p2pcache" by default.
	Namespace string
	// Load reports this relay's load for its announcements; nil means
	// zeros. It is called once per announcement and per Members.
	Load func() Load

	// AnnounceInterval is how often this relay announces itself; zero
	// means 1 s.
	AnnounceInterval time.Duration
	// Expiry is how long a relay silent since its last announcement stays
	// a member (measured on this relay's clock, from when the announcement
	// arrived); zero means 3 × AnnounceInterval.
	Expiry time.Duration
	// TimeoutMin and TimeoutMax bound the wait for an owner's first answer:
	// 3 × the smoothed round trip measured to that owner, clamped to
	// [TimeoutMin, TimeoutMax]; TimeoutMax until a first measure. Zero
	// means 250 ms and 1 s: a busy owner on a loaded machine can take
	// over 50 ms to answer, and one timeout skips it for SuspectFor (its
	// keys go to the origin meanwhile), which costs more than the wait.
	TimeoutMin, TimeoutMax time.Duration
	// Heartbeat is how often an owner that is still fetching tells the
	// requester so; the requester gives up after 2 × Heartbeat plus its
	// timeout of silence. Zero means 250 ms. The same on every relay.
	Heartbeat time.Duration
	// SuspectFor is how long an owner that timed out or was unreachable is
	// skipped (its next owner asked instead); zero means Expiry.
	SuspectFor time.Duration
	// Tries is how many owners are asked, in rendezvous order, before the
	// origin; zero means 2.
	Tries int
	// Strikes is how many bad answers (bytes that do not match the
	// manifest, a manifest that does not validate) get a relay excluded;
	// zero means 1: a relay verified what it serves, so a bad answer is a
	// fault or a lie.
	Strikes int
	// ExcludeFor is how long an excluded relay is neither asked nor given
	// ownership by this relay; zero means 10 min.
	ExcludeFor time.Duration
	// MaxServing bounds the requests from other relays served at once;
	// more are answered MISS (the requester asks the origin). Zero means 256.
	MaxServing int
	// ServeTimeout bounds the work for one request from another relay;
	// zero means 2 min.
	ServeTimeout time.Duration

	// Observe, if set, is told of every request to another relay: the
	// member, the kind ("manifest", "chunk", "peek"), the result ("ok",
	// "miss", "not_found", "error", "timeout", "unreachable",
	// "bad_bytes") and the time to the answer, for metrics. It must not
	// block.
	Observe func(member, kind, result string, d time.Duration)
	// Logger receives logs; nil means none.
	Logger *slog.Logger
}

// EmbeddedConfig configures an in-process NATS server.
type EmbeddedConfig struct {
	// Listen is the client address, host:port (port 0: any free port);
	// empty means none (only this process connects, in process), or a
	// loopback port with a cluster (nats-server routes only once it
	// listens for clients).
	Listen string
	// ClusterListen is the route address other servers connect to,
	// host:port (port 0: any free port); empty means no cluster.
	ClusterListen string
	// Routes are other servers' route URLs, nats-route://host:port (or
	// host:port). Listing every server, this one included, on every
	// server is the simple way; the servers gossip the rest.
	Routes []string
	// ClusterName names the cluster; zero means "p2pcache". Routes join
	// servers of the same name only.
	ClusterName string
	// ServerName names the server, unique in the cluster; zero means
	// "p2pcache-" and the relay ID for a Mesh's server, the server's
	// generated id for StartEmbedded's.
	ServerName string
	// Logger receives the server's warnings and errors (notices at debug
	// level); nil means none.
	Logger *slog.Logger
}

// Load is a relay's load, as announced.
type Load struct {
	Peers  int    // peers connected now
	Egress uint64 // bytes sent to peers since start
}

// Validate reports the first out-of-range or inconsistent field.
func (c Config) Validate() error {
	switch {
	case len(c.NATSURLs) == 0 && c.Embedded == nil:
		return fmt.Errorf("%w: neither NATS URLs nor an embedded server", ErrBadConfig)
	case len(c.NATSURLs) > 0 && c.Embedded != nil:
		return fmt.Errorf("%w: both NATS URLs and an embedded server", ErrBadConfig)
	case c.ID != "" && validID(c.ID) != nil:
		return fmt.Errorf("%w: %w", ErrBadConfig, validID(c.ID))
	case len(c.PublicURL) > maxURLLen || len(c.Region) > maxRegionLen:
		return fmt.Errorf("%w: public URL or region too long", ErrBadConfig)
	case c.Namespace != "" && validID(c.Namespace) != nil:
		return fmt.Errorf("%w: namespace %q: letters, digits, '-' and '_'", ErrBadConfig, c.Namespace)
	case c.AnnounceInterval < 0 || c.Expiry < 0 || c.TimeoutMin < 0 || c.TimeoutMax < 0 ||
		c.Heartbeat < 0 || c.SuspectFor < 0 || c.ExcludeFor < 0 || c.ServeTimeout < 0:
		return fmt.Errorf("%w: negative duration", ErrBadConfig)
	case c.Tries < 0 || c.Strikes < 0 || c.MaxServing < 0:
		return fmt.Errorf("%w: negative Tries, Strikes or MaxServing", ErrBadConfig)
	}
	if c.PublicURL != "" {
		if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("%w: public URL %q is not an http(s) URL", ErrBadConfig, c.PublicURL)
		}
	}
	for _, s := range c.NATSURLs {
		if strings.TrimSpace(s) == "" {
			return fmt.Errorf("%w: empty NATS URL", ErrBadConfig)
		}
	}
	if c.Embedded != nil {
		if err := c.Embedded.validate(); err != nil {
			return err
		}
	}
	d := c.withDefaults()
	switch {
	case d.AnnounceInterval < 10*time.Millisecond || d.Heartbeat < time.Millisecond:
		return fmt.Errorf("%w: announce interval under 10 ms or heartbeat under 1 ms", ErrBadConfig)
	case d.Expiry <= d.AnnounceInterval:
		return fmt.Errorf("%w: expiry %v is not longer than the announce interval %v", ErrBadConfig, d.Expiry, d.AnnounceInterval)
	case d.TimeoutMin > d.TimeoutMax:
		return fmt.Errorf("%w: TimeoutMin %v over TimeoutMax %v", ErrBadConfig, d.TimeoutMin, d.TimeoutMax)
	}
	return nil
}

func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	if c.ID == "" {
		var b [6]byte
		rand.Read(b[:])
		c.ID = "r" + hex.EncodeToString(b[:])
	}
	if c.Namespace == "" {
		c.Namespace = "p2pcache"
	}
	if c.Load == nil {
		c.Load = func() Load { return Load{} }
	}
	def(&c.AnnounceInterval, time.Second)
	def(&c.Expiry, 3*c.AnnounceInterval)
	def(&c.TimeoutMin, 250*time.Millisecond)
	def(&c.TimeoutMax, time.Second)
	def(&c.Heartbeat, 250*time.Millisecond)
	def(&c.SuspectFor, c.Expiry)
	def(&c.ExcludeFor, 10*time.Minute)
	def(&c.ServeTimeout, 2*time.Minute)
	if c.Tries == 0 {
		c.Tries = 2
	}
	if c.Strikes == 0 {
		c.Strikes = 1
	}
	if c.MaxServing == 0 {
		c.MaxServing = 256
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}
