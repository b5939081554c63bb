package main

import (
	"fmt"
	"html"
	"math"
	"sort"
	"strings"
)

// The --html report: one self-contained page, inline SVG charts, inline
// CSS, no script and nothing fetched from elsewhere.
//
// Per run: a figures table (every phase, ratios to HTTP and HTTPS /files),
// the fetch-time and first-chunk CDFs (WebRTC against the baselines), goodput
// over time, and where the relay got the chunks it sent. With several
// --peers values, scaling charts across runs.

// Colors per phase, stable across charts.
var phaseColors = map[string]string{
	phaseWebRTC: "#d62728",
	phaseHTTP:   "#1f77b4",
	phaseHTTPS:  "#2ca02c",
	phaseOrigin: "#7f7f7f",
}

// series is one line of a chart.
type series struct {
	name   string
	color  string
	xs, ys []float64
	dash   bool
}

// chart is a line chart.
type chart struct {
	title, xLabel, yLabel string
	logX                  bool
	yMin0                 bool // start the y axis at 0
	yMax                  float64
	series                []series
	step                  bool // draw as a step function (CDFs)
}

const (
	chartW, chartH           = 640, 300
	padL, padR, padT, padB   = 64, 16, 28, 44
	plotW, plotH             = chartW - padL - padR, chartH - padT - padB
	maxCDFPoints             = 400
	legendRowH, legendSwatch = 16, 18
)

// svg renders the chart; a chart with no points says so.
func (c chart) svg() string {
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="%s">`,
		chartW, chartH, chartW, chartH, html.EscapeString(c.title))
	fmt.Fprintf(&b, `<text x="%d" y="18" class="title">%s</text>`, padL, html.EscapeString(c.title))
	xmin, xmax := math.Inf(1), math.Inf(-1)
	ymin, ymax := math.Inf(1), math.Inf(-1)
	n := 0
	for _, s := range c.series {
		for i := range s.xs {
			x, y := s.xs[i], s.ys[i]
			if c.logX && x <= 0 {
				continue
			}
			if math.IsNaN(x) || math.IsNaN(y) || math.IsInf(x, 0) || math.IsInf(y, 0) {
				continue
			}
			xmin, xmax = math.Min(xmin, x), math.Max(xmax, x)
			ymin, ymax = math.Min(ymin, y), math.Max(ymax, y)
			n++
		}
	}
	if n == 0 {
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="empty">no data</text></svg>`, chartW/2-30, chartH/2)
		return b.String()
	}
	if c.yMin0 {
		ymin = math.Min(ymin, 0)
	}
	if c.yMax > 0 {
		ymax = c.yMax
	}
	if ymax == ymin {
		ymax = ymin + 1
	}
	ymax += (ymax - ymin) * 0.05
	if c.yMax > 0 {
		ymax = c.yMax
	}
	var tx func(float64) float64
	var xticks []float64
	if c.logX {
		if xmax == xmin {
			xmin, xmax = xmin/2, xmax*2
		}
		lx0, lx1 := math.Log10(xmin), math.Log10(xmax)
		tx = func(x float64) float64 { return padL + (math.Log10(x)-lx0)/(lx1-lx0)*plotW }
		xticks = logTicks(xmin, xmax)
	} else {
		if xmax == xmin {
			xmin, xmax = xmin-1, xmax+1
		}
		tx = func(x float64) float64 { return padL + (x-xmin)/(xmax-xmin)*plotW }
		xticks = niceTicks(xmin, xmax, 6)
	}
	ty := func(y float64) float64 { return padT + plotH - (y-ymin)/(ymax-ymin)*plotH }
	// Grid and axes.
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" class="plot"/>`, padL, padT, plotW, plotH)
	for _, t := range niceTicks(ymin, ymax, 5) {
		y := ty(t)
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" class="grid"/><text x="%d" y="%.1f" class="ytick">%s</text>`,
			padL, padL+plotW, y, y, padL-6, y+4, tickLabel(t))
	}
	for _, t := range xticks {
		x := tx(t)
		if x < padL-0.5 || x > padL+plotW+0.5 {
			continue
		}
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" class="grid"/><text x="%.1f" y="%d" class="xtick">%s</text>`,
			x, x, padT, padT+plotH, x, padT+plotH+16, tickLabel(t))
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" class="xlabel">%s</text>`, padL+plotW/2, chartH-6, html.EscapeString(c.xLabel))
	fmt.Fprintf(&b, `<text x="14" y="%d" class="ylabel" transform="rotate(-90 14 %d)">%s</text>`, padT+plotH/2, padT+plotH/2, html.EscapeString(c.yLabel))
	// Lines.
	for _, s := range c.series {
		var pts []string
		prevY := math.NaN()
		for i := range s.xs {
			x, y := s.xs[i], s.ys[i]
			if (c.logX && x <= 0) || math.IsNaN(x) || math.IsNaN(y) || math.IsInf(x, 0) || math.IsInf(y, 0) {
				continue
			}
			if c.step && !math.IsNaN(prevY) {
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", tx(x), ty(prevY)))
			}
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", tx(x), ty(y)))
			prevY = y
		}
		if len(pts) == 0 {
			continue
		}
		dash := ""
		if s.dash {
			dash = ` stroke-dasharray="5 3"`
		}
		fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="1.8"%s/>`, strings.Join(pts, " "), s.color, dash)
		if len(pts) == 1 || (!c.step && len(pts) <= 12) {
			for _, p := range pts {
				xy := strings.SplitN(p, ",", 2)
				fmt.Fprintf(&b, `<circle cx="%s" cy="%s" r="2.8" fill="%s"/>`, xy[0], xy[1], s.color)
			}
		}
	}
	// Legend: top left inside the plot; bottom right for CDFs, which
	// climb from the bottom left.
	lx, ly := padL+8, padT+14
	if c.step {
		nl := 0
		for _, s := range c.series {
			if len(s.xs) > 0 {
				nl++
			}
		}
		lx, ly = padL+plotW-150, padT+plotH-8-legendRowH*(nl-1)
	}
	for _, s := range c.series {
		if len(s.xs) == 0 {
			continue
		}
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="144" height="%d" fill="#fff" fill-opacity="0.8"/><line x1="%d" x2="%d" y1="%d" y2="%d" stroke="%s" stroke-width="3"/><text x="%d" y="%d" class="legend">%s</text>`,
			lx-4, ly-12, legendRowH, lx, lx+legendSwatch, ly-4, ly-4, s.color, lx+4+legendSwatch, ly, html.EscapeString(s.name))
		ly += legendRowH
	}
	b.WriteString(`</svg>`)
	return b.String()
}

// niceTicks are about n round values spanning [lo, hi].
func niceTicks(lo, hi float64, n int) []float64 {
	if !(hi > lo) || n < 1 {
		return []float64{lo}
	}
	raw := (hi - lo) / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	var out []float64
	for t := math.Ceil(lo/step) * step; t <= hi+step*1e-9; t += step {
		out = append(out, math.Round(t/step)*step)
		if len(out) > 50 {
			break
		}
	}
	return out
}

// logTicks are 1-2-5 values per decade within [lo, hi].
func logTicks(lo, hi float64) []float64 {
	var out []float64
	for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
		for _, m := range []float64{1, 2, 5} {
			v := m * math.Pow(10, e)
			if v >= lo*0.999 && v <= hi*1.001 {
				out = append(out, v)
			}
		}
	}
	if len(out) < 2 {
		out = append(out, lo, hi)
	}
	return out
}

func tickLabel(v float64) string {
	switch a := math.Abs(v); {
	case a == 0:
		return "0"
	case a >= 1e6:
		return fmt.Sprintf("%gM", v/1e6)
	case a >= 1e4:
		return fmt.Sprintf("%gk", v/1e3)
	case a >= 1:
		return fmt.Sprintf("%g", math.Round(v*100)/100)
	default:
		return fmt.Sprintf("%.3g", v)
	}
}

// barChart is a horizontal stacked bar per row: the shares of each part.
type barPart struct {
	name  string
	color string
	value float64
}

type barRow struct {
	label string
	parts []barPart
}

func stackedBars(title string, rows []barRow) string {
	const w, rowH, labelW, barW = chartW, 30, 150, chartW - 150 - 20
	h := 40 + len(rows)*rowH + 30
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="%s">`, w, h, w, h, html.EscapeString(title))
	fmt.Fprintf(&b, `<text x="10" y="18" class="title">%s</text>`, html.EscapeString(title))
	legend := map[string]string{}
	var order []string
	for i, r := range rows {
		y := 32 + i*rowH
		total := 0.0
		for _, p := range r.parts {
			total += p.value
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="blabel">%s</text>`, labelW-8, y+15, html.EscapeString(r.label))
		if total <= 0 {
			fmt.Fprintf(&b, `<text x="%d" y="%d" class="empty">none</text>`, labelW, y+15)
			continue
		}
		x := float64(labelW)
		for _, p := range r.parts {
			if _, ok := legend[p.name]; !ok {
				legend[p.name] = p.color
				order = append(order, p.name)
			}
			pw := p.value / total * barW
			if pw <= 0 {
				continue
			}
			fmt.Fprintf(&b, `<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"><title>%s: %s (%.1f %%)</title></rect>`,
				x, y, pw, rowH-8, p.color, html.EscapeString(p.name), fnum(p.value), p.value/total*100)
			if pw > 44 {
				fmt.Fprintf(&b, `<text x="%.1f" y="%d" class="inbar">%.0f %%</text>`, x+pw/2, y+15, p.value/total*100)
			}
			x += pw
		}
	}
	lx := labelW
	ly := 32 + len(rows)*rowH + 14
	for _, name := range order {
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="12" height="12" fill="%s"/><text x="%d" y="%d" class="legend">%s</text>`,
			lx, ly-10, legend[name], lx+16, ly, html.EscapeString(name))
		lx += 24 + 8*len(name)
	}
	b.WriteString(`</svg>`)
	return b.String()
}

const htmlStyle = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:1340px;padding:0 16px;color:#222}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:32px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
h3{font-size:15px;margin:18px 0 6px}
table{border-collapse:collapse;margin:8px 0;font-variant-numeric:tabular-nums}
th,td{border:1px solid #ddd;padding:3px 8px;text-align:right;white-space:nowrap}th:first-child,td:first-child{text-align:left}
thead th{background:#f4f4f4}tr.sub td:first-child{padding-left:22px;color:#555}
.meta{color:#555;font-size:13px}.notes li{color:#555;font-size:13px}
.charts{display:flex;flex-wrap:wrap;gap:12px}
.chart{border:1px solid #e4e4e4;background:#fff;max-width:100%;height:auto}
.chart .title{font-weight:600;font-size:13px}.chart .plot{fill:#fcfcfc;stroke:#bbb}
.chart .grid{stroke:#eee}.chart .xtick{font-size:11px;text-anchor:middle;fill:#555}.chart .ytick{font-size:11px;text-anchor:end;fill:#555}
.chart .xlabel,.chart .ylabel{font-size:12px;text-anchor:middle;fill:#333}.chart .legend{font-size:12px}
.chart .blabel{font-size:12px;text-anchor:end}.chart .inbar{font-size:11px;fill:#fff;text-anchor:middle}.chart .empty{fill:#999}
.bad{color:#b00;font-weight:600}.good{color:#070}
`

// renderHTML renders the report as one self-contained HTML page.
func renderHTML(rep *Report) string {
	var b strings.Builder
	esc := html.EscapeString
	st := rep.Settings
	b.WriteString("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">")
	fmt.Fprintf(&b, "<title>p2pcache bench · %s</title><style>%s</style></head><body>\n", esc(rep.Timestamp), htmlStyle)
	fmt.Fprintf(&b, "<h1>p2pcache bench</h1>\n<p class=\"meta\">%s · %s · %d CPUs (%s/%s) · load %s → %s · schema %s</p>\n",
		esc(rep.Timestamp), esc(rep.GoVersion), rep.Host.CPUs, esc(rep.Host.OS), esc(rep.Host.Arch), esc(rep.Host.LoadAvgStart), esc(rep.Host.LoadAvgEnd), esc(rep.Schema))
	load := fmt.Sprintf("%d requests per peer", st.RequestsPerPeer)
	if st.DurationS > 0 {
		load = fmt.Sprintf("%gs per phase", st.DurationS)
	}
	fmt.Fprintf(&b, "<p class=\"meta\">files <b>%s</b>: %d, working set %s MB · %s · zipf %g · seed %d · cache %s (%s MB) · peer-fetch %s · peers %s · relay: %s",
		esc(rep.Files.Source), rep.Files.Count, mb(rep.Files.WorkingSetBytes), esc(load), st.Zipf, st.Seed, esc(st.CacheSize), mb(st.CacheBytes), esc(st.PeerFetch), esc(joinInts(st.Peers)), esc(st.Relay))
	if st.RTTMS > 0 || st.BandwidthBps > 0 {
		bw := "unlimited bandwidth"
		if st.BandwidthBps > 0 {
			bw = fmt.Sprintf("%s MB/s per connection and direction", fnum(st.BandwidthBps/1e6))
		}
		fmt.Fprintf(&b, " · emulated path: RTT %g ms, %s", st.RTTMS, esc(bw))
	}
	b.WriteString("</p>\n<ul class=\"notes\">")
	for _, n := range rep.Notes {
		fmt.Fprintf(&b, "<li>%s</li>", esc(n))
	}
	b.WriteString("</ul>\n")

	if len(rep.Runs) > 1 {
		b.WriteString("<h2>Scaling</h2>\n")
		b.WriteString("<div style=\"overflow-x:auto\">" + scalingTable(rep) + "</div>")
		b.WriteString("<div class=\"charts\">")
		for _, c := range scalingCharts(rep) {
			b.WriteString(c.svg())
		}
		b.WriteString("</div>\n")
	}
	for i, r := range rep.Runs {
		fmt.Fprintf(&b, "<h2>Run %d/%d: %d peer%s</h2>\n", i+1, len(rep.Runs), r.Peers, plural(r.Peers))
		b.WriteString(runTable(rep, r))
		b.WriteString("<div class=\"charts\">")
		for _, c := range runCharts(r) {
			b.WriteString(c.svg())
		}
		b.WriteString(sourceBars(r))
		b.WriteString("</div>\n")
		b.WriteString(clusterTable(r.Cluster))
		for _, k := range tableKinds {
			ps := phaseOf(r, k)
			if ps != nil && len(ps.ErrorSamples) > 0 {
				fmt.Fprintf(&b, "<p class=\"bad\">%s errors (first ones):</p><ul>", esc(phaseTitles[k]))
				for _, e := range ps.ErrorSamples {
					fmt.Fprintf(&b, "<li><code>%s</code></li>", esc(truncate(e, 300)))
				}
				b.WriteString("</ul>")
			}
		}
	}
	b.WriteString("<p class=\"meta\">Generated by <code>go run ./bench</code>; the same figures are in the --json output.</p>\n</body></html>\n")
	return b.String()
}

// phaseOf is a run's figures for one phase, nil when it did not run.
func phaseOf(r *RunReport, kind string) *phaseStats {
	var bj *baselineJSON
	switch kind {
	case phaseWebRTC:
		return &r.phaseStats
	case phaseHTTP:
		bj = r.BaselineHTTP
	case phaseHTTPS:
		bj = r.BaselineHTTPS
	case phaseOrigin:
		bj = r.BaselineOrigin
	}
	if bj == nil {
		return nil
	}
	return &bj.phaseStats
}

// runTable is one run's figures, a column per phase, ratios at the right.
func runTable(rep *Report, r *RunReport) string {
	var b strings.Builder
	esc := html.EscapeString
	var kinds []string
	for _, k := range tableKinds {
		if phaseOf(r, k) != nil {
			kinds = append(kinds, k)
		}
	}
	b.WriteString("<table><thead><tr><th></th>")
	for _, k := range kinds {
		fmt.Fprintf(&b, "<th>%s</th>", esc(phaseTitles[k]))
	}
	b.WriteString("<th>WebRTC ÷ HTTP</th><th>WebRTC ÷ HTTPS</th></tr></thead><tbody>\n")
	line := func(label string, sub bool, key string, f func(*phaseStats) string) {
		cls := ""
		if sub {
			cls = ` class="sub"`
		}
		fmt.Fprintf(&b, "<tr%s><td>%s</td>", cls, esc(label))
		for _, k := range kinds {
			fmt.Fprintf(&b, "<td>%s</td>", esc(f(phaseOf(r, k))))
		}
		var a, c float64
		if key != "" {
			a, c = r.VsHTTP[key], r.VsHTTPS[key]
		}
		fmt.Fprintf(&b, "<td>%s</td><td>%s</td></tr>\n", fratio(a), fratio(c))
	}
	for _, q := range []string{"p50", "p95", "p99"} {
		line("connect "+q+" ms", false, "connect_"+q, func(p *phaseStats) string { return quantile(p.ConnectMS, q) })
	}
	if rep.Settings.RTTMS > 0 {
		line("connect p50 in round trips", true, "", func(p *phaseStats) string {
			if p.ConnectRTTs == nil {
				return "–"
			}
			return quantile(*p.ConnectRTTs, "p50")
		})
	}
	for _, q := range []string{"p50", "p95", "p99"} {
		line("fetch "+q+" ms", false, "fetch_"+q, func(p *phaseStats) string { return quantile(p.FetchMS, q) })
	}
	for _, q := range []string{"p50", "p95", "p99"} {
		line("first chunk "+q+" ms", false, "ttfb_"+q, func(p *phaseStats) string { return quantile(p.TTFBMS, q) })
	}
	if rep.Settings.RTTMS > 0 {
		line("first chunk p50 in round trips", true, "", func(p *phaseStats) string {
			if p.TTFBRTTs == nil {
				return "–"
			}
			return quantile(*p.TTFBRTTs, "p50")
		})
	}
	for ci, c := range sizeClasses {
		line("fetch p50 "+c.Name+" ms (n)", true, "fetch_p50_"+c.Name, func(p *phaseStats) string {
			if ci >= len(p.BySize) || p.BySize[ci].N == 0 {
				return "–"
			}
			return fmt.Sprintf("%s (%d)", fnum(p.BySize[ci].FetchMS.P50), p.BySize[ci].N)
		})
	}
	for _, q := range []string{"p50", "p95"} {
		line("warm 64 KiB fetch "+q+" ms", false, "warm_64k_"+q, func(p *phaseStats) string {
			if p.Warm64KMS == nil {
				return "–"
			}
			return quantile(*p.Warm64KMS, q)
		})
	}
	line("goodput MB/s, all peers", false, "goodput", func(p *phaseStats) string { return fnum(p.GoodputMBps) })
	line("goodput Mbit/s per peer, p50", false, "goodput_per_peer_p50", func(p *phaseStats) string { return fnum(p.PerPeerGoodput.P50) })
	line("delivered MB", false, "", func(p *phaseStats) string { return mb(p.DeliveredBytes) })
	line("origin requests / MB", false, "", func(p *phaseStats) string { return fmt.Sprintf("%d / %s", p.Origin.Requests, mb(p.Origin.Bytes)) })
	line("origin offload", false, "", func(p *phaseStats) string { return pct(p.OriginOffload) })
	rel := func(f func(*relayJSON) string) func(*phaseStats) string {
		return func(p *phaseStats) string {
			if p.Relay == nil {
				return "–"
			}
			return f(p.Relay)
		}
	}
	line("relay CPU s", false, "cpu_seconds", rel(func(j *relayJSON) string { return fnum(j.CPUSeconds) }))
	line("relay CPU ms per MB", false, "cpu_ms_per_mb", rel(func(j *relayJSON) string { return fnum(j.CPUMsPerMB) }))
	line("relay peak RSS MB", false, "peak_rss", rel(func(j *relayJSON) string { return mb(j.PeakRSSBytes) }))
	line("relay RSS per connected peer KB", false, "", rel(func(j *relayJSON) string {
		if j.BytesPerPeer == 0 {
			return "–"
		}
		return fmt.Sprintf("%.0f", float64(j.BytesPerPeer)/1024)
	}))
	line("errors (verify failures)", false, "", func(p *phaseStats) string { return fmt.Sprintf("%d (%d)", p.Errors, p.VerifyFailures) })
	b.WriteString("</tbody></table>\n")
	if r.Chunks != nil {
		fmt.Fprintf(&b, "<p class=\"meta\">WebRTC phase: chunks sent from the relay's cache %d, fetched from peers %d, from the origin %d (relay /metrics)",
			r.Chunks.Cache, r.Chunks.Peer, r.Chunks.Origin)
		if r.RelayEgress > 0 {
			fmt.Fprintf(&b, " · relay egress %s MB (%s)", mb(r.RelayEgress), esc(r.RelayEgressSource))
		}
		b.WriteString("</p>\n")
	}
	return b.String()
}

// runCharts: fetch-time and first-chunk CDFs per phase, goodput over time.
func runCharts(r *RunReport) []chart {
	fetch := chart{title: fmt.Sprintf("Fetch time CDF (request → verified bytes), %d peer%s", r.Peers, plural(r.Peers)),
		xLabel: "ms (log scale)", yLabel: "fraction of fetches", logX: true, yMin0: true, yMax: 1, step: true}
	ttfb := chart{title: "First chunk CDF (request → first body byte)", xLabel: "ms (log scale)", yLabel: "fraction of fetches", logX: true, yMin0: true, yMax: 1, step: true}
	good := chart{title: "Goodput over time (all peers)", xLabel: "seconds since the phase's requests began", yLabel: "MB/s", yMin0: true}
	for _, k := range tableKinds {
		p := r.phases[k]
		if p == nil {
			continue
		}
		var f, t []float64
		for _, res := range p.results {
			if res.err == "" {
				f = append(f, ms(res.elapsed))
				t = append(t, math.Max(ms(res.ttfb), 0.001))
			}
		}
		name, color := phaseTitles[k], phaseColors[k]
		xs, ys := cdf(f, maxCDFPoints)
		fetch.series = append(fetch.series, series{name: name, color: color, xs: xs, ys: ys, dash: k == phaseOrigin})
		xs, ys = cdf(t, maxCDFPoints)
		ttfb.series = append(ttfb.series, series{name: name, color: color, xs: xs, ys: ys, dash: k == phaseOrigin})
		if ps := phaseOf(r, k); ps != nil {
			good.series = append(good.series, series{name: name, color: color, xs: ps.Timeline.T, ys: ps.Timeline.GoodputMBps, dash: k == phaseOrigin})
		}
	}
	// Without raw results (a report read back from JSON) the CDFs fall back
	// to the percentiles.
	if len(r.phases) == 0 {
		for _, k := range tableKinds {
			ps := phaseOf(r, k)
			if ps == nil || ps.FetchMS.N == 0 {
				continue
			}
			fetch.series = append(fetch.series, series{name: phaseTitles[k], color: phaseColors[k],
				xs: []float64{ps.FetchMS.Min, ps.FetchMS.P50, ps.FetchMS.P95, ps.FetchMS.P99, ps.FetchMS.Max}, ys: []float64{0, .5, .95, .99, 1}})
		}
	}
	return []chart{fetch, ttfb, good}
}

// sourceBars: where the relay's chunks came from (WebRTC phase), and the
// origin's share of the bytes delivered in each phase.
func sourceBars(r *RunReport) string {
	var rows []barRow
	if r.Chunks != nil {
		rows = append(rows, barRow{label: "WebRTC: chunks sent", parts: []barPart{
			{"relay cache", "#2ca02c", float64(r.Chunks.Cache)},
			{"peers", "#9467bd", float64(r.Chunks.Peer)},
			{"other relays", "#8c564b", float64(r.Chunks.Relay)},
			{"origin", "#ff7f0e", float64(r.Chunks.Origin)},
		}})
	}
	for _, k := range tableKinds {
		ps := phaseOf(r, k)
		if ps == nil || ps.DeliveredBytes == 0 {
			continue
		}
		fromOrigin := math.Min(float64(ps.Origin.Bytes), float64(ps.DeliveredBytes))
		rows = append(rows, barRow{label: phaseTitles[k] + ": bytes", parts: []barPart{
			{"not from the origin (offload)", "#17becf", float64(ps.DeliveredBytes) - fromOrigin},
			{"origin bytes", "#ff7f0e", fromOrigin},
		}})
	}
	return stackedBars("Sources: chunks by origin of the bytes, and origin offload per phase", rows)
}

// scalingTable: one row per run, ascending peers.
func scalingTable(rep *Report) string {
	runs := append([]*RunReport(nil), rep.Runs...)
	sort.SliceStable(runs, func(i, j int) bool { return runs[i].Peers < runs[j].Peers })
	var b strings.Builder
	b.WriteString("<table><thead><tr><th>peers</th><th>connect p50 / p95 / p99 ms</th><th>fetch p50 / p95 ms</th><th>HTTPS fetch p50 / p95 ms</th>" +
		"<th>goodput MB/s WebRTC / HTTP / HTTPS</th><th>relay CPU ms/MB WebRTC / HTTP / HTTPS</th><th>RSS per peer KB</th><th>origin offload</th><th>errors</th></tr></thead><tbody>\n")
	for _, r := range runs {
		hs := r.BaselineHTTPS
		httpsFetch := "–"
		if hs != nil {
			httpsFetch = fnum(hs.FetchMS.P50) + " / " + fnum(hs.FetchMS.P95)
		}
		good, cpu, perPeer, errs := scalingCells(r, " / ")
		cls := "good"
		if errs > 0 {
			cls = "bad"
		}
		fmt.Fprintf(&b, "<tr><td>%d</td><td>%s / %s / %s</td><td>%s / %s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td class=\"%s\">%d</td></tr>\n",
			r.Peers, fnum(r.ConnectMS.P50), fnum(r.ConnectMS.P95), fnum(r.ConnectMS.P99), fnum(r.FetchMS.P50), fnum(r.FetchMS.P95),
			httpsFetch, good, cpu, perPeer, pct(r.OriginOffload), cls, errs)
	}
	b.WriteString("</tbody></table>\n")
	return b.String()
}

// scalingCharts: figures against the number of peers (log scale).
func scalingCharts(rep *Report) []chart {
	runs := append([]*RunReport(nil), rep.Runs...)
	sort.SliceStable(runs, func(i, j int) bool { return runs[i].Peers < runs[j].Peers })
	mk := func(title, y string, f func(*phaseStats) (float64, bool)) chart {
		c := chart{title: title, xLabel: "peers (log scale)", yLabel: y, logX: true, yMin0: true}
		for _, k := range tableKinds {
			s := series{name: phaseTitles[k], color: phaseColors[k], dash: k == phaseOrigin}
			for _, r := range runs {
				if ps := phaseOf(r, k); ps != nil {
					if v, ok := f(ps); ok {
						s.xs = append(s.xs, float64(r.Peers))
						s.ys = append(s.ys, v)
					}
				}
			}
			if len(s.xs) > 0 {
				c.series = append(c.series, s)
			}
		}
		return c
	}
	good := mk("Aggregate goodput vs peers", "MB/s", func(p *phaseStats) (float64, bool) { return p.GoodputMBps, true })
	fetch := mk("Fetch time p50 vs peers", "ms", func(p *phaseStats) (float64, bool) { return p.FetchMS.P50, p.FetchMS.N > 0 })
	cpu := mk("Relay CPU per delivered MB vs peers", "CPU ms per MB", func(p *phaseStats) (float64, bool) {
		if p.Relay == nil || p.Relay.CPUMsPerMB == 0 {
			return 0, false
		}
		return p.Relay.CPUMsPerMB, true
	})
	conn := chart{title: "WebRTC connect time vs peers", xLabel: "peers (log scale)", yLabel: "ms", logX: true, yMin0: true}
	mem := chart{title: "Relay RSS per connected peer (WebRTC)", xLabel: "peers (log scale)", yLabel: "KB", logX: true, yMin0: true}
	var p50, p95, p99, per series
	p50 = series{name: "p50", color: "#d62728"}
	p95 = series{name: "p95", color: "#ff7f0e"}
	p99 = series{name: "p99", color: "#8c564b", dash: true}
	per = series{name: "RSS per peer", color: "#9467bd"}
	for _, r := range runs {
		x := float64(r.Peers)
		if r.ConnectMS.N > 0 {
			p50.xs, p50.ys = append(p50.xs, x), append(p50.ys, r.ConnectMS.P50)
			p95.xs, p95.ys = append(p95.xs, x), append(p95.ys, r.ConnectMS.P95)
			p99.xs, p99.ys = append(p99.xs, x), append(p99.ys, r.ConnectMS.P99)
		}
		if r.Relay != nil && r.Relay.BytesPerPeer > 0 {
			per.xs, per.ys = append(per.xs, x), append(per.ys, float64(r.Relay.BytesPerPeer)/1024)
		}
	}
	conn.series = []series{p50, p95, p99}
	mem.series = []series{per}
	return []chart{good, fetch, cpu, conn, mem}
}
