package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
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

// ---- the terminal table ----

func mb(b int64) string { return fmt.Sprintf("%.1f", float64(b)/1e6) }

func fnum(v float64) string {
	switch {
	case v == 0:
		return "0"
	case v >= 1000:
		return fmt.Sprintf("%.0f", v)
	case v >= 100:
		return fmt.Sprintf("%.1f", v)
	case v >= 1:
		return fmt.Sprintf("%.2f", v)
	default:
		return fmt.Sprintf("%.3f", v)
	}
}

func fratio(v float64) string {
	if v == 0 {
		return "–"
	}
	return fnum(v) + "×"
}

func pct(v float64) string { return fmt.Sprintf("%.1f %%", v*100) }

// row is one line of the table: a label, a value per phase (WebRTC, HTTP
// /files, HTTPS /files, origin), and the ratios WebRTC ÷ HTTP /files and
// WebRTC ÷ HTTPS /files (0: none).
type row struct {
	label string
	vals  [4]string
	key   string // ratio key in vs_http / vs_https; "" none
}

var tableKinds = [4]string{phaseWebRTC, phaseHTTP, phaseHTTPS, phaseOrigin}

// printRun writes one run's table.
func printRun(w io.Writer, rep *Report, i int) {
	r := rep.Runs[i]
	st := rep.Settings
	load := "?"
	if st.RequestsPerPeer > 0 {
		load = fmt.Sprintf("%d requests each", st.RequestsPerPeer)
	} else {
		load = fmt.Sprintf("%gs per phase", st.DurationS)
	}
	fmt.Fprintf(w, "\n── run %d/%d: %d peer%s, %s ──\n", i+1, len(rep.Runs), r.Peers, plural(r.Peers), load)
	ph := [4]*phaseStats{&r.phaseStats, nil, nil, nil}
	for k, bj := range []*baselineJSON{r.BaselineHTTP, r.BaselineHTTPS, r.BaselineOrigin} {
		if bj != nil {
			ph[k+1] = &bj.phaseStats
		}
	}
	get := func(f func(*phaseStats) string) [4]string {
		var out [4]string
		for k, p := range ph {
			if p == nil {
				out[k] = "–"
			} else {
				out[k] = f(p)
			}
		}
		return out
	}
	opt := func(f func(*phaseStats) *dist, q string) func(*phaseStats) string {
		return func(p *phaseStats) string {
			d := f(p)
			if d == nil {
				return "–"
			}
			return quantile(*d, q)
		}
	}
	only := func(v string) [4]string { return [4]string{v, "", "", ""} }
	rtt := st.RTTMS
	var rows []row
	for _, q := range []string{"p50", "p95", "p99"} {
		rows = append(rows, row{"connect " + q + " ms", get(func(p *phaseStats) string { return quantile(p.ConnectMS, q) }), "connect_" + q})
	}
	if r.WSToDCMS != nil {
		rows = append(rows, row{"  websocket → dc p50 ms", only(fnum(r.WSToDCMS.P50)), ""})
	}
	if rtt > 0 {
		rows = append(rows, row{"connect p50 in RTTs", get(opt(func(p *phaseStats) *dist { return p.ConnectRTTs }, "p50")), "connect_p50"})
		if r.MeasuredRTTMS != nil {
			rows = append(rows, row{"  measured RTT p50 ms", only(fnum(r.MeasuredRTTMS.P50)), ""})
		}
	}
	for _, q := range []string{"p50", "p95", "p99"} {
		rows = append(rows, row{"fetch " + q + " ms", get(func(p *phaseStats) string { return quantile(p.FetchMS, q) }), "fetch_" + q})
	}
	for _, q := range []string{"p50", "p95", "p99"} {
		rows = append(rows, row{"first chunk " + q + " ms", get(func(p *phaseStats) string { return quantile(p.TTFBMS, q) }), "ttfb_" + q})
	}
	if rtt > 0 {
		rows = append(rows, row{"first chunk p50 in RTTs", get(opt(func(p *phaseStats) *dist { return p.TTFBRTTs }, "p50")), "ttfb_p50"})
	}
	for ci, c := range sizeClasses {
		rows = append(rows, row{fmt.Sprintf("  fetch p50 %s ms (n)", c.Name), get(func(p *phaseStats) string {
			if ci >= len(p.BySize) || p.BySize[ci].N == 0 {
				return "–"
			}
			return fmt.Sprintf("%s (%d)", fnum(p.BySize[ci].FetchMS.P50), p.BySize[ci].N)
		}), "fetch_p50_" + c.Name})
		rows = append(rows, row{fmt.Sprintf("  first chunk p50 %s ms", c.Name), get(func(p *phaseStats) string {
			if ci >= len(p.BySize) || p.BySize[ci].N == 0 {
				return "–"
			}
			return fnum(p.BySize[ci].TTFBMS.P50)
		}), ""})
	}
	rows = append(rows,
		row{"warm 64 KiB fetch p50 ms", get(opt(func(p *phaseStats) *dist { return p.Warm64KMS }, "p50")), "warm_64k_p50"},
		row{"warm 64 KiB fetch p95 ms", get(opt(func(p *phaseStats) *dist { return p.Warm64KMS }, "p95")), "warm_64k_p95"},
	)
	if rtt > 0 {
		rows = append(rows, row{"warm 64 KiB p50 in RTTs", get(opt(func(p *phaseStats) *dist { return p.Warm64KRTTs }, "p50")), ""})
	}
	rows = append(rows,
		row{"goodput MB/s (all peers)", get(func(p *phaseStats) string { return fnum(p.GoodputMBps) }), "goodput"},
		row{"goodput Mbit/s per peer p50", get(func(p *phaseStats) string { return fnum(p.PerPeerGoodput.P50) }), "goodput_per_peer_p50"},
		row{"delivered MB", get(func(p *phaseStats) string { return mb(p.DeliveredBytes) }), ""},
		row{"origin requests", get(func(p *phaseStats) string { return fmt.Sprint(p.Origin.Requests) }), ""},
		row{"origin MB", get(func(p *phaseStats) string { return mb(p.Origin.Bytes) }), "origin_bytes"},
		row{"origin offload", get(func(p *phaseStats) string { return pct(p.OriginOffload) }), ""},
	)
	if r.Chunks != nil {
		rows = append(rows,
			row{"chunks cache/peer/relay/origin", only(fmt.Sprintf("%d / %d / %d / %d", r.Chunks.Cache, r.Chunks.Peer, r.Chunks.Relay, r.Chunks.Origin)), ""})
	}
	if r.RelayEgress > 0 {
		rows = append(rows, row{"relay egress MB (" + r.RelayEgressSource + ")", only(mb(r.RelayEgress)), ""})
	}
	relayRow := func(label string, f func(*relayJSON) string, key string) row {
		return row{label, get(func(p *phaseStats) string {
			if p.Relay == nil {
				return "–"
			}
			return f(p.Relay)
		}), key}
	}
	rows = append(rows,
		relayRow("relay CPU s (requests)", func(j *relayJSON) string { return fnum(j.CPUSeconds) }, "cpu_seconds"),
		relayRow("relay CPU ms per MB", func(j *relayJSON) string { return fnum(j.CPUMsPerMB) }, "cpu_ms_per_mb"),
		relayRow("relay peak RSS MB", func(j *relayJSON) string { return mb(j.PeakRSSBytes) }, "peak_rss"),
	)
	if r.Relay != nil {
		rows = append(rows,
			row{"relay CPU s (connecting)", only(fnum(r.Relay.CPUSecondsConnect)), ""},
			row{"relay RSS per peer KB", only(fmt.Sprintf("%.0f", float64(r.Relay.BytesPerPeer)/1024)), ""})
	}
	rows = append(rows,
		row{"errors (verify failures)", get(func(p *phaseStats) string { return fmt.Sprintf("%d (%d)", p.Errors, p.VerifyFailures) }), ""},
		row{"bench CPU s", get(func(p *phaseStats) string { return fnum(p.BenchCPUSeconds) }), ""},
	)
	const format = "%-30s %17s %13s %13s %13s %10s %10s\n"
	fmt.Fprintf(w, format, "", phaseTitles[phaseWebRTC], phaseTitles[phaseHTTP], phaseTitles[phaseHTTPS], phaseTitles[phaseOrigin], "÷ HTTP", "÷ HTTPS")
	for _, rw := range rows {
		var a, b float64
		if rw.key != "" {
			a, b = r.VsHTTP[rw.key], r.VsHTTPS[rw.key]
		}
		fmt.Fprintf(w, format, rw.label, rw.vals[0], rw.vals[1], rw.vals[2], rw.vals[3], fratio(a), fratio(b))
	}
	printCluster(w, r.Cluster)
	for k, p := range ph {
		if p != nil && len(p.ErrorSamples) > 0 {
			fmt.Fprintf(w, "  %s errors, first ones:\n", phaseTitles[tableKinds[k]])
			for _, e := range p.ErrorSamples {
				fmt.Fprintf(w, "    %s\n", truncate(e, 200))
			}
		}
	}
}

// printScaling writes the across-runs summary (several --peers values).
func printScaling(w io.Writer, rep *Report) {
	if len(rep.Runs) < 2 {
		return
	}
	runs := append([]*RunReport(nil), rep.Runs...)
	sort.SliceStable(runs, func(i, j int) bool { return runs[i].Peers < runs[j].Peers })
	const format = "%6s  %-20s  %-20s  %-24s  %-24s  %8s  %8s  %6s\n"
	fmt.Fprintf(w, "\n── scaling (rtc = WebRTC, http/https = /files) ──\n"+format, "peers",
		"connect p50/p95/p99", "fetch p50/p95 rtc", "goodput MB/s rtc/http/https", "CPU ms/MB rtc/http/https", "RSS/peer", "offload", "errors")
	for _, r := range runs {
		good, cpu, perPeer, errs := scalingCells(r, "/")
		perPeer += " KB"
		fmt.Fprintf(w, format, fmt.Sprint(r.Peers),
			fnum(r.ConnectMS.P50)+"/"+fnum(r.ConnectMS.P95)+"/"+fnum(r.ConnectMS.P99),
			fnum(r.FetchMS.P50)+"/"+fnum(r.FetchMS.P95),
			good, cpu, perPeer, pct(r.OriginOffload), fmt.Sprint(errs))
	}
}

// scalingCells are a scaling row's shared figures: goodput and relay CPU per
// MB for WebRTC, HTTP and HTTPS joined by sep, relay memory per peer in KB,
// and the errors of every phase.
func scalingCells(r *RunReport, sep string) (good, cpu, perPeerKB string, errs int) {
	good, cpu, perPeerKB = fnum(r.GoodputMBps), "–", "–"
	if r.Relay != nil {
		cpu = fnum(r.Relay.CPUMsPerMB)
		perPeerKB = fmt.Sprintf("%.0f", float64(r.Relay.BytesPerPeer)/1024)
	}
	for _, b := range []*baselineJSON{r.BaselineHTTP, r.BaselineHTTPS} {
		if b == nil {
			good += sep + "–"
			cpu += sep + "–"
			continue
		}
		good += sep + fnum(b.GoodputMBps)
		if b.Relay != nil {
			cpu += sep + fnum(b.Relay.CPUMsPerMB)
		} else {
			cpu += sep + "–"
		}
	}
	errs = r.Errors
	for _, b := range []*baselineJSON{r.BaselineHTTP, r.BaselineHTTPS, r.BaselineOrigin} {
		if b != nil {
			errs += b.Errors
		}
	}
	return good, cpu, perPeerKB, errs
}

// quantile formats d's p50, p95 or p99 (q), or "–" for no samples.
func quantile(d dist, q string) string {
	if d.N == 0 {
		return "–"
	}
	switch q {
	case "p50":
		return fnum(d.P50)
	case "p95":
		return fnum(d.P95)
	}
	return fnum(d.P99)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// header is the lines printed before the tables.
func printHeader(w io.Writer, rep *Report) {
	st := rep.Settings
	fmt.Fprintf(w, "p2pcache bench · %s · %s · %d CPUs · load %s\n", rep.Timestamp, rep.GoVersion, rep.Host.CPUs, rep.Host.LoadAvgStart)
	fmt.Fprintf(w, "files %s: %d, working set %s MB · zipf %g · seed %d · cache %s (%s MB) · peer-fetch %s · relay %s\n",
		rep.Files.Source, rep.Files.Count, mb(rep.Files.WorkingSetBytes), st.Zipf, st.Seed, st.CacheSize, mb(st.CacheBytes), st.PeerFetch, st.Relay)
	if st.RTTMS > 0 || st.BandwidthBps > 0 {
		bw := "unlimited"
		if st.BandwidthBps > 0 {
			bw = fmt.Sprintf("%s MB/s per connection and direction", fnum(st.BandwidthBps/1e6))
		}
		fmt.Fprintf(w, "emulated path: rtt %g ms, bandwidth %s (user-space delay proxy on the relay's HTTP and ICE-TCP ports and the origin)\n", st.RTTMS, bw)
	}
	for _, n := range rep.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = fmt.Sprint(n)
	}
	return strings.Join(s, ",")
}
