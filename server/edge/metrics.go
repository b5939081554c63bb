package edge

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// MetricsHandler serves what /metrics reports (the edge's refusals, the
// relay's and the cache's figures, Config.Collectors, the Go runtime, the
// process and the build) as a net/http handler: for a private listener
// when Config.NoPublicMetrics keeps them off the public one.
func (e *Edge) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(e.registry(), promhttp.HandlerOpts{})
}
