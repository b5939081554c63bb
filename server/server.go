package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/gofiber/fiber/v2/middleware/cors"
	fiberrecover "github.com/gofiber/fiber/v2/middleware/recover"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/p2pcache/p2pcache/cache"
	clientjs "github.com/p2pcache/p2pcache/client-js"
	"github.com/p2pcache/p2pcache/relay"
	"github.com/p2pcache/p2pcache/relay/wire"
	"github.com/p2pcache/p2pcache/server/demo"
)

// relayServer wires the pieces: an origin, the chunk cache, the relay core
// and the Fiber edge (HTTP endpoints and WebSocket upgrades).
type relayServer struct {
	cfg           Config
	log           *slog.Logger
	app           *fiber.App
	cache         *cache.Cache
	relay         *relay.Relay
	origins       originPolicy
	originTimeout time.Duration
	originName    string
	closeOrigin   func() error
	tls           *tls.Config
	auth          *authenticator // nil: no token needed
	wsLimit       *ipLimiter
	rejected      *prometheus.CounterVec // requests refused at the HTTP edge, by reason
	draining      atomic.Bool            // shutdown began: no new peers
}

// newRelayServer builds the server; iceLn is handed to the relay.
func newRelayServer(cfg Config, log *slog.Logger, iceLn net.Listener) (*relayServer, error) {
	s := &relayServer{cfg: cfg, log: log, origins: newOriginPolicy(cfg.AllowedOrigins), originTimeout: 60 * time.Second,
		closeOrigin: func() error { return nil }, wsLimit: newIPLimiter(cfg.WSRate, cfg.WSBurst),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "p2pcache_edge_rejected_total",
			Help: "HTTP and WebSocket-upgrade requests refused before reaching the relay core, by reason.",
		}, []string{"reason"})}
	if cfg.AuthSecret != "" {
		s.auth = newAuthenticator(cfg.AuthSecret)
	}
	var origin cache.Origin
	switch o := cfg.Origin; {
	case o == "":
		origin = cache.NewFSOrigin(demo.FS(), cache.FSOriginConfig{MaxAge: 24 * time.Hour})
		s.originName = "built-in demo"
	case strings.Contains(o, "://"):
		h, err := cache.NewHTTPOrigin(o, cache.HTTPOriginConfig{})
		if err != nil {
			return nil, fmt.Errorf("%w: --origin: %w", ErrConfig, err)
		}
		origin, s.originName = h, o
	default:
		d, closeDir, err := cache.DirOrigin(o, cache.FSOriginConfig{})
		if err != nil {
			return nil, fmt.Errorf("%w: --origin: %w", ErrConfig, err)
		}
		origin, s.originName, s.closeOrigin = d, o, closeDir
	}
	c, err := cache.New(origin, cache.Config{
		ChunkSize:     cfg.ChunkSize,
		MaxBytes:      cfg.CacheSize,
		OriginTimeout: s.originTimeout,
		Logger:        log.With("component", "cache"),
	})
	if err != nil {
		s.closeOrigin()
		return nil, err
	}
	s.cache = c
	rcfg := relay.Config{
		PublicIPs:        cfg.PublicIPs,
		Logger:           log.With("component", "relay"),
		DisablePeerFetch: !cfg.PeerFetch,
		PeerTimeoutMin:   cfg.PeerTimeoutMin,
		BanStrikes:       cfg.BanStrikes,
		BanDuration:      cfg.BanDuration,
	}
	if f := cfg.FaultCorrupt; f != nil {
		log.Warn("fault injection on: corrupting chunk sends (testing only)", "path", f.path, "index", f.index, "count", f.left.Load())
		rcfg.Corrupt = f.apply
	}
	r, err := relay.New(c, iceLn, rcfg)
	if err != nil {
		c.Close()
		s.closeOrigin()
		return nil, err
	}
	s.relay = r
	if cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			s.close()
			return nil, fmt.Errorf("%w: TLS: %w", ErrConfig, err)
		}
		s.tls = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	s.app = s.routes()
	return s, nil
}

// newApp is the Fiber app with the relay's error handling: errors and
// panics are logged and answered with a generic JSON error, so no internal
// detail reaches a client.
func (s *relayServer) newApp() *fiber.App {
	app := fiber.New(fiber.Config{
		AppName: "p2pcache",
		// Strings from the request (params, headers, query) outlive handlers
		// here: paths become cache keys. Immutable makes Fiber copy them
		// instead of handing out views of fasthttp's reused buffers.
		Immutable:             true,
		DisableStartupMessage: true,
		ReadTimeout:           30 * time.Second,
		WriteTimeout:          5 * time.Minute,
		IdleTimeout:           2 * time.Minute,
		ReadBufferSize:        8 << 10,
		BodyLimit:             64 << 10,
		ErrorHandler: func(c *fiber.Ctx, err error) error {
			status := http.StatusInternalServerError
			msg := "internal error"
			var fe *fiber.Error
			if errors.As(err, &fe) {
				status, msg = fe.Code, fe.Message
			} else {
				s.log.Error("handler failed", "path", c.Path(), "err", err)
			}
			return jsonError(c, status, msg)
		},
	})
	app.Use(fiberrecover.New(fiberrecover.Config{
		EnableStackTrace: true,
		StackTraceHandler: func(c *fiber.Ctx, e any) {
			s.log.Error("panic in handler", "path", c.Path(), "panic", e)
		},
	}))
	return app
}

func (s *relayServer) routes() *fiber.App {
	app := s.newApp()
	public := cors.New(cors.Config{
		AllowOrigins:  "*",
		AllowMethods:  "GET,HEAD,OPTIONS",
		AllowHeaders:  "Authorization,Range,If-None-Match,If-Range",
		ExposeHeaders: "ETag,Content-Length,Content-Range,Accept-Ranges",
		MaxAge:        600,
	})
	reg := prometheus.NewRegistry()
	reg.MustRegister(s.rejected, s.relay.Collector(), collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	app.Get("/metrics", adaptor.HTTPHandler(promhttp.HandlerFor(reg, promhttp.HandlerOpts{})))
	app.Get("/healthz", func(c *fiber.Ctx) error {
		return c.JSON(fiber.Map{"status": "ok", "peers": s.relay.Stats().Peers})
	})
	app.Get("/ws", s.upgrade, websocket.New(s.handleWS, websocket.Config{
		HandshakeTimeout: 10 * time.Second,
		ReadBufferSize:   16 << 10,
		WriteBufferSize:  16 << 10,
		RecoverHandler: func(c *websocket.Conn) {
			if e := recover(); e != nil {
				s.log.Error("panic in websocket handler", "panic", e)
			}
		},
	}))
	app.Use("/manifest", public)
	app.Get("/manifest/*", s.authorize, s.handleManifest)
	app.Use("/files", public)
	app.Get("/files/*", s.authorize, s.handleFile)
	app.Head("/files/*", s.authorize, s.handleFile)
	app.Use("/p2pcache.js", public)
	app.Get("/p2pcache.js", s.static("p2pcache.js", "text/javascript; charset=utf-8"))
	app.Get("/p2pcache.d.ts", s.static("p2pcache.d.ts", "text/plain; charset=utf-8"))
	app.Get("/", s.static("demo/index.html", "text/html; charset=utf-8"))
	app.Get("/demo/*", s.demoAsset)
	app.Use(func(c *fiber.Ctx) error {
		return jsonError(c, http.StatusNotFound, "no such endpoint: "+c.Path())
	})
	return app
}

// reject answers status with a JSON error and counts it under reason in
// p2pcache_edge_rejected_total.
func (s *relayServer) reject(c *fiber.Ctx, reason string, status int, msg string) error {
	s.rejected.WithLabelValues(reason).Inc()
	return jsonError(c, status, msg)
}

// upgrade refuses, before any WebRTC state exists, what must not reach the
// relay: a non-WebSocket request or a foreign Origin.
func (s *relayServer) upgrade(c *fiber.Ctx) error {
	if !websocket.IsWebSocketUpgrade(c) {
		return s.reject(c, "not_websocket", http.StatusUpgradeRequired, "GET /ws is a WebSocket endpoint")
	}
	if s.draining.Load() {
		return s.reject(c, "shutting_down", http.StatusServiceUnavailable, "relay is shutting down; try again shortly")
	}
	if origin := c.Get(fiber.HeaderOrigin); !s.origins.allowed(origin, c.Hostname()) {
		s.log.Info("websocket origin refused", "origin", origin, "ip", c.IP())
		return s.reject(c, "origin", http.StatusForbidden, "origin "+origin+" is not allowed (see --allowed-origins)")
	}
	if !s.wsLimit.allow(c.IP(), time.Now()) {
		return s.reject(c, "rate_limited", http.StatusTooManyRequests, "too many WebSocket connects from this address; slow down")
	}
	g := grant{}
	if s.auth != nil {
		var err error
		if g, err = s.auth.verify(c.Query("access_token")); err != nil {
			return s.reject(c, "unauthorized", http.StatusUnauthorized, err.Error())
		}
	}
	identity := g.subject
	if identity == "" {
		identity = c.IP()
	}
	if s.relay.Banned(identity) {
		return s.reject(c, "banned", http.StatusForbidden, "banned for sending bad data; try again later")
	}
	if s.relay.PeerCount() >= s.cfg.MaxPeers {
		return s.reject(c, "full", http.StatusServiceUnavailable, "relay is full; try again later")
	}
	meta := relay.Meta{Remote: c.Context().RemoteAddr().String(), Identity: identity}
	if len(g.prefixes) > 0 {
		meta.Allow = g.allows
	}
	c.Locals("meta", meta)
	return c.Next()
}

func (s *relayServer) handleWS(c *websocket.Conn) {
	c.SetReadLimit(wire.MaxSignalSize + wire.MaxMessageSize)
	meta, _ := c.Locals("meta").(relay.Meta)
	if err := s.relay.Accept(context.Background(), c, meta); err != nil {
		s.log.Debug("peer session ended", "remote", meta.Remote, "err", err)
	}
}

// authorize requires a valid token covering the path when --auth-secret is
// set: Authorization: Bearer <token>, or ?access_token=.
func (s *relayServer) authorize(c *fiber.Ctx) error {
	if s.auth == nil {
		return c.Next()
	}
	tok := c.Query("access_token")
	if h := c.Get(fiber.HeaderAuthorization); h != "" {
		var ok bool
		if tok, ok = strings.CutPrefix(h, "Bearer "); !ok {
			return s.reject(c, "unauthorized", http.StatusUnauthorized, "Authorization must be: Bearer <token>")
		}
	}
	g, err := s.auth.verify(strings.TrimSpace(tok))
	if err != nil {
		return s.reject(c, "unauthorized", http.StatusUnauthorized, err.Error())
	}
	if p, err := requestPath(c); err == nil && !g.allows(p) {
		return s.reject(c, "out_of_scope", http.StatusUnauthorized, "unauthorized: the token does not cover "+p)
	}
	return c.Next()
}

// static serves one embedded SDK or demo file.
func (s *relayServer) static(name, contentType string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		b, err := fs.ReadFile(clientjs.FS, name)
		if err != nil {
			return jsonError(c, http.StatusNotFound, name+" is not built into this relay")
		}
		c.Set(fiber.HeaderContentType, contentType)
		c.Set(fiber.HeaderCacheControl, "no-cache")
		return c.Send(b)
	}
}

func (s *relayServer) demoAsset(c *fiber.Ctx) error {
	name := c.Params("*")
	if !fs.ValidPath(name) || strings.Contains(name, "..") {
		return jsonError(c, http.StatusBadRequest, "bad path")
	}
	ct := "application/octet-stream"
	switch {
	case strings.HasSuffix(name, ".js"):
		ct = "text/javascript; charset=utf-8"
	case strings.HasSuffix(name, ".css"):
		ct = "text/css; charset=utf-8"
	case strings.HasSuffix(name, ".html"):
		ct = "text/html; charset=utf-8"
	case strings.HasSuffix(name, ".svg"):
		ct = "image/svg+xml"
	}
	return s.static("demo/"+name, ct)(c)
}

// serve serves HTTP (HTTPS with TLS) on ln until shutdown.
func (s *relayServer) serve(ln net.Listener) error {
	if s.tls != nil {
		ln = tls.NewListener(ln, s.tls)
	}
	return s.app.Listener(ln)
}

// shutdown stops taking peers, lets the transfers in flight finish for up
// to timeout, drops every peer (their WebSocket handlers return), stops the
// HTTP server and closes the cache and origin.
func (s *relayServer) shutdown(timeout time.Duration) error {
	s.draining.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	err := s.relay.Shutdown(ctx)
	err = errors.Join(err, s.app.ShutdownWithTimeout(max(time.Second, time.Until(deadline(ctx)))))
	s.cache.Close()
	return errors.Join(err, s.closeOrigin())
}

func deadline(ctx context.Context) time.Time {
	d, _ := ctx.Deadline()
	return d
}

// close releases what newRelayServer built when serve never ran.
func (s *relayServer) close() {
	if s.relay != nil {
		s.relay.Close()
	}
	if s.cache != nil {
		s.cache.Close()
	}
	s.closeOrigin()
}
