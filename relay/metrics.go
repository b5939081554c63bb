package relay

import (
	"github.com/prometheus/client_golang/prometheus"
)

// newRTTHistogram is the distribution of every RTT sample from every peer.
func newRTTHistogram() prometheus.Histogram {
	return prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "p2pcache_peer_rtt_seconds",
		Help:    "Round-trip times measured to peers (PING/PONG over the data channel).",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	})
}

// Collector exports the relay's and its cache's counters to Prometheus.
// Register it once; it reads Stats at scrape time, so counting costs the
// hot path nothing beyond its atomics.
func (r *Relay) Collector() prometheus.Collector { return relayCollector{r} }

type relayCollector struct{ r *Relay }

var (
	descChunksServed  = prometheus.NewDesc("p2pcache_chunks_served_total", "Chunks sent to peers, by where the relay got them.", []string{"source"}, nil)
	descOriginFetches = prometheus.NewDesc("p2pcache_origin_fetches_total", "Requests sent to the origin (whole files, ranges, revalidations).", nil, nil)
	descOriginBytes   = prometheus.NewDesc("p2pcache_origin_bytes_total", "Body bytes read from the origin.", nil, nil)
	descOriginErrors  = prometheus.NewDesc("p2pcache_origin_errors_total", "Origin calls that failed: 5xx, timeouts, truncated or mis-sized bodies, refusals.", nil, nil)
	descOriginRetries = prometheus.NewDesc("p2pcache_origin_retries_total", "Origin calls retried with backoff after a transient failure.", nil, nil)
	descPeerFetches   = prometheus.NewDesc("p2pcache_peer_fetches_total", "Chunk requests the relay sent to peers, by result.", []string{"result"}, nil)
	descPeers         = prometheus.NewDesc("p2pcache_peers_connected", "Peers connected (WebSocket open).", nil, nil)
	descDataChannels  = prometheus.NewDesc("p2pcache_data_channels_open", "Peers with an open WebRTC data channel.", nil, nil)
	descPeerConns     = prometheus.NewDesc("p2pcache_peer_connections_total", "WebRTC peer connections answered, by the DTLS records their SCTP packets fill: standard (every browser reads them) or large (one ICE-TCP frame, for Firefox).", []string{"records"}, nil)
	descBans          = prometheus.NewDesc("p2pcache_peer_bans_total", "Peers banned for sending bytes that did not match the manifest.", nil, nil)
	descCacheBytes    = prometheus.NewDesc("p2pcache_cache_bytes", "Chunk bytes held in the relay's LRU.", nil, nil)
	descCacheChunks   = prometheus.NewDesc("p2pcache_cache_chunks", "Chunks held in the relay's LRU.", nil, nil)
	descEvictions     = prometheus.NewDesc("p2pcache_cache_evictions_total", "Chunks evicted to keep the cache's byte budget.", nil, nil)
	descBytesSent     = prometheus.NewDesc("p2pcache_bytes_sent_total", "Bytes sent to peers (frames, both transports).", nil, nil)
	descRejected      = prometheus.NewDesc("p2pcache_rejected_total", "Things refused or dropped, by reason.", []string{"reason"}, nil)
	descHolderIndex   = prometheus.NewDesc("p2pcache_holder_index_entries", "(chunk, peer) pairs known from peers' HAVE frames.", nil, nil)
	descNegHits       = prometheus.NewDesc("p2pcache_cache_negative_hits_total", "Manifest requests answered not found from the negative cache.", nil, nil)
	descNegEntries    = prometheus.NewDesc("p2pcache_cache_negative_entries", "Missing paths remembered by the negative cache.", nil, nil)

	// The memory budget shared by the cache and the relay (Config.Budget),
	// exported here, its one registration, when there is one.
	descBudgetMax      = prometheus.NewDesc("p2pcache_memory_budget_bytes", "The memory budget (--max-memory less the chunk cache).", nil, nil)
	descBudgetInUse    = prometheus.NewDesc("p2pcache_memory_budget_in_use_bytes", "Bytes reserved from the memory budget now.", nil, nil)
	descBudgetPeak     = prometheus.NewDesc("p2pcache_memory_budget_peak_bytes", "Most bytes reserved from the memory budget at once.", nil, nil)
	descBudgetWaiting  = prometheus.NewDesc("p2pcache_memory_budget_waiting", "Reservations waiting for memory now.", nil, nil)
	descBudgetWaits    = prometheus.NewDesc("p2pcache_memory_budget_waits_total", "Reservations that had to wait for memory.", nil, nil)
	descBudgetTimeouts = prometheus.NewDesc("p2pcache_memory_budget_timeouts_total", "Reservations given up: their deadline came before the memory.", nil, nil)
	descBudgetRefusals = prometheus.NewDesc("p2pcache_memory_budget_refusals_total", "Reservations refused at once: larger than the whole budget.", nil, nil)
)

func (c relayCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descChunksServed, descOriginFetches, descOriginBytes, descOriginErrors, descOriginRetries, descPeerFetches, descPeers,
		descDataChannels, descPeerConns, descBans, descCacheBytes, descCacheChunks, descEvictions, descBytesSent, descRejected, descHolderIndex,
		descNegHits, descNegEntries} {
		ch <- d
	}
	if c.r.cfg.Budget != nil {
		for _, d := range []*prometheus.Desc{descBudgetMax, descBudgetInUse, descBudgetPeak, descBudgetWaiting, descBudgetWaits, descBudgetTimeouts, descBudgetRefusals} {
			ch <- d
		}
	}
	c.r.rttHist.Describe(ch)
}

func (c relayCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.r.Stats()
	cs := c.r.cache.Stats()
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v)
	}
	for src, n := range st.ChunksBySource {
		counter(descChunksServed, n, src)
	}
	counter(descOriginFetches, cs.OriginFetches)
	counter(descOriginBytes, cs.OriginBytes)
	counter(descOriginErrors, cs.OriginErrors)
	counter(descOriginRetries, cs.OriginRetries)
	for res, n := range st.PeerFetches {
		counter(descPeerFetches, n, res)
	}
	gauge(descPeers, float64(st.Peers))
	gauge(descDataChannels, float64(st.DataChannels))
	for records, n := range st.PeerConnections {
		counter(descPeerConns, n, records)
	}
	counter(descBans, st.Bans)
	gauge(descCacheBytes, float64(cs.Bytes))
	gauge(descCacheChunks, float64(cs.Chunks))
	counter(descEvictions, cs.Evictions)
	counter(descBytesSent, st.BytesSent)
	for reason, n := range map[string]uint64{
		"bad_frame": st.BadFrames, "bad_signal": st.BadSignals, "busy": st.Busy, "pong_dropped": st.PongDrops,
		"slow_consumer": st.SlowConsumers, "banned": st.Refused, "holder_index_full": st.HolderDrops,
		"peer_bytes_rejected": cs.PeerRejects, "extra_data_channel": st.ExtraChannels, "rate_limited": st.RateLimited,
		"ping_dropped": st.PingDrops, "bad_pong": st.BadPongs, "have_rate_limited": st.HaveDrops,
		"overloaded": st.Overloaded, "token_expired": st.Expired, "memory_busy": st.MemoryBusy,
	} {
		counter(descRejected, n, reason)
	}
	gauge(descHolderIndex, float64(st.HolderIndex))
	counter(descNegHits, cs.NegativeHits)
	gauge(descNegEntries, float64(cs.NegativeEntries))
	if b := c.r.cfg.Budget; b != nil {
		bs := b.Stats()
		gauge(descBudgetMax, float64(bs.Max))
		gauge(descBudgetInUse, float64(bs.InUse))
		gauge(descBudgetPeak, float64(bs.Peak))
		gauge(descBudgetWaiting, float64(bs.Waiting))
		counter(descBudgetWaits, bs.Waits)
		counter(descBudgetTimeouts, bs.Timeouts)
		counter(descBudgetRefusals, bs.Refusals)
	}
	c.r.rttHist.Collect(ch)
}
