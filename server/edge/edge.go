package edge

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"sync"
	"sync/atomic"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"

	"github.com/p2pcache/p2pcache/cache"
	"github.com/p2pcache/p2pcache/relay"
)

// Edge is the relay's HTTP side: a Fiber app serving the signaling
// WebSocket, the HTTP fallback, the SDK and the operator endpoints, in
// front of a relay and its cache. Build it with New; serve it with Serve,
// or mount App or Handler in a server of your own.
type Edge struct {
	cfg       Config
	relay     *relay.Relay
	cache     *cache.Cache
	app       *fiber.App
	origins   originPolicy
	auth      *authenticator // nil: no token needed
	wsLimit   *ipLimiter     // WebSocket connects per client
	httpLimit *ipLimiter     // /files and /manifest requests per client
	slots     *peerSlots     // peers let through, in all and per client
	proxies   proxyRanges
	rejected  *prometheus.CounterVec // requests refused at the edge, by reason
	httpStats httpMetrics            // /files and /manifest responses
	draining  atomic.Bool            // Drain was called: no new peers
	ready     readiness              // holds on /readyz (health.go)

	mu      sync.Mutex // guards the following
	lns     []net.Listener
	stopped bool // Shutdown or Close began

	once sync.Once // the first Shutdown or Close does the work
}

// New returns an edge in front of r, which serves c. The edge owns neither:
// the caller closes them after the edge (see Shutdown for the order).
func New(r *relay.Relay, c *cache.Cache, cfg Config) (*Edge, error) {
	if r == nil || c == nil {
		return nil, fmt.Errorf("%w: nil relay or cache", ErrConfig)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	sdkAssets() // hashed and compressed now, not on the first page load
	e := &Edge{
		cfg:       cfg,
		relay:     r,
		cache:     c,
		origins:   newOriginPolicy(cfg.AllowedOrigins),
		wsLimit:   newIPLimiter(cfg.WSRate, cfg.WSBurst),
		httpLimit: newIPLimiter(cfg.HTTPRate, cfg.HTTPBurst),
		slots:     newPeerSlots(cfg.MaxPeers, cfg.MaxPeersPerIP),
		proxies:   proxyRanges(cfg.TrustedProxies),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "p2pcache_edge_rejected_total",
			Help: "HTTP and WebSocket-upgrade requests refused before reaching the relay core, by reason.",
		}, []string{"reason"}),
		httpStats: newHTTPMetrics(),
	}
	if cfg.AuthSecret != "" {
		e.auth = newAuthenticator(cfg.AuthSecret)
	}
	e.app = e.routes()
	return e, nil
}

// App returns the Fiber app, to mount under another (parent.Mount) or to
// drive with App().Test in tests. Serve and Shutdown act on it.
func (e *Edge) App() *fiber.App { return e.app }

// Handler returns the app's fasthttp handler, for a fasthttp.Server of
// your own (WebSocket upgrades need fasthttp: net/http adapters cannot
// hijack its connections).
func (e *Edge) Handler() fasthttp.RequestHandler { return e.app.Handler() }

// Serve serves HTTP on ln (HTTPS and WSS with Config.TLS) until Shutdown
// or Close; it then returns nil. It may run on several listeners at once.
// After Shutdown it returns ErrClosed at once.
func (e *Edge) Serve(ln net.Listener) error {
	e.mu.Lock()
	if e.stopped {
		e.mu.Unlock()
		return ErrClosed
	}
	e.lns = append(e.lns, ln)
	e.mu.Unlock()
	if e.cfg.TLS != nil {
		ln = tls.NewListener(ln, e.cfg.TLS)
	}
	return e.app.Listener(ln)
}

// Drain makes the edge refuse new peers (503, "shutting down") while it
// keeps serving everything else: the first step of a graceful shutdown.
func (e *Edge) Drain() { e.draining.Store(true) }

// Shutdown drains the edge, closes its listeners and waits until the HTTP
// requests in flight are answered or ctx ends. Peers are not the edge's:
// their WebSockets belong to the relay once upgraded, so a graceful stop is
// Drain, then relay.Shutdown (transfers finish, peers leave), then
// Shutdown, then closing the relay and the cache. Only the first call of
// Shutdown or Close does the work; later calls return nil at once.
func (e *Edge) Shutdown(ctx context.Context) error {
	var err error
	e.once.Do(func() {
		e.Drain()
		e.mu.Lock()
		e.stopped = true
		lns := e.lns
		e.mu.Unlock()
		err = e.app.ShutdownWithContext(ctx)
		// A Serve that had not yet handed its listener to fasthttp when
		// fasthttp closed its own ends here (its Accept fails).
		for _, ln := range lns {
			ln.Close()
		}
	})
	return err
}

// Close is Shutdown with no deadline: it returns once the requests in
// flight are answered. It is idempotent.
func (e *Edge) Close() error { return e.Shutdown(context.Background()) }
