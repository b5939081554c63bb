package main

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	s := []float64{1, 2, 3, 4, 5}
	for _, c := range []struct{ p, want float64 }{{0, 1}, {50, 3}, {95, 4.8}, {99, 4.96}, {100, 5}, {25, 2}} {
		if got := percentile(s, c.p); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("percentile(%v, %v) = %v, want %v", s, c.p, got, c.want)
		}
	}
	if got := percentile(nil, 50); got != 0 {
		t.Errorf("percentile(nil) = %v", got)
	}
	d := summarize([]float64{5, 1, 4, 2, 3})
	want := dist{N: 5, P50: 3, P95: 4.8, P99: 4.96, Mean: 3, Min: 1, Max: 5}
	if math.Abs(d.P99-want.P99) > 1e-9 {
		t.Fatalf("p99 %v", d.P99)
	}
	d.P99 = want.P99
	if math.Abs(d.P95-want.P95) > 1e-9 {
		t.Fatalf("p95 %v", d.P95)
	}
	d.P95 = want.P95
	if d != want {
		t.Errorf("summarize = %+v, want %+v", d, want)
	}
	if (summarize(nil) != dist{}) {
		t.Error("summarize(nil) not zero")
	}
	if got := d.scale(2); got.P50 != 1.5 || got.N != 5 {
		t.Errorf("scale: %+v", got)
	}
}

func TestCDF(t *testing.T) {
	xs, ys := cdf([]float64{3, 1, 2}, 0)
	if !reflect.DeepEqual(xs, []float64{1, 2, 3}) || ys[len(ys)-1] != 1 || ys[0] <= 0 {
		t.Errorf("cdf = %v %v", xs, ys)
	}
	v := make([]float64, 1000)
	for i := range v {
		v[i] = float64(i)
	}
	xs, ys = cdf(v, 100)
	if len(xs) > 101 || xs[len(xs)-1] != 999 || ys[len(ys)-1] != 1 {
		t.Errorf("downsampled cdf: %d points, last (%v, %v)", len(xs), xs[len(xs)-1], ys[len(ys)-1])
	}
	for i := 1; i < len(xs); i++ {
		if xs[i] < xs[i-1] || ys[i] < ys[i-1] {
			t.Fatalf("cdf not monotone at %d", i)
		}
	}
}

func testFiles(n int) []benchFile {
	files := make([]benchFile, n)
	for i := range files {
		files[i] = benchFile{Path: "f" + string(rune('a'+i)), Size: int64(1000 * (i + 1))}
	}
	rankFiles(files, 1)
	return files
}

func TestWorkloadDeterministic(t *testing.T) {
	files := testFiles(8)
	a := sequence(1, 3, 200, 1.1, files)
	b := sequence(1, 3, 200, 1.1, files)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same seed and peer, different sequences")
	}
	if reflect.DeepEqual(a, sequence(1, 4, 200, 1.1, files)) {
		t.Error("peers 3 and 4 have the same sequence")
	}
	if reflect.DeepEqual(a, sequence(2, 3, 200, 1.1, files)) {
		t.Error("seeds 1 and 2 give the same sequence")
	}
	// The ranks are a permutation, fixed by the seed.
	again := testFiles(8)
	seen := map[int]bool{}
	for i := range files {
		if files[i].Rank != again[i].Rank {
			t.Fatal("rankFiles is not deterministic")
		}
		seen[files[i].Rank] = true
	}
	if len(seen) != len(files) {
		t.Fatalf("ranks are not a permutation: %v", seen)
	}
	// Zipf: the rank-0 file is the most requested; uniform draws every file.
	count := make([]int, len(files))
	for _, i := range sequence(7, 0, 4000, 1.1, files) {
		count[i]++
	}
	top := 0
	for i := range files {
		if files[i].Rank == 0 {
			top = i
		}
	}
	for i, c := range count {
		if i != top && c >= count[top] {
			t.Errorf("file %d (rank %d) drawn %d times, the rank-0 file %d", i, files[i].Rank, c, count[top])
		}
	}
	for i, c := range sequenceCounts(sequence(7, 0, 4000, 0, files), len(files)) {
		if c == 0 {
			t.Errorf("uniform: file %d never drawn", i)
		}
	}
}

func sequenceCounts(seq []int, n int) []int {
	c := make([]int, n)
	for _, i := range seq {
		c[i]++
	}
	return c
}

func TestProbeFile(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "img"), 0o755)
	os.WriteFile(filepath.Join(dir, "img", "a.jpg"), []byte("aaaa"), 0o644)
	os.WriteFile(filepath.Join(dir, "b.css"), []byte("bb"), 0o644)
	os.WriteFile(filepath.Join(dir, ".hidden"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(dir, "empty"), nil, 0o644)
	set, err := loadFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(set.files) != 2 || set.total != 6 || set.files[0].Path != "b.css" || set.files[1].Path != "img/a.jpg" {
		t.Fatalf("files %+v (total %d): want b.css and img/a.jpg", set.files, set.total)
	}
	if set.probe.Size != probeSize || set.probe.Path != probePath {
		t.Fatalf("probe %+v", set.probe)
	}
	for _, f := range set.files {
		if f.Path == probePath {
			t.Fatal("the probe is part of the workload")
		}
	}
	f, err := set.fsys.Open(probePath)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(f)
	if !bytes.Equal(b, probeData()) {
		t.Fatal("origin serves other probe bytes")
	}
	if _, err := set.fsys.Open(set.files[0].Path); err != nil {
		t.Fatalf("overlay hides the workload: %v", err)
	}
}

// fakePhase is a phase's raw data with round numbers.
func fakePhase(kind string, peers int, withProc bool) *phaseOut {
	p := &phaseOut{kind: kind, peers: peers, wall: 2 * time.Second, egressProc: -1}
	for i := 0; i < peers; i++ {
		for k := 0; k < 4; k++ {
			size := int64([]int{50_000, 500_000, 2_000_000, 64 << 10}[k])
			p.results = append(p.results, reqResult{peer: i, file: k, size: size, bytes: size,
				elapsed: time.Duration(k+1) * 10 * time.Millisecond, ttfb: time.Duration(k+1) * time.Millisecond})
		}
		p.connect = append(p.connect, time.Duration(20+i)*time.Millisecond)
	}
	p.peerBytes = make([]int64, peers)
	p.peerTime = make([]time.Duration, peers)
	for i := range p.peerBytes {
		p.peerBytes[i], p.peerTime[i] = 2_614_000, time.Second
	}
	p.origin = originCount{Requests: 3, Bytes: 1_000_000}
	p.probe = []time.Duration{time.Millisecond, 2 * time.Millisecond}
	p.probeTTFB = []time.Duration{time.Millisecond / 2, time.Millisecond}
	p.timeline = []tick{{T: 0}, {T: 0.25, Bytes: 1e6}, {T: 0.5, Bytes: 3e6}}
	if withProc {
		p.hasProc, p.cpuWork, p.hwm, p.rssIdle, p.rssConnected = true, 0.5, 80<<20, 20<<20, 20<<20+int64(peers)*100<<10
	}
	if kind == phaseWebRTC {
		p.hasMetrics = true
		p.before = metrics{}
		p.after = metrics{
			`p2pcache_chunks_served_total{source="cache"}`:  10,
			`p2pcache_chunks_served_total{source="peer"}`:   5,
			`p2pcache_chunks_served_total{source="origin"}`: 2,
		}
		p.wsToDC = p.connect
		p.egressProc = 12345
	}
	return p
}

func fakeReport(peers ...int) *Report {
	rep := &Report{Schema: schema, Settings: settingsJSON{Peers: peers, RequestsPerPeer: 4, CacheSize: "25%", PeerFetch: "on", Zipf: 1.1}}
	for _, n := range peers {
		rep.Runs = append(rep.Runs, buildRun(fakePhase(phaseWebRTC, n, true), fakePhase(phaseHTTP, n, true),
			fakePhase(phaseHTTPS, n, true), fakePhase(phaseOrigin, n, false), 0))
	}
	rep.RunReport = rep.Runs[len(rep.Runs)-1]
	return rep
}

// TestJSONShape checks the keys the issue asks for, at the top (the last
// run) and in every element of runs.
func TestJSONShape(t *testing.T) {
	rep := fakeReport(1, 10)
	path := filepath.Join(t.TempDir(), "out", "r.json")
	if err := writeJSON(path, rep); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var top map[string]any
	if err := json.Unmarshal(b, &top); err != nil {
		t.Fatal(err)
	}
	runs, ok := top["runs"].([]any)
	if !ok || len(runs) != 2 {
		t.Fatalf("runs: %v", top["runs"])
	}
	objs := []map[string]any{top}
	for _, r := range runs {
		objs = append(objs, r.(map[string]any))
	}
	paths := []string{
		"peers", "connect_ms.p50", "connect_ms.p95", "connect_ms.p99", "fetch_ms.p50", "fetch_ms.p95", "fetch_ms.p99",
		"goodput_mbps", "origin_offload", "chunks.cache", "chunks.peer", "chunks.origin",
		"relay.cpu_seconds", "relay.cpu_ms_per_mb", "relay.peak_rss_bytes", "relay.bytes_per_peer", "errors",
		"baseline_http.fetch_ms.p50", "baseline_http.fetch_ms.p95", "baseline_http.fetch_ms.p99",
		"baseline_http.goodput_mbps", "baseline_http.cpu_ms_per_mb",
		"baseline_https.fetch_ms.p50", "baseline_https.cpu_ms_per_mb", "ttfb_ms.p50", "by_size", "warm_64k_ms.p50",
		"vs_http.cpu_ms_per_mb", "vs_https.fetch_p50", "relay_egress_bytes",
	}
	for i, o := range objs {
		for _, p := range paths {
			if _, ok := lookup(o, p); !ok {
				t.Errorf("object %d: no key %s", i, p)
			}
		}
	}
	if v, _ := lookup(objs[1], "peers"); v != 1.0 {
		t.Errorf("runs[0].peers = %v", v)
	}
	if v, _ := lookup(top, "peers"); v != 10.0 {
		t.Errorf("top-level peers = %v, want the last run's", v)
	}
	if v, _ := lookup(objs[2], "chunks.cache"); v != 10.0 {
		t.Errorf("chunks.cache = %v", v)
	}
	if v, _ := lookup(objs[2], "relay.bytes_per_peer"); v != float64(100<<10) {
		t.Errorf("bytes_per_peer = %v", v)
	}
	if v, _ := lookup(objs[2], "relay_egress_source"); v != "proc_wchar" {
		t.Errorf("relay_egress_source = %v", v)
	}
	if v, _ := lookup(objs[2], "errors"); v != 0.0 {
		t.Errorf("errors = %v", v)
	}
}

func lookup(m map[string]any, path string) (any, bool) {
	var cur any = m
	for _, k := range strings.Split(path, ".") {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = mm[k]; !ok {
			return nil, false
		}
	}
	return cur, true
}

func TestStatsCountErrors(t *testing.T) {
	p := fakePhase(phaseWebRTC, 2, true)
	p.results[0].err, p.results[0].bytes = "boom", 0
	p.results[1].err, p.results[1].verifyFail, p.results[1].bytes = "bad hash", true, 0
	p.notRun = 3
	p.connectErrs = []string{"peer 9: refused"}
	p.probeErrs = []string{"probe: x"}
	s := statsOf(p, 0)
	if s.FailedRequests != 2 || s.VerifyFailures != 1 || s.NotRun != 3 || s.ConnectErrors != 1 || s.ProbeErrors != 1 || s.Errors != 7 {
		t.Errorf("errors: %+v", s)
	}
	if s.Requests != len(p.results)+3 || s.Completed != len(p.results)-2 {
		t.Errorf("requests %d completed %d", s.Requests, s.Completed)
	}
	s = statsOf(fakePhase(phaseWebRTC, 1, false), 50*time.Millisecond)
	if s.ConnectRTTs == nil || math.Abs(s.ConnectRTTs.P50-s.ConnectMS.P50/50) > 1e-9 || s.Warm64KRTTs == nil {
		t.Errorf("round trips: %+v", s.ConnectRTTs)
	}
	if s.Relay != nil || s.CPUMsPerMB != nil {
		t.Error("relay figures without process metrics")
	}
}

func TestHTMLReport(t *testing.T) {
	for _, peers := range [][]int{{10}, {1, 10, 100}} {
		out := renderHTML(fakeReport(peers...))
		for _, want := range []string{"<!doctype html>", "<svg", "</svg>", "Fetch time CDF", "First chunk CDF", "Goodput over time", "Sources", "<polyline", "WebRTC ÷ HTTPS"} {
			if !strings.Contains(out, want) {
				t.Errorf("%v peers: no %q in the HTML", peers, want)
			}
		}
		scaling := strings.Contains(out, "Aggregate goodput vs peers")
		if scaling != (len(peers) > 1) {
			t.Errorf("%v peers: scaling chart present = %v", peers, scaling)
		}
		for _, bad := range []string{"<script", "src=", "href=\"http", "@import", "NaN", "Inf"} {
			if strings.Contains(out, bad) {
				t.Errorf("%v peers: the HTML has %q (must be self-contained and finite)", peers, bad)
			}
		}
		if strings.Count(out, "<svg") != strings.Count(out, "</svg>") {
			t.Error("unbalanced <svg>")
		}
	}
	// Empty charts still render.
	if s := (chart{title: "x"}).svg(); !strings.Contains(s, "no data") {
		t.Errorf("empty chart: %s", s)
	}
}

func TestTable(t *testing.T) {
	var b bytes.Buffer
	rep := fakeReport(1, 10)
	printHeader(&b, rep)
	for i := range rep.Runs {
		printRun(&b, rep, i)
	}
	printScaling(&b, rep)
	out := b.String()
	for _, want := range []string{"connect p50 ms", "fetch p95 ms", "relay CPU ms per MB", "÷ HTTPS", "warm 64 KiB fetch p50 ms", "── scaling"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in the table", want)
		}
	}
}

func TestParsers(t *testing.T) {
	m, err := parseMetrics(strings.NewReader("# HELP x\n# TYPE x counter\np2pcache_chunks_served_total{source=\"cache\"} 12\nx_total 3.5e+02 1700000000\nweird{a=\"b c}\\\"\"} 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	if m.get("p2pcache_chunks_served_total", "source", "cache") != 12 || m.get("x_total") != 350 || m[`weird{a="b c}\""}`] != 1 {
		t.Errorf("metrics: %v", m)
	}
	if _, err := parseMetrics(strings.NewReader("bad{a=\"x\" 1\n")); err == nil {
		t.Error("unterminated labels accepted")
	}
	if d := (metrics{"a": 5}).delta(metrics{"a": 2}, "a"); d != 3 {
		t.Errorf("delta %v", d)
	}

	u, s, err := parseStat([]byte("42 (a b) c)) S 1 2 3 4 5 6 7 8 9 10 111 222 0 0 20 0 1 0 5 6 7"))
	if err != nil || u != 111 || s != 222 {
		t.Errorf("parseStat = %d %d %v", u, s, err)
	}
	rss, hwm, err := parseStatus([]byte("Name:\tx\nVmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\n"))
	if err != nil || rss != 1<<20 || hwm != 2<<20 {
		t.Errorf("parseStatus = %d %d %v", rss, hwm, err)
	}
	if w := parseIOWChar([]byte("rchar: 1\nwchar: 777\n")); w != 777 {
		t.Errorf("wchar %d", w)
	}
	if w := parseIOWChar([]byte("rchar: 1\n")); w != -1 {
		t.Errorf("wchar absent: %d", w)
	}

	for in, want := range map[string]float64{"10MB/s": 10e6, "1MiB": 1 << 20, "100Mbit/s": 12.5e6, "1Gbps": 125e6, "500KB": 500e3} {
		if got, err := parseRate(in); err != nil || got != want {
			t.Errorf("parseRate(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := parseRate("fast"); err == nil {
		t.Error("parseRate(fast) accepted")
	}
	if got := cacheBytes("25%", 4_000_000); got != 1_000_000 {
		t.Errorf("cacheBytes 25%% = %d", got)
	}
	if got := cacheBytes("1%", 1000); got != 64<<10 {
		t.Errorf("cacheBytes floor = %d", got)
	}
	if got := cacheBytes("2MiB", 1); got != 2<<20 {
		t.Errorf("cacheBytes 2MiB = %d", got)
	}
	if p, err := parsePeers("1, 10,100,10"); err != nil || !reflect.DeepEqual(p, []int{1, 10, 100}) {
		t.Errorf("parsePeers = %v %v", p, err)
	}
	for _, bad := range []string{"", "0", "x", "-1"} {
		if _, err := parsePeers(bad); err == nil {
			t.Errorf("parsePeers(%q) accepted", bad)
		}
	}
}

func TestOptions(t *testing.T) {
	o, err := parseOptions([]string{"--quick"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(o.peers, []int{1, 10}) || o.requests != quickRequests || !o.https || o.probe != 10 || o.warmup != 0 {
		t.Errorf("--quick: %+v", o)
	}
	o, err = parseOptions([]string{"--quick", "--peers", "3", "--https", "off", "--requests", "0", "--warmup", "2s"}, io.Discard)
	if err != nil || o.peers[0] != 3 || o.https || o.requests != 0 || o.warmup != 2*time.Second {
		t.Errorf("explicit flags must win over --quick: %+v %v", o, err)
	}
	if o, err = parseOptions(nil, io.Discard); err != nil || o.warmup != defaultWarmup {
		t.Errorf("default warm-up: %v, want %v (%v)", o.warmup, defaultWarmup, err)
	}
	for _, bad := range [][]string{{"--zipf", "0.5"}, {"--peer-fetch", "maybe"}, {"--cache-size", "0%"}, {"--relay", "ftp://x"},
		{"--https", "x"}, {"--rtt", "-1s"}, {"--relay", "http://x:1", "--rtt", "50ms"}, {"extra"},
		{"--relays", "0"}, {"--relays", "17"}, {"--relays", "3", "--relay-rtt", "1ms,2ms"}, {"--relays", "2", "--relay-rtt", "-1ms"},
		{"--mesh", "maybe"}, {"--relay", "http://x:1", "--relays", "2"}, {"--warmup", "-1s"}} {
		if _, err := parseOptions(bad, io.Discard); !errors.Is(err, errUsage) {
			t.Errorf("%v: err %v, want errUsage", bad, err)
		}
	}
}

// TestClusterOptions: --relays, --relay-rtt (one per relay, or one for
// all) and --mesh.
func TestClusterOptions(t *testing.T) {
	o, err := parseOptions(nil, io.Discard)
	if err != nil || o.relays != 1 || o.relayRTT != nil || !o.mesh || o.needsAltLoopback() {
		t.Fatalf("defaults: %+v %v", o, err)
	}
	o, err = parseOptions([]string{"--relays", "3", "--relay-rtt", "0ms, 20ms,80ms", "--rtt", "5ms"}, io.Discard)
	if err != nil || !reflect.DeepEqual(o.relayRTT, []time.Duration{0, 20 * time.Millisecond, 80 * time.Millisecond}) ||
		o.clusterRTT(2) != 80*time.Millisecond || !o.needsAltLoopback() {
		t.Fatalf("--relay-rtt per relay: %+v %v", o, err)
	}
	o, err = parseOptions([]string{"--relays", "2", "--relay-rtt", "10ms", "--mesh", "off"}, io.Discard)
	if err != nil || !reflect.DeepEqual(o.relayRTT, []time.Duration{10 * time.Millisecond, 10 * time.Millisecond}) || o.mesh || o.proxied() {
		t.Fatalf("--relay-rtt for all, --mesh off: %+v %v", o, err)
	}
	o, err = parseOptions([]string{"--relays", "2", "--rtt", "30ms"}, io.Discard)
	if err != nil || o.clusterRTT(1) != 30*time.Millisecond {
		t.Fatalf("--rtt for every relay without --relay-rtt: %+v %v", o, err)
	}
}

// TestClusterReport: a cluster's per-relay figures are the deltas of each
// relay's metrics; the run's chunks and egress are their sums; a relay
// that could not be scraped is marked and leaves the sums alone.
func TestClusterReport(t *testing.T) {
	m := func(origin, bytes, egress, fills, served, cache, relay float64) metrics {
		return metrics{
			"p2pcache_origin_fetches_total": origin, "p2pcache_origin_bytes_total": bytes, "p2pcache_bytes_sent_total": egress,
			`p2pcache_mesh_fills_total{kind="chunk"}`: fills, `p2pcache_mesh_fills_total{kind="manifest"}`: origin,
			"p2pcache_mesh_served_bytes_total":              served,
			`p2pcache_chunks_served_total{source="cache"}`:  cache,
			`p2pcache_chunks_served_total{source="relay"}`:  relay,
			`p2pcache_chunks_served_total{source="origin"}`: origin,
			`p2pcache_chunks_served_total{source="peer"}`:   0,
		}
	}
	zero := m(0, 0, 0, 0, 0, 0, 0)
	w := &phaseOut{kind: phaseWebRTC, peers: 3, cluster: &clusterOut{
		mesh: true, rtts: []time.Duration{0, 20 * time.Millisecond}, peers: []int{2, 1},
		before: []metrics{zero, zero},
		after:  []metrics{m(4, 4e6, 9e6, 1, 3e6, 10, 1), m(1, 1e6, 5e6, 6, 1e5, 2, 6)},
	}}
	w.cluster.after[1][`p2pcache_mesh_requests_total{member="relay-1",kind="chunk",result="ok"}`] = 5
	w.cluster.after[1][`p2pcache_mesh_requests_total{member="relay-1",kind="peek",result="ok"}`] = 2
	w.cluster.after[1][`p2pcache_mesh_requests_total{member="relay-1",kind="chunk",result="timeout"}`] = 1
	r := buildRun(w, nil, nil, nil, 0)
	c := r.Cluster
	if c == nil || c.Relays != 2 || !c.Mesh || len(c.Members) != 2 {
		t.Fatalf("cluster %+v", c)
	}
	if m2 := c.Members[1]; m2.ID != "relay-2" || m2.RTTMS != 20 || m2.Peers != 1 || m2.OriginRequests != 1 || m2.OriginBytes != 1e6 ||
		m2.EgressBytes != 5e6 || m2.ChunksFromCluster != 6 || m2.ManifestsFromCluster != 1 || m2.ServedBytes != 1e5 || m2.ChunksBySource["relay"] != 6 || results(m2.Requests) != "ok 7, timeout 1" {
		t.Errorf("relay-2: %+v", m2)
	}
	if r.Chunks == nil || *r.Chunks != (chunkSources{Cache: 12, Relay: 7, Origin: 5}) || r.RelayEgress != 14e6 {
		t.Errorf("sums: chunks %+v, egress %d", r.Chunks, r.RelayEgress)
	}
	var b strings.Builder
	printCluster(&b, c)
	for _, want := range []string{"2 relays, one mesh on embedded NATS", "relay-2", "1 / 1.0", "2/0/6/1"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
	if h := clusterTable(c); !strings.Contains(h, "<td>relay-2</td><td>20.00</td><td>1</td><td>1</td><td>1.0</td>") || !strings.Contains(h, "<td>2 / 0 / 6 / 1</td><td>ok 7, timeout 1</td>") {
		t.Errorf("HTML table: %s", h)
	}
	w.cluster.after[1] = nil
	r = buildRun(w, nil, nil, nil, 0)
	if r.Cluster.Members[1].Scraped || r.Chunks != nil {
		t.Errorf("an unscraped relay: %+v, chunks %+v", r.Cluster.Members[1], r.Chunks)
	}
	if clusterOf(nil) != nil {
		t.Error("one relay has a cluster")
	}
}

// TestDelayProxy: through the proxy an echo's round trip takes at least one
// RTT (the first one two: the emulated TCP handshake), and bytes arrive
// intact. Only lower bounds are asserted: they hold however slow the machine.
func TestDelayProxy(t *testing.T) {
	echo, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer echo.Close()
	go func() {
		for {
			c, err := echo.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); io.Copy(c, c) }()
		}
	}()
	ln, err := listenLoopback("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	const rtt = 40 * time.Millisecond
	p := newDelayProxy(ln, echo.Addr().String(), rtt/2, 0)
	defer p.Close()
	dialed := time.Now()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	roundTrip := func(msg []byte) time.Duration {
		t0 := time.Now()
		if _, err := c.Write(msg); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(c, got); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, msg) {
			t.Fatal("the proxy changed the bytes")
		}
		return time.Since(t0)
	}
	// Timed from the dial: the proxy's upstream handshake may be done before
	// the first write (on a busy machine, say), but not before the dial.
	roundTrip([]byte("hello"))
	if d := time.Since(dialed); d < 2*rtt-5*time.Millisecond {
		t.Errorf("dial + first round trip %v, want ≥ 2 RTT (handshake + request) = %v", d, 2*rtt)
	}
	big := bytes.Repeat([]byte("0123456789abcdef"), 8<<10) // 128 KiB: several segments
	if d := roundTrip(big); d < rtt-2*time.Millisecond {
		t.Errorf("round trip %v, want ≥ RTT %v", d, rtt)
	}
	// Half-close passes through: the echo sees EOF and closes.
	c.(*net.TCPConn).CloseWrite()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := c.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Errorf("after half-close: %d, %v; want EOF", n, err)
	}
}

func TestBenchTLS(t *testing.T) {
	bt, err := newBenchTLS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.LoadX509KeyPair(bt.certFile, bt.keyFile)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })}
	go srv.Serve(ln)
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: bt.clientConfig()}, Timeout: 5 * time.Second}
	resp, err := client.Get("https://" + ln.Addr().String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "ok" {
		t.Errorf("body %q", b)
	}
	// Other clients do not trust it.
	if _, err := http.Get("https://" + ln.Addr().String() + "/"); err == nil {
		t.Error("the system roots trust the bench's certificate")
	}
}
