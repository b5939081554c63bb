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
	descBans          = prometheus.NewDesc("p2pcache_peer_bans_total", "Peers banned for sending bytes that did not match the manifest.", nil, nil)
	descCacheBytes    = prometheus.NewDesc("p2pcache_cache_bytes", "Chunk bytes held in the relay's LRU.", nil, nil)
	descCacheChunks   = prometheus.NewDesc("p2pcache_cache_chunks", "Chunks held in the relay's LRU.", nil, nil)
	descEvictions     = prometheus.NewDesc("p2pcache_cache_evictions_total", "Chunks evicted to keep the cache's byte budget.", nil, nil)
	descBytesSent     = prometheus.NewDesc("p2pcache_bytes_sent_total", "Bytes sent to peers (frames, both transports).", nil, nil)
	descRejected      = prometheus.NewDesc("p2pcache_rejected_total", "Things refused or dropped, by reason.", []string{"reason"}, nil)
	descHolderIndex   = prometheus.NewDesc("p2pcache_holder_index_entries", "(chunk, peer) pairs known from peers' HAVE frames.", nil, nil)
)

func (c relayCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descChunksServed, descOriginFetches, descOriginBytes, descOriginErrors, descOriginRetries, descPeerFetches, descPeers,
		descDataChannels, descBans, descCacheBytes, descCacheChunks, descEvictions, descBytesSent, descRejected, descHolderIndex} {
		ch <- d
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
	counter(descBans, st.Bans)
	gauge(descCacheBytes, float64(cs.Bytes))
	gauge(descCacheChunks, float64(cs.Chunks))
	counter(descEvictions, cs.Evictions)
	counter(descBytesSent, st.BytesSent)
	for reason, n := range map[string]uint64{
		"bad_frame": st.BadFrames, "bad_signal": st.BadSignals, "busy": st.Busy, "pong_dropped": st.PongDrops,
		"slow_consumer": st.SlowConsumers, "banned": st.Refused, "holder_index_full": st.HolderDrops,
		"peer_bytes_rejected": cs.PeerRejects, "extra_data_channel": st.ExtraChannels, "rate_limited": st.RateLimited,
	} {
		counter(descRejected, n, reason)
	}
	gauge(descHolderIndex, float64(st.HolderIndex))
	c.r.rttHist.Collect(ch)
}
