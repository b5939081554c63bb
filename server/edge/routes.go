package edge

import (
	"errors"
	"io/fs"
	"net/http"
	"runtime"
	"strings"
	"time"

	"github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/gofiber/fiber/v2/middleware/cors"
	fiberrecover "github.com/gofiber/fiber/v2/middleware/recover"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	clientjs "github.com/p2pcache/p2pcache/client-js"
)

// newApp is the Fiber app with the edge's error handling: errors and
// panics are logged and answered with a generic JSON error, so no internal
// detail reaches a client.
func (e *Edge) newApp() *fiber.App {
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
				e.cfg.Logger.Error("handler failed", "path", c.Path(), "err", err)
			}
			return jsonError(c, status, msg)
		},
	})
	app.Use(noSniff)
	app.Use(fiberrecover.New(fiberrecover.Config{
		EnableStackTrace: true,
		StackTraceHandler: func(c *fiber.Ctx, p any) {
			e.cfg.Logger.Error("panic in handler", "path", c.Path(), "panic", p)
		},
	}))
	return app
}

// routes builds the app: every endpoint the relay serves.
func (e *Edge) routes() *fiber.App {
	app := e.newApp()
	if e.cfg.AccessLog {
		app.Use(e.accessLog)
	}
	public := cors.New(cors.Config{
		AllowOrigins:  "*",
		AllowMethods:  "GET,HEAD,OPTIONS",
		AllowHeaders:  "Authorization,Range,If-None-Match,If-Range",
		ExposeHeaders: "ETag,Content-Length,Content-Range,Accept-Ranges,Link",
		MaxAge:        600,
	})
	if !e.cfg.NoPublicMetrics {
		app.Get("/metrics", adaptor.HTTPHandler(e.MetricsHandler()))
	}
	// Any page may read readiness: the SDK times relays with GET /readyz
	// and skips one that is draining (503).
	app.Use("/readyz", public)
	app.Get("/readyz", e.handleReady)
	app.Use("/healthz", public)
	app.Get("/healthz", func(c *fiber.Ctx) error {
		return c.JSON(fiber.Map{"status": "ok", "peers": e.relay.Stats().Peers})
	})
	app.Get("/ws", e.upgrade, websocket.New(e.handleWS, websocket.Config{
		HandshakeTimeout: 10 * time.Second,
		ReadBufferSize:   16 << 10,
		WriteBufferSize:  16 << 10,
		RecoverHandler: func(c *websocket.Conn) {
			if p := recover(); p != nil {
				e.cfg.Logger.Error("panic in websocket handler", "panic", p)
			}
		},
	}))
	app.Use("/cluster", public)
	app.Get("/cluster", e.handleCluster)
	app.Use("/manifest", e.httpStats.count("manifest"), public)
	app.Get("/manifest/*", e.limitHTTP, e.authorize, e.handleManifest)
	app.Use("/files", e.httpStats.count("files"), public)
	app.Get("/files/*", e.limitHTTP, e.authorize, e.handleFile)
	app.Head("/files/*", e.limitHTTP, e.authorize, e.handleFile)
	app.Use("/v", public)
	for _, f := range sdkFiles { // sdk.go
		app.Use("/"+f.name, public)
		app.Get("/"+f.name, serveSDK(f.name, false))
		app.Get("/v/:version/"+f.name, serveSDK(f.name, true))
	}
	app.Get("/", static("demo/index.html", "text/html; charset=utf-8"))
	app.Get("/demo/*", demoAsset)
	app.Use(func(c *fiber.Ctx) error {
		return jsonError(c, http.StatusNotFound, "no such endpoint: "+c.Path())
	})
	return app
}

// registry holds what /metrics reports: the edge's refusals and HTTP
// fallback figures (httpmetrics.go), the relay's
// and cache's figures, the Go runtime, the process and the build.
func (e *Edge) registry() *prometheus.Registry {
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "p2pcache_build_info",
		Help: "Always 1; the labels name the build serving.",
		ConstLabels: prometheus.Labels{
			"version":   e.cfg.Build.Version,
			"commit":    e.cfg.Build.Commit,
			"goversion": runtime.Version(),
		},
	})
	build.Set(1)
	reg := prometheus.NewRegistry()
	reg.MustRegister(e.cfg.Collectors...)
	reg.MustRegister(e.httpStats.collectors()...)
	reg.MustRegister(e.rejected, e.relay.Collector(), build,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// static serves one embedded SDK or demo file.
func static(name, contentType string) fiber.Handler {
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

// demoAsset serves the demo page's files under /demo/.
func demoAsset(c *fiber.Ctx) error {
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
	return static("demo/"+name, ct)(c)
}
