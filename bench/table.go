package main

// The terminal table: one column per phase, a ratio column per baseline,
// and the scaling summary across runs.

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

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
