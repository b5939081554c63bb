package edge

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net/netip"
	"net/url"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// MinSecretLen is the shortest Config.AuthSecret accepted: HS256 wants a
// key of at least its hash size.
const MinSecretLen = 32

// Config holds an Edge's settings. The zero value serves without tokens,
// over plain HTTP, to the relay's own origin and localhost pages.
type Config struct {
	// Logger receives the edge's logs; nil means none.
	Logger *slog.Logger
	// AuthSecret is an HS256 secret of at least MinSecretLen bytes; set,
	// /ws, /files and /manifest need a token signed with it (MintToken).
	// Empty means no token is needed.
	AuthSecret string
	// AllowedOrigins is the WebSocket Origin allowlist, each scheme://host[:port]
	// or "*" (CheckAllowedOrigin). Empty means the relay's own origin and
	// localhost/127.0.0.1 on any port.
	AllowedOrigins []string
	// MaxPeers is how many peers may be connected at once; more are refused
	// with 503. A place is reserved before the upgrade, so concurrent
	// upgrades cannot overshoot it. Zero means 10000.
	MaxPeers int
	// MaxPeersPerIP is how many of them one client (an IPv4 address or an
	// IPv6 /64, see TrustedProxies) may have at once; more are refused with
	// 503. Zero means 32.
	MaxPeersPerIP int
	// WSRate is how many WebSocket connects per second one client may
	// make, with a burst of WSBurst; more are refused with 429. Zero means
	// 10, and a zero WSBurst twice WSRate.
	WSRate  float64
	WSBurst int
	// HTTPRate is how many /files and /manifest requests per second one
	// client may make, with a burst of HTTPBurst; more are refused with 429
	// and Retry-After. Zero means 100, and a zero HTTPBurst twice HTTPRate.
	HTTPRate  float64
	HTTPBurst int
	// TrustedProxies are the address ranges of the reverse proxies in front
	// of the edge. Only for a request from one of them is the client taken
	// from X-Forwarded-For (the right-most address not itself a trusted
	// proxy) or Forwarded, and the host from X-Forwarded-Host; from anyone
	// else those headers are ignored. Empty means no proxy is trusted: the
	// client is the socket peer (clientip.go).
	TrustedProxies []netip.Prefix
	// RequestTimeout bounds the cache lookups of one /files or /manifest
	// request (which may wait on the origin); a file body gets a minute
	// more. Zero means 60 s.
	RequestTimeout time.Duration
	// TLS, when set, makes Serve speak HTTPS and WSS on its listener.
	TLS *tls.Config
	// Build is reported as the p2pcache_build_info metric.
	Build BuildInfo
	// NoPublicMetrics drops /metrics from the app (it answers 404); serve
	// MetricsHandler on a private listener instead.
	NoPublicMetrics bool
	// Collectors are more figures for /metrics (a port demux's, say).
	Collectors []prometheus.Collector
	// AccessLog logs one line per request and WebSocket upgrade to Logger
	// (accesslog.go).
	AccessLog bool
	// Cluster, when set, is what GET /cluster answers, encoded as JSON:
	// the relay's view of its mesh. It is called once per request and must
	// be safe for concurrent use. Nil means the relay is not in a cluster:
	// /cluster answers 404.
	Cluster func() any
}

// BuildInfo names the build serving, for /metrics.
type BuildInfo struct {
	Version, Commit string
}

// Validate reports the first field out of range.
func (c Config) Validate() error {
	if c.AuthSecret != "" && len(c.AuthSecret) < MinSecretLen {
		return fmt.Errorf("%w: the auth secret must be at least %d bytes", ErrConfig, MinSecretLen)
	}
	for _, o := range c.AllowedOrigins {
		if err := CheckAllowedOrigin(o); err != nil {
			return err
		}
	}
	if c.MaxPeers < 0 || c.WSRate < 0 || c.WSBurst < 0 || c.RequestTimeout < 0 {
		return fmt.Errorf("%w: negative MaxPeers, WSRate, WSBurst or RequestTimeout", ErrConfig)
	}
	if c.MaxPeersPerIP < 0 || c.HTTPRate < 0 || c.HTTPBurst < 0 {
		return fmt.Errorf("%w: negative MaxPeersPerIP, HTTPRate or HTTPBurst", ErrConfig)
	}
	for _, p := range c.TrustedProxies {
		if !p.IsValid() {
			return fmt.Errorf("%w: trusted proxy range %v is not a CIDR prefix", ErrConfig, p)
		}
	}
	return nil
}

// CheckAllowedOrigin reports whether o can be an AllowedOrigins entry:
// scheme://host[:port] with scheme http or https, or "*".
func CheckAllowedOrigin(o string) error {
	if o == "*" {
		return nil
	}
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" || u.RawQuery != "" {
		return fmt.Errorf("%w: allowed origin %q: want scheme://host[:port] or *", ErrConfig, o)
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.MaxPeers == 0 {
		c.MaxPeers = 10000
	}
	defaultRate(&c.WSRate, &c.WSBurst, 10)
	defaultRate(&c.HTTPRate, &c.HTTPBurst, 100)
	if c.MaxPeersPerIP == 0 {
		c.MaxPeersPerIP = 32
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = 60 * time.Second
	}
	return c
}

// defaultRate fills a zero rate with def and a zero burst with twice the
// rate (at least 1).
func defaultRate(rate *float64, burst *int, def float64) {
	if *rate == 0 {
		*rate = def
	}
	if *burst == 0 {
		*burst = max(1, int(2**rate))
	}
}
