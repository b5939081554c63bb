package edge

import (
	"net/http"
	"strconv"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
)

// The HTTP fallback's figures, for /metrics: every response under /files
// and /manifest (GET, HEAD and CORS preflights, refusals by limitHTTP and
// authorize included) counts once in
//
//	p2pcache_http_requests_total{endpoint="files"|"manifest", code="200"|"206"|"304"|"404"|...}
//
// and the body bytes it sent in p2pcache_http_response_bytes_total{endpoint}:
// a buffered body as sent (none for HEAD, 1xx, 204 and 304), a streamed
// file body (chunkReader) as fasthttp reads it to write it, so a client
// that goes away mid-file counts only what was written before.

// httpMetrics are the HTTP fallback's counters.
type httpMetrics struct {
	requests *prometheus.CounterVec // by endpoint and status code
	bytes    *prometheus.CounterVec // body bytes, by endpoint
}

func newHTTPMetrics() httpMetrics {
	return httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "p2pcache_http_requests_total",
			Help: "Responses of the HTTP fallback (/files, /manifest), by endpoint and status code.",
		}, []string{"endpoint", "code"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "p2pcache_http_response_bytes_total",
			Help: "Body bytes the HTTP fallback (/files, /manifest) sent, by endpoint.",
		}, []string{"endpoint"}),
	}
}

func (m httpMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.requests, m.bytes}
}

// count is the middleware that counts every response under an endpoint.
// Like accessLog, it runs the app's error handler itself, so that it sees
// the status the client gets; a panic is counted as the 500 the recover
// middleware answers.
func (m httpMetrics) count(endpoint string) fiber.Handler {
	sent := m.bytes.WithLabelValues(endpoint)
	return func(c *fiber.Ctx) error {
		defer func() {
			if p := recover(); p != nil {
				m.requests.WithLabelValues(endpoint, "500").Inc()
				panic(p)
			}
		}()
		nextHandled(c)
		resp := c.Response()
		status := resp.StatusCode()
		m.requests.WithLabelValues(endpoint, strconv.Itoa(status)).Inc()
		if c.Method() != fiber.MethodHead && !resp.IsBodyStream() && bodyAllowed(status) {
			sent.Add(float64(len(resp.Body())))
		}
		return nil
	}
}

// bodyAllowed reports whether a response with status carries a body.
func bodyAllowed(status int) bool {
	return status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified
}
