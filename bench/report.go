package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// schema names the JSON layout; bump it on incompatible changes.
const schema = "p2pcache-bench/1"

// Report is the --json output. The top level carries the last run's keys
// (peers, connect_ms, fetch_ms, …, baseline_http) so a single-run report
// reads flat; runs holds every run in --peers order, each with the same keys.
type Report struct {
	Schema    string       `json:"schema"`
	GoVersion string       `json:"go_version"`
	Timestamp string       `json:"timestamp"`
	Host      hostInfo     `json:"host"`
	Settings  settingsJSON `json:"settings"`
	Files     filesJSON    `json:"files"`
	Notes     []string     `json:"notes"`
	*RunReport
	Runs []*RunReport `json:"runs"`
}

type hostInfo struct {
	CPUs         int     `json:"cpus"`
	OS           string  `json:"os"`
	Arch         string  `json:"arch"`
	ClockTicks   float64 `json:"clk_tck"`
	LoadAvgStart string  `json:"loadavg_start,omitempty"`
	LoadAvgEnd   string  `json:"loadavg_end,omitempty"`
}

type settingsJSON struct {
	Peers           []int     `json:"peers"`
	Files           string    `json:"files"`
	RequestsPerPeer int       `json:"requests_per_peer,omitempty"`
	DurationS       float64   `json:"duration_s,omitempty"`
	WarmupS         float64   `json:"warmup_s"`
	Zipf            float64   `json:"zipf"`
	CacheSize       string    `json:"cache_size"`
	CacheBytes      int64     `json:"cache_bytes"`
	PeerFetch       string    `json:"peer_fetch"`
	RTTMS           float64   `json:"rtt_ms"`
	BandwidthBps    float64   `json:"bandwidth_bytes_per_s"`
	Seed            uint64    `json:"seed"`
	Quick           bool      `json:"quick"`
	Relay           string    `json:"relay"`
	DialConc        int       `json:"dial_concurrency"`
	PhaseTimeoutS   float64   `json:"phase_timeout_s"`
	RequestTimeoutS float64   `json:"request_timeout_s"`
	IdleMS          float64   `json:"idle_ms"`
	HTTPS           bool      `json:"https_baseline"`
	Probe           int       `json:"probe_fetches"`
	Relays          int       `json:"relays"`                 // relay processes in the WebRTC phase
	RelayRTTMS      []float64 `json:"relay_rtt_ms,omitempty"` // each one's RTT to its peers (--relay-rtt)
}

type filesJSON struct {
	Source          string      `json:"source"`
	Count           int         `json:"count"`
	WorkingSetBytes int64       `json:"working_set_bytes"`
	List            []benchFile `json:"list"`
}

// RunReport is one --peers value: the WebRTC phase's figures at the top,
// the baselines beside them, and vs_http, every comparable figure as a ratio
// WebRTC ÷ HTTP /files.
type RunReport struct {
	Peers int `json:"peers"`
	phaseStats
	WSToDCMS      *dist         `json:"ws_to_dc_ms,omitempty"`
	MeasuredRTTMS *dist         `json:"measured_rtt_ms,omitempty"`
	Chunks        *chunkSources `json:"chunks"`
	RelayEgress   int64         `json:"relay_egress_bytes"`
	// RelayEgressSource says where RelayEgress comes from: "metrics"
	// (p2pcache_bytes_sent_total) or "proc_wchar" (bytes the relay process
	// wrote to sockets and files, /proc/PID/io; includes TLS/DTLS/SCTP
	// overhead) when the metric stayed at 0.
	RelayEgressSource string           `json:"relay_egress_source,omitempty"`
	PeerFetches       map[string]int64 `json:"peer_fetches,omitempty"`
	// RelayRejected is p2pcache_rejected_total by reason during the WebRTC
	// requests (slow_consumer, pong_dropped, busy, …), nonzero ones only.
	RelayRejected  map[string]int64   `json:"relay_rejected,omitempty"`
	BaselineHTTP   *baselineJSON      `json:"baseline_http,omitempty"`
	BaselineHTTPS  *baselineJSON      `json:"baseline_https,omitempty"`
	BaselineOrigin *baselineJSON      `json:"baseline_origin,omitempty"`
	VsHTTP         map[string]float64 `json:"vs_http,omitempty"`
	VsHTTPS        map[string]float64 `json:"vs_https,omitempty"`
	// Cluster is each relay's figures with --relays > 1 (cluster.go); then
	// chunks and relay_egress_bytes are the sums over the relays.
	Cluster *clusterJSON `json:"cluster,omitempty"`

	phases map[string]*phaseOut // raw data for the HTML
}

// baselineJSON is a baseline phase: the same figures.
type baselineJSON struct {
	phaseStats
	VsHTTP map[string]float64 `json:"vs_http,omitempty"` // origin only: origin ÷ HTTP /files
}

// phaseStats are the figures every phase has.
type phaseStats struct {
	Requests        int          `json:"requests"` // attempted
	Completed       int          `json:"completed"`
	DeliveredBytes  int64        `json:"delivered_bytes"`
	WallSeconds     float64      `json:"wall_seconds"`
	ConnectMS       dist         `json:"connect_ms"`
	ConnectRTTs     *dist        `json:"connect_rtts,omitempty"`
	FetchMS         dist         `json:"fetch_ms"`
	TTFBMS          dist         `json:"ttfb_ms"`
	TTFBRTTs        *dist        `json:"ttfb_rtts,omitempty"`
	BySize          []classStats `json:"by_size"`
	GoodputMbps     float64      `json:"goodput_mbps"`     // megabits per second, aggregate
	GoodputMBps     float64      `json:"goodput_mb_per_s"` // megabytes (10^6) per second, aggregate
	PerPeerGoodput  dist         `json:"goodput_per_peer_mbps"`
	OriginOffload   float64      `json:"origin_offload"`
	Origin          originCount  `json:"origin"`
	CPUMsPerMB      *float64     `json:"cpu_ms_per_mb"` // null without process metrics
	Relay           *relayJSON   `json:"relay"`
	Errors          int          `json:"errors"`
	ConnectErrors   int          `json:"connect_errors"`
	FailedRequests  int          `json:"failed_requests"`
	VerifyFailures  int          `json:"verify_failures"`
	NotRun          int          `json:"not_run"`
	ProbeErrors     int          `json:"probe_errors"`
	WarmupErrors    int          `json:"warmup_errors"`
	Warm64KMS       *dist        `json:"warm_64k_ms,omitempty"`      // warm-cache 64 KiB fetch, one peer, others idle
	Warm64KTTFBMS   *dist        `json:"warm_64k_ttfb_ms,omitempty"` // ... its first byte
	Warm64KRTTs     *dist        `json:"warm_64k_rtts,omitempty"`    // ... fetch in round trips (with --rtt)
	ErrorSamples    []string     `json:"error_samples,omitempty"`
	BenchCPUSeconds float64      `json:"bench_cpu_seconds"`
	Timeline        timelineJSON `json:"timeline"`
}

type classStats struct {
	Class   string `json:"class"`
	N       int    `json:"n"`
	FetchMS dist   `json:"fetch_ms"`
	TTFBMS  dist   `json:"ttfb_ms"`
	// GoodputMBps is the mean of bytes ÷ fetch time over the class's fetches.
	GoodputMBps float64 `json:"goodput_mb_per_s"`
}

type chunkSources struct {
	Cache  int64 `json:"cache"`
	Peer   int64 `json:"peer"`
	Relay  int64 `json:"relay"` // from another relay of a cluster (--relays)
	Origin int64 `json:"origin"`
}

type relayJSON struct {
	CPUSeconds        float64 `json:"cpu_seconds"`
	CPUSecondsConnect float64 `json:"cpu_seconds_connect"`
	CPUMsPerMB        float64 `json:"cpu_ms_per_mb"`
	PeakRSSBytes      int64   `json:"peak_rss_bytes"`
	RSSIdleBytes      int64   `json:"rss_idle_bytes"`
	RSSConnectedBytes int64   `json:"rss_connected_bytes,omitempty"`
	BytesPerPeer      int64   `json:"bytes_per_peer"`
}

type timelineJSON struct {
	IntervalMS  float64   `json:"interval_ms"`
	T           []float64 `json:"t_s"`
	GoodputMBps []float64 `json:"mb_per_s"`
	RSSBytes    []int64   `json:"rss_bytes,omitempty"`
}

// statsOf summarizes one phase.
func statsOf(p *phaseOut, rtt time.Duration) phaseStats {
	var s phaseStats
	if p == nil {
		return s
	}
	var fetch, ttfb []float64
	cls := make([][]reqResult, len(sizeClasses))
	for _, e := range p.connectErrs { // the cause first: its requests fail as "not connected"
		if len(s.ErrorSamples) < 5 {
			s.ErrorSamples = append(s.ErrorSamples, e)
		}
	}
	for _, r := range p.results {
		s.Requests++
		if r.err != "" {
			s.FailedRequests++
			if r.verifyFail {
				s.VerifyFailures++
			}
			if len(s.ErrorSamples) < 5 {
				s.ErrorSamples = append(s.ErrorSamples, r.err)
			}
			continue
		}
		s.Completed++
		s.DeliveredBytes += r.bytes
		fetch = append(fetch, ms(r.elapsed))
		ttfb = append(ttfb, ms(r.ttfb))
		c := classOf(r.size)
		cls[c] = append(cls[c], r)
	}
	s.Requests += p.notRun
	s.NotRun = p.notRun
	s.ConnectErrors = len(p.connectErrs)
	s.ProbeErrors = len(p.probeErrs)
	for _, e := range p.probeErrs {
		if len(s.ErrorSamples) < 5 {
			s.ErrorSamples = append(s.ErrorSamples, e)
		}
	}
	s.WarmupErrors = p.warmupErrors
	s.Errors = s.FailedRequests + s.NotRun + s.ConnectErrors + s.ProbeErrors + s.WarmupErrors
	if len(p.probe) > 0 {
		df, dt := summarizeMS(p.probe), summarizeMS(p.probeTTFB)
		s.Warm64KMS, s.Warm64KTTFBMS = &df, &dt
		if rtt > 0 {
			dr := df.scale(ms(rtt))
			s.Warm64KRTTs = &dr
		}
	}
	s.WallSeconds = p.wall.Seconds()
	s.FetchMS, s.TTFBMS = summarize(fetch), summarize(ttfb)
	s.ConnectMS = summarizeMS(p.connect)
	if rtt > 0 {
		r := ms(rtt)
		c, t := s.ConnectMS.scale(r), s.TTFBMS.scale(r)
		s.ConnectRTTs, s.TTFBRTTs = &c, &t
	}
	for i, c := range sizeClasses {
		cs := classStats{Class: c.Name, N: len(cls[i])}
		var f, t []float64
		var rate float64
		for _, r := range cls[i] {
			f = append(f, ms(r.elapsed))
			t = append(t, ms(r.ttfb))
			rate += float64(r.bytes) / max(r.elapsed.Seconds(), 1e-9) / 1e6
		}
		cs.FetchMS, cs.TTFBMS = summarize(f), summarize(t)
		if len(cls[i]) > 0 {
			cs.GoodputMBps = rate / float64(len(cls[i]))
		}
		s.BySize = append(s.BySize, cs)
	}
	if p.wall > 0 {
		s.GoodputMBps = float64(s.DeliveredBytes) / p.wall.Seconds() / 1e6
		s.GoodputMbps = s.GoodputMBps * 8
	}
	var pp []float64
	for i, n := range p.peerBytes {
		if p.peerTime[i] > 0 {
			pp = append(pp, float64(n)*8/1e6/p.peerTime[i].Seconds())
		}
	}
	s.PerPeerGoodput = summarize(pp)
	s.Origin = p.origin
	if s.DeliveredBytes > 0 {
		s.OriginOffload = 1 - float64(p.origin.Bytes)/float64(s.DeliveredBytes)
	}
	if p.hasProc {
		rj := &relayJSON{
			CPUSeconds: p.cpuWork, CPUSecondsConnect: p.cpuConnect, PeakRSSBytes: p.hwm,
			RSSIdleBytes: p.rssIdle, RSSConnectedBytes: p.rssConnected,
		}
		if s.DeliveredBytes > 0 {
			rj.CPUMsPerMB = p.cpuWork * 1000 / (float64(s.DeliveredBytes) / 1e6)
			v := rj.CPUMsPerMB
			s.CPUMsPerMB = &v
		}
		if connected := p.peers - len(p.connectErrs); p.kind == phaseWebRTC && connected > 0 && p.rssConnected > 0 {
			rj.BytesPerPeer = (p.rssConnected - p.rssIdle) / int64(connected)
		}
		s.Relay = rj
	}
	s.BenchCPUSeconds = p.benchCPU
	s.Timeline = timelineOf(p.timeline)
	return s
}

func timelineOf(ticks []tick) timelineJSON {
	tl := timelineJSON{IntervalMS: ms(sampleEvery)}
	hasRSS := false
	for _, t := range ticks {
		if t.RSS > 0 {
			hasRSS = true
		}
	}
	for i := 1; i < len(ticks); i++ {
		dt := ticks[i].T - ticks[i-1].T
		if dt <= 0 {
			continue
		}
		tl.T = append(tl.T, round3(ticks[i].T))
		tl.GoodputMBps = append(tl.GoodputMBps, round3(float64(ticks[i].Bytes-ticks[i-1].Bytes)/dt/1e6))
		if hasRSS {
			tl.RSSBytes = append(tl.RSSBytes, ticks[i].RSS)
		}
	}
	return tl
}

func round3(v float64) float64 { return float64(int64(v*1000+0.5)) / 1000 }

// buildRun assembles a run's report from its phases (baselines may be nil).
func buildRun(w, h, hs, og *phaseOut, rtt time.Duration) *RunReport {
	wrtt := rtt
	if w.cluster != nil {
		for _, d := range w.cluster.rtts {
			if d != rtt {
				wrtt = 0 // the relays' RTTs differ: no figure in RTTs
			}
		}
	}
	r := &RunReport{Peers: w.peers, phaseStats: statsOf(w, wrtt), phases: map[string]*phaseOut{phaseWebRTC: w}, Cluster: clusterOf(w.cluster)}
	if len(w.wsToDC) > 0 {
		d := summarizeMS(w.wsToDC)
		r.WSToDCMS = &d
	}
	if len(w.srtt) > 0 {
		d := summarizeMS(w.srtt)
		r.MeasuredRTTMS = &d
	}
	if w.hasMetrics {
		const cs = "p2pcache_chunks_served_total"
		r.Chunks = &chunkSources{
			Cache:  int64(w.after.delta(w.before, cs, "source", "cache")),
			Peer:   int64(w.after.delta(w.before, cs, "source", "peer")),
			Relay:  int64(w.after.delta(w.before, cs, "source", "relay")),
			Origin: int64(w.after.delta(w.before, cs, "source", "origin")),
		}
		r.RelayEgress = int64(w.after.delta(w.before, "p2pcache_bytes_sent_total"))
		r.RelayEgressSource = "metrics"
		r.PeerFetches = map[string]int64{}
		r.RelayRejected = map[string]int64{}
		for series, v := range w.after {
			if reason, ok := strings.CutPrefix(series, `p2pcache_rejected_total{reason="`); ok {
				reason = strings.TrimSuffix(reason, `"}`)
				if d := int64(v - w.before[series]); d != 0 {
					r.RelayRejected[reason] = d
				}
			}
		}
		for _, res := range []string{"ok", "timeout", "hash_mismatch", "gone"} {
			if v := int64(w.after.delta(w.before, "p2pcache_peer_fetches_total", "result", res)); v != 0 {
				r.PeerFetches[res] = v
			}
		}
	}
	if r.RelayEgress == 0 && w.egressProc > 0 {
		r.RelayEgress, r.RelayEgressSource = w.egressProc, "proc_wchar"
	}
	if c := r.Cluster; c != nil {
		var sum chunkSources
		var egress int64
		all := true
		for _, m := range c.Members {
			all = all && m.Scraped
			sum.Cache += m.ChunksBySource["cache"]
			sum.Peer += m.ChunksBySource["peer"]
			sum.Relay += m.ChunksBySource["relay"]
			sum.Origin += m.ChunksBySource["origin"]
			egress += m.EgressBytes
		}
		if all {
			r.Chunks, r.RelayEgress, r.RelayEgressSource = &sum, egress, "metrics, all relays"
		}
	}
	if hs != nil {
		r.phases[phaseHTTPS] = hs
		r.BaselineHTTPS = &baselineJSON{phaseStats: statsOf(hs, rtt)}
		r.VsHTTPS = ratios(&r.phaseStats, &r.BaselineHTTPS.phaseStats)
	}
	if h != nil {
		r.phases[phaseHTTP] = h
		r.BaselineHTTP = &baselineJSON{phaseStats: statsOf(h, rtt)}
		r.VsHTTP = ratios(&r.phaseStats, &r.BaselineHTTP.phaseStats)
	}
	if og != nil {
		r.phases[phaseOrigin] = og
		r.BaselineOrigin = &baselineJSON{phaseStats: statsOf(og, rtt)}
		if h != nil {
			r.BaselineOrigin.VsHTTP = ratios(&r.BaselineOrigin.phaseStats, &r.BaselineHTTP.phaseStats)
		}
	}
	return r
}

// ratios are a ÷ b for every comparable figure (0 where b is 0).
func ratios(a, b *phaseStats) map[string]float64 {
	m := map[string]float64{
		"connect_p50":          ratio(a.ConnectMS.P50, b.ConnectMS.P50),
		"connect_p95":          ratio(a.ConnectMS.P95, b.ConnectMS.P95),
		"connect_p99":          ratio(a.ConnectMS.P99, b.ConnectMS.P99),
		"fetch_p50":            ratio(a.FetchMS.P50, b.FetchMS.P50),
		"fetch_p95":            ratio(a.FetchMS.P95, b.FetchMS.P95),
		"fetch_p99":            ratio(a.FetchMS.P99, b.FetchMS.P99),
		"ttfb_p50":             ratio(a.TTFBMS.P50, b.TTFBMS.P50),
		"ttfb_p95":             ratio(a.TTFBMS.P95, b.TTFBMS.P95),
		"ttfb_p99":             ratio(a.TTFBMS.P99, b.TTFBMS.P99),
		"goodput":              ratio(a.GoodputMBps, b.GoodputMBps),
		"goodput_per_peer_p50": ratio(a.PerPeerGoodput.P50, b.PerPeerGoodput.P50),
		"origin_bytes":         ratio(float64(a.Origin.Bytes), float64(b.Origin.Bytes)),
		"origin_offload":       ratio(a.OriginOffload, b.OriginOffload),
	}
	if a.Warm64KMS != nil && b.Warm64KMS != nil {
		m["warm_64k_p50"] = ratio(a.Warm64KMS.P50, b.Warm64KMS.P50)
		m["warm_64k_p95"] = ratio(a.Warm64KMS.P95, b.Warm64KMS.P95)
	}
	for i := range a.BySize {
		if i < len(b.BySize) {
			m["fetch_p50_"+a.BySize[i].Class] = ratio(a.BySize[i].FetchMS.P50, b.BySize[i].FetchMS.P50)
		}
	}
	if a.Relay != nil && b.Relay != nil {
		m["cpu_seconds"] = ratio(a.Relay.CPUSeconds, b.Relay.CPUSeconds)
		m["cpu_ms_per_mb"] = ratio(a.Relay.CPUMsPerMB, b.Relay.CPUMsPerMB)
		m["peak_rss"] = ratio(float64(a.Relay.PeakRSSBytes), float64(b.Relay.PeakRSSBytes))
	}
	for k, v := range m {
		m[k] = float64(int64(v*10000+0.5)) / 10000
	}
	return m
}

// writeJSON writes the report, creating the file's directory.
func writeJSON(path string, rep *Report) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	return writeFile(path, append(b, '\n'))
}

func writeFile(path string, b []byte) error {
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	return os.WriteFile(path, b, 0o644)
}
