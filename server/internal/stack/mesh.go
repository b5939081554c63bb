package stack

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/p2pcache/p2pcache/cache"
	"github.com/p2pcache/p2pcache/relay"
	"github.com/p2pcache/p2pcache/relay/mesh"
	"github.com/p2pcache/p2pcache/server/internal/config"
)

// The relay mesh (--nats): the relay joins a cluster of relays on NATS and
// its cache takes the cluster as a tier between its peers and the origin
// (cache.SetTier), so the origin sees each file and chunk once per cluster.
// The stack builds the mesh after the relay (its announcements carry the
// relay's peers and egress), gives the edge its GET /cluster, and closes it
// after the relay and the edge and before the cache: the relay's transfers
// and the HTTP requests in flight may still ask the cluster while they
// drain, and other relays are served until the mesh leaves.
//
// NATS being down is no reason to be unready: the relay serves alone, from
// its own origin, and rejoins by itself, so /readyz does not look at the
// mesh (GET /cluster and p2pcache_mesh_connected do).

// meshStartTimeout bounds the wait for the embedded NATS server's
// listeners at start.
const meshStartTimeout = 10 * time.Second

// newMesh joins the cluster cfg names and installs it as c's tier; nil,
// nil without --nats. The returned collector reports it in /metrics.
func newMesh(cfg config.Config, c *cache.Cache, r *relay.Relay, log *slog.Logger) (*mesh.Mesh, prometheus.Collector, error) {
	if !cfg.Mesh() {
		return nil, nil, nil
	}
	mc := newMeshCollector(c)
	mcfg := mesh.Config{
		ID:        cfg.MeshID(),
		PublicURL: cfg.PublicURL,
		Region:    cfg.Region,
		Load: func() mesh.Load {
			st := r.Stats()
			return mesh.Load{Peers: st.Peers, Egress: st.BytesSent}
		},
		Observe: mc.observe,
		Logger:  log.With("component", "mesh"),
	}
	if cfg.EmbeddedNATS() {
		mcfg.Embedded = &mesh.EmbeddedConfig{
			Listen:        cfg.NATSListen,
			ClusterListen: cfg.NATSClusterListen,
			Routes:        cfg.NATSRoutes,
			Logger:        log.With("component", "nats-server"),
		}
	} else {
		mcfg.NATSURLs = cfg.NATS
	}
	if cfg.NATSCreds != "" {
		mcfg.NATSOptions = append(mcfg.NATSOptions, nats.UserCredentials(cfg.NATSCreds))
	}
	ctx, cancel := context.WithTimeout(context.Background(), meshStartTimeout)
	defer cancel()
	m, err := mesh.New(ctx, mcfg, c)
	if err != nil {
		return nil, nil, fmt.Errorf("--nats: %w", err)
	}
	mc.m = m
	c.SetTier(m)
	attrs := []any{"id", m.ID(), "public_url", cfg.PublicURL, "connected", m.Ready()}
	if e := m.Embedded(); e != nil {
		attrs = append(attrs, "nats_client", e.ClientURL(), "nats_routes", e.RouteURL())
	} else {
		attrs = append(attrs, "nats", redactURLs(cfg.NATS))
	}
	log.Info("joined the relay mesh", attrs...)
	return m, mc, nil
}

// redactURLs returns urls with their user information (a user and
// password, or a NATS token) replaced by "xxxxx", for logs.
func redactURLs(urls []string) []string {
	out := make([]string, len(urls))
	for i, s := range urls {
		if u, err := url.Parse(s); err == nil && u.User != nil {
			u.User = url.User("xxxxx")
			s = u.String()
		}
		out[i] = s
	}
	return out
}

// meshCollector is the mesh's part of /metrics: the requests this relay
// sent to other relays (observed as they finish), and the mesh's and the
// cache tier's counts at scrape time. The member label takes one value per
// relay of the cluster: bounded by its size.
type meshCollector struct {
	m        *mesh.Mesh
	c        *cache.Cache
	requests *prometheus.CounterVec
	seconds  *prometheus.HistogramVec
}

var (
	descMeshMembers    = prometheus.NewDesc("p2pcache_mesh_members", "Relays in the cluster as this relay sees it, itself included (1 while NATS is down).", nil, nil)
	descMeshConnected  = prometheus.NewDesc("p2pcache_mesh_connected", "1 while the relay is connected to NATS (in the cluster), 0 while it serves alone.", nil, nil)
	descMeshReconnects = prometheus.NewDesc("p2pcache_mesh_nats_connects_total", "NATS connections made: the first and every reconnection.", nil, nil)
	descMeshDupes      = prometheus.NewDesc("p2pcache_mesh_duplicate_ids_total", "Announcements of this relay's id by another process: two relays share an id (set --relay-id).", nil, nil)
	descMeshServed     = prometheus.NewDesc("p2pcache_mesh_served_requests_total", "Requests from other relays, by kind (manifest, chunk, peek).", []string{"kind"}, nil)
	descMeshAnswers    = prometheus.NewDesc("p2pcache_mesh_served_answers_total", "Answers to other relays' requests, by result (ok, miss, busy, not_found, error, bad_request).", []string{"result"}, nil)
	descMeshServedB    = prometheus.NewDesc("p2pcache_mesh_served_bytes_total", "Answer bytes sent to other relays.", nil, nil)
	descMeshFills      = prometheus.NewDesc("p2pcache_mesh_fills_total", "Cache misses filled from the cluster instead of the origin, by kind (manifest, chunk).", []string{"kind"}, nil)
	descMeshRejects    = prometheus.NewDesc("p2pcache_mesh_rejects_total", "Manifests or chunks from the cluster refused by the cache: invalid, or not matching the manifest.", nil, nil)
)

func newMeshCollector(c *cache.Cache) *meshCollector {
	return &meshCollector{
		c: c,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "p2pcache_mesh_requests_total",
			Help: "Requests to other relays, by relay id, kind (manifest, chunk, peek) and result (ok, miss, not_found, error, timeout, unreachable, bad_bytes).",
		}, []string{"member", "kind", "result"}),
		seconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "p2pcache_mesh_request_seconds",
			Help:    "Time from a request to another relay to its answer, by kind.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"kind"}),
	}
}

// observe is mesh.Config.Observe: it must not block, and does not.
func (mc *meshCollector) observe(member, kind, result string, d time.Duration) {
	mc.requests.WithLabelValues(member, kind, result).Inc()
	mc.seconds.WithLabelValues(kind).Observe(d.Seconds())
}

func (mc *meshCollector) Describe(ch chan<- *prometheus.Desc) {
	mc.requests.Describe(ch)
	mc.seconds.Describe(ch)
	for _, d := range []*prometheus.Desc{descMeshMembers, descMeshConnected, descMeshReconnects, descMeshDupes, descMeshServed, descMeshAnswers, descMeshServedB, descMeshFills, descMeshRejects} {
		ch <- d
	}
}

func (mc *meshCollector) Collect(ch chan<- prometheus.Metric) {
	mc.requests.Collect(ch)
	mc.seconds.Collect(ch)
	if mc.m == nil {
		return
	}
	st, cs := mc.m.Stats(), mc.c.Stats()
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	connected := 0.0
	if st.Connected {
		connected = 1
	}
	ch <- prometheus.MustNewConstMetric(descMeshMembers, prometheus.GaugeValue, float64(st.Members))
	ch <- prometheus.MustNewConstMetric(descMeshConnected, prometheus.GaugeValue, connected)
	counter(descMeshReconnects, st.Connects)
	counter(descMeshDupes, st.DuplicateIDs)
	s := st.Served
	counter(descMeshServed, s.Manifests, "manifest")
	counter(descMeshServed, s.Chunks, "chunk")
	counter(descMeshServed, s.Peeks, "peek")
	for res, n := range map[string]uint64{
		"ok": s.Answered, "miss": less(s.Misses, s.Busy), "busy": s.Busy,
		"not_found": s.NotFound, "error": less(s.Errors, s.BadRequests), "bad_request": s.BadRequests,
	} {
		counter(descMeshAnswers, n, res)
	}
	counter(descMeshServedB, s.Bytes)
	counter(descMeshFills, cs.TierManifests, "manifest")
	counter(descMeshFills, cs.TierFills, "chunk")
	counter(descMeshRejects, cs.TierRejects)
}

// less is a − b, or 0: the counters are read one by one while they move,
// and a part (Busy of Misses) may be read ahead of its whole.
func less(a, b uint64) uint64 {
	if a < b {
		return 0
	}
	return a - b
}
