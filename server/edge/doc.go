// Package edge is the relay's HTTP side, a Fiber app in front of a
// relay.Relay and its cache.Cache. It serves:
//
//   - GET /ws: the signaling WebSocket. The upgrade is refused before any
//     WebRTC state exists for a foreign Origin (originPolicy, origin.go), a
//     client over its connect rate (ipLimiter, limits.go), a missing or
//     bad token (auth.go), a banned identity, a relay full in all or for
//     the client (peerSlots, slots.go), a relay whose memory budget cannot
//     take one more peer (relay.Admit) or a draining edge, each counted in
//     p2pcache_edge_rejected_total{reason}; the rest are handed to
//     relay.Accept with a relay.Meta (ws.go) and hold their place until
//     their session ends.
//   - GET /manifest/<path>, GET and HEAD /files/<path>: the HTTP fallback,
//     straight from the cache, with ETags, conditional requests and single
//     byte ranges (files.go, ranges.go); CORS-open, token-guarded when
//     Config.AuthSecret is set, rate-limited per client. A file of an
//     active type (HTML, SVG, script...) is sent sandboxed and as a download
//     (headers.go). Every response is counted by status and its body bytes
//     by endpoint (p2pcache_http_requests_total,
//     p2pcache_http_response_bytes_total: httpmetrics.go).
//   - /p2pcache.js, /p2pcache-sw.js (the service worker), /p2pcache.d.ts:
//     the SDK, CORS-open, with a strong ETag of its bytes, 304s and brotli
//     or gzip compressed once at start-up; each also at an immutable
//     /v/<version>/<name> that answers no other version (sdk.go, SDKPath).
//   - / and /demo/*: the demo page, embedded (routes.go).
//   - /healthz (alive), /readyz (200 while taking peers, 503 while
//     starting, draining, full or held by Unready: health.go) and /metrics
//     (the edge's, relay's and cache's figures, Config.Collectors, the Go
//     runtime, the process and p2pcache_build_info; with
//     Config.NoPublicMetrics only on MetricsHandler, for a private
//     listener: metrics.go).
//   - GET /cluster: Config.Cluster's report of the relay's mesh, as JSON;
//     404 when the relay is not in a cluster (cluster.go).
//
// A client is its socket peer's address, or behind a trusted reverse proxy
// (Config.TrustedProxies) the address the proxy forwarded; IPv6 clients are
// grouped by /64 (clientip.go). Limits, and bans without a token subject,
// apply to that identity.
//
// With Config.AccessLog every request and upgrade is logged as one
// "access" line (accesslog.go).
//
// Errors reach clients as {"error": ..., "status": ...}; a handler's
// internal error or panic is logged and answered with a generic 500. Every
// response carries X-Content-Type-Options: nosniff.
//
// The edge owns no listener and none of the parts behind it. Serve runs it
// on a listener (TLS when Config.TLS is set); App and Handler mount it in a
// server of your own; App().Test drives it in memory. The caller wires the
// parts (cache.New, relay.New, c.SetPeers(r) so misses are filled from
// peers, New) and stops them in order: Drain (no new peers), c.SetPeers(nil),
// relay Shutdown (transfers in flight finish, peers leave), edge Shutdown
// (HTTP requests in flight finish), then closing the relay and the cache.
// Shutdown and Close are idempotent; Close is Shutdown with no deadline.
package edge
