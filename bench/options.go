package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

// errUsage: a flag value is invalid (exit status 2).
var errUsage = errors.New("usage")

// options are the bench's flags, parsed and checked.
type options struct {
	peers         []int         // one run per value
	files         string        // a directory, or "demo"
	requests      int           // per peer, when duration is 0
	duration      time.Duration // per phase, instead of a request count
	zipf          float64       // popularity skew; 0 = uniform
	cacheSize     string        // as given: "25%" or a size ("2MiB")
	peerFetch     string        // "on" or "off"
	jsonOut       string
	htmlOut       string
	quick         bool
	rtt           time.Duration // emulated round-trip time; 0 = none
	bandwidth     float64       // bytes/s per connection and direction; 0 = unlimited
	bandwidthText string
	seed          uint64
	relayBin      string          // a prebuilt relay binary; empty: build ./server
	relayArgs     []string        // extra flags for the relay process
	relayURL      string          // an already running relay; no process metrics then
	dialConc      int             // peers dialing at once
	phaseTimeout  time.Duration   // bound on one phase's request loop
	reqTimeout    time.Duration   // bound on one request
	idle          time.Duration   // idle time with all peers connected before the RSS sample
	baselines     bool            // run the HTTP baselines
	https         bool            // also the HTTPS /files baseline (self-signed certificate)
	probe         int             // warm-cache 64 KiB fetches after each phase; 0 = none
	relays        int             // relay processes in the WebRTC phase, one embedded-NATS cluster when > 1
	relayRTT      []time.Duration // per relay (--relays) emulated RTT to its peers; nil: --rtt for all
	mesh          bool            // with relays > 1: one mesh (on) or independent relays (off)
	cpuProfile    string          // write the bench process's own CPU profile here
	warmup        time.Duration   // unmeasured requests at the start of each phase
}

// quick settings: a complete run well under a minute on a busy 2-core
// machine, build included.
const (
	quickPeers    = "1,10"
	quickRequests = 6
	quickTimeout  = 15 * time.Second
)

// defaultWarmup is long enough for a relay serving 100 WebRTC peers to reach
// its steady heap on a 2-core VM (its page faults stop ~8 s after the first
// request, most of them in the first 5 s).
const defaultWarmup = 8 * time.Second

func parseOptions(args []string, stderr io.Writer) (*options, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := &options{}
	peers := fs.String("peers", "10", "peers per run; a comma list (1,10,100) makes one run per value, same workload")
	fs.StringVar(&o.files, "files", "demo", "files to serve: a directory, or demo (the relay's built-in images)")
	fs.IntVar(&o.requests, "requests", 20, "requests per peer (ignored with --duration); 0: only connect, weigh the relay's memory per peer and probe")
	fs.DurationVar(&o.duration, "duration", 0, "run each phase for this long instead of --requests per peer (e.g. 30s)")
	fs.Float64Var(&o.zipf, "zipf", 1.1, "popularity skew over files: S>1 for a Zipf law (rank r has weight (1+r)^-S), 0 = uniform")
	fs.StringVar(&o.cacheSize, "cache-size", "25%", "relay cache budget: a size (2MiB, 500KB) or a percentage of the working set (25%)")
	fs.StringVar(&o.peerFetch, "peer-fetch", "on", "relay fills cache misses from peers holding the chunk: on or off")
	fs.StringVar(&o.jsonOut, "json", "", "write the results as JSON to this file")
	fs.StringVar(&o.htmlOut, "html", "", "write a self-contained HTML report (inline SVG) to this file")
	fs.BoolVar(&o.quick, "quick", false, "a complete run in well under a minute (peers "+quickPeers+", "+strconv.Itoa(quickRequests)+" requests each), for CI and a first look; explicit flags still win")
	fs.DurationVar(&o.rtt, "rtt", 0, "emulated round-trip time to the relay (a user-space TCP delay proxy on its HTTP and ICE-TCP ports), e.g. 50ms")
	fs.StringVar(&o.bandwidthText, "bandwidth", "", "with the delay proxy: pace each connection to this rate per direction, e.g. 10MB/s, 100Mbit/s")
	seed := fs.String("seed", "1", "seed of the request sequences (same seed, same workload)")
	relayArgs := fs.String("relay-args", "", "extra flags for the relay process, space-separated (e.g. \"--debug-addr 127.0.0.1:6060\" to profile it)")
	fs.StringVar(&o.relayBin, "relay-bin", "", "relay binary to run (default: go build ./server into a temp dir)")
	fs.StringVar(&o.relayURL, "relay", "", "target an already running relay at this URL instead of starting one (no process metrics, shared cache across phases)")
	fs.IntVar(&o.dialConc, "dial-concurrency", 16, "peers dialing at the same time")
	fs.DurationVar(&o.phaseTimeout, "phase-timeout", 5*time.Minute, "bound on one phase's requests; requests not done by then count as errors")
	fs.DurationVar(&o.reqTimeout, "request-timeout", time.Minute, "bound on one request")
	fs.DurationVar(&o.idle, "idle", time.Second, "idle time with every peer connected before sampling the relay's RSS")
	httpsFlag := fs.String("https", "on", "also run the /files baseline over HTTPS keep-alive (a fresh self-signed certificate in a temp dir, relay --tls-cert): on or off")
	fs.IntVar(&o.probe, "probe", 20, "after each phase's requests, one peer fetches a 64 KiB file once (warming the cache) and then this many times: the warm-cache small-file latency; 0 = skip")
	noBaseline := fs.Bool("no-baseline", false, "skip the HTTP /files and origin baselines")
	fs.IntVar(&o.relays, "relays", 1, "relay processes in the WebRTC phase: more than 1 makes a cluster on embedded NATS (--nats embedded, routes between them) sharing one cache tier; peers are spread over them round-robin; the baselines still use one relay")
	meshFlag := fs.String("mesh", "on", "with --relays > 1: on, the relays make one cluster (one cache tier); off, they run independent, each filling its cache from the origin (the baseline the mesh saves against)")
	relayRTT := fs.String("relay-rtt", "", "with --relays: each relay's emulated RTT to its peers, a comma list of one duration per relay (0ms,20ms,80ms) or one for all (default: --rtt); relay-to-relay traffic is not delayed")
	fs.DurationVar(&o.warmup, "warmup", defaultWarmup, "each phase first runs requests for this long, unmeasured, on the same relay process and connections (a fresh relay's first seconds fault in its heap and fill its cache); 0 measures from the first request")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write the bench process's own CPU profile (its peers, clients and origin) to this file; with --no-baseline it covers the WebRTC phase alone")
	fs.Usage = func() {
		fmt.Fprintf(stderr, `Usage: go run ./bench [flags]

Starts the relay as a separate process in front of a local origin (a plain
net/http file server the bench runs), drives N Go WebRTC peers (ICE-TCP)
through a Zipf workload, then the same request sequences over plain HTTP from
the relay's /files and directly from the origin, and reports latency,
goodput, origin offload and the relay's CPU and memory, each also as a ratio
to the /files baseline. Each phase runs a fresh relay process and measures
after --warmup of unmeasured requests.

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	o.relayArgs = strings.Fields(*relayArgs)
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if o.quick {
		if !set["peers"] {
			*peers = quickPeers
		}
		if !set["requests"] && !set["duration"] {
			o.requests = quickRequests
		}
		if !set["phase-timeout"] {
			o.phaseTimeout = quickTimeout
		}
		if !set["idle"] {
			o.idle = 300 * time.Millisecond
		}
		if !set["request-timeout"] {
			o.reqTimeout = 10 * time.Second
		}
		if !set["probe"] {
			o.probe = 10
		}
		if !set["warmup"] {
			o.warmup = 0
		}
	}
	switch strings.ToLower(*httpsFlag) {
	case "on":
		o.https = true
	case "off":
	default:
		return nil, fmt.Errorf("%w: --https %q: want on or off", errUsage, *httpsFlag)
	}
	if o.probe < 0 {
		return nil, fmt.Errorf("%w: --probe must not be negative", errUsage)
	}
	o.baselines = !*noBaseline
	var err error
	if o.relays < 1 || o.relays > maxRelays {
		return nil, fmt.Errorf("%w: --relays %d: want 1 to %d", errUsage, o.relays, maxRelays)
	}
	switch strings.ToLower(*meshFlag) {
	case "on":
		o.mesh = true
	case "off":
	default:
		return nil, fmt.Errorf("%w: --mesh %q: want on or off", errUsage, *meshFlag)
	}
	if *relayRTT != "" {
		if o.relayRTT, err = parseRelayRTT(*relayRTT, o.relays); err != nil {
			return nil, fmt.Errorf("%w: --relay-rtt: %w", errUsage, err)
		}
	}
	if o.peers, err = parsePeers(*peers); err != nil {
		return nil, fmt.Errorf("%w: --peers: %w", errUsage, err)
	}
	if o.seed, err = strconv.ParseUint(*seed, 10, 64); err != nil {
		return nil, fmt.Errorf("%w: --seed %q: want a whole number", errUsage, *seed)
	}
	if o.duration < 0 || (o.duration == 0 && o.requests < 0) {
		return nil, fmt.Errorf("%w: want --requests ≥ 0 (0: connect, weigh and probe only) or a positive --duration", errUsage)
	}
	if o.zipf != 0 && !(o.zipf > 1) {
		return nil, fmt.Errorf("%w: --zipf %v: want 0 (uniform) or a value above 1", errUsage, o.zipf)
	}
	if math.IsNaN(o.zipf) || math.IsInf(o.zipf, 0) {
		return nil, fmt.Errorf("%w: --zipf %v", errUsage, o.zipf)
	}
	switch strings.ToLower(o.peerFetch) {
	case "on", "off":
		o.peerFetch = strings.ToLower(o.peerFetch)
	default:
		return nil, fmt.Errorf("%w: --peer-fetch %q: want on or off", errUsage, o.peerFetch)
	}
	if _, _, err := parseCacheSize(o.cacheSize); err != nil {
		return nil, fmt.Errorf("%w: --cache-size: %w", errUsage, err)
	}
	if o.rtt < 0 {
		return nil, fmt.Errorf("%w: --rtt must not be negative", errUsage)
	}
	if o.warmup < 0 {
		return nil, fmt.Errorf("%w: --warmup must not be negative", errUsage)
	}
	if o.bandwidthText != "" {
		if o.bandwidth, err = parseRate(o.bandwidthText); err != nil {
			return nil, fmt.Errorf("%w: --bandwidth: %w", errUsage, err)
		}
	}
	if o.relayURL != "" {
		u, err := url.Parse(o.relayURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("%w: --relay %q: want http(s)://host:port", errUsage, o.relayURL)
		}
		o.relayURL = strings.TrimRight(o.relayURL, "/")
		if o.rtt > 0 || o.bandwidth > 0 {
			return nil, fmt.Errorf("%w: --rtt and --bandwidth need the bench to start the relay (its ICE address must point at the delay proxy); drop --relay", errUsage)
		}
		if o.relayBin != "" {
			return nil, fmt.Errorf("%w: --relay and --relay-bin exclude each other", errUsage)
		}
		if o.relays > 1 || o.relayRTT != nil {
			return nil, fmt.Errorf("%w: --relays and --relay-rtt need the bench to start the relays; drop --relay", errUsage)
		}
		o.https = false // the bench cannot restart someone else's relay with a certificate
	}
	if o.files != "demo" {
		st, err := os.Stat(o.files)
		if err != nil || !st.IsDir() {
			return nil, fmt.Errorf("%w: --files %q: want a directory or demo", errUsage, o.files)
		}
	}
	if o.dialConc < 1 || o.phaseTimeout <= 0 || o.reqTimeout <= 0 || o.idle < 0 {
		return nil, fmt.Errorf("%w: --dial-concurrency, --phase-timeout and --request-timeout must be positive", errUsage)
	}
	return o, nil
}

// proxied reports whether the relay's ports sit behind the delay proxy.
func (o *options) proxied() bool { return o.rtt > 0 || o.bandwidth > 0 }

// maxRelays bounds --relays: each relay is a process with its own cache.
const maxRelays = 16

// clusterRTT is relay i's emulated RTT to its peers in the WebRTC phase.
func (o *options) clusterRTT(i int) time.Duration {
	if o.relayRTT == nil {
		return o.rtt
	}
	return o.relayRTT[i]
}

// needsAltLoopback reports whether any relay or the origin sits behind the
// delay proxy, whose listeners are on 127.0.0.2.
func (o *options) needsAltLoopback() bool {
	for _, d := range o.relayRTT {
		if d > 0 {
			return true
		}
	}
	return o.proxied()
}

// parseRelayRTT parses --relay-rtt: one duration per relay, or one for
// all n.
func parseRelayRTT(s string, n int) ([]time.Duration, error) {
	var out []time.Duration
	for _, f := range strings.Split(s, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(f))
		if err != nil || d < 0 {
			return nil, fmt.Errorf("%q: want durations like 0ms,20ms,80ms", s)
		}
		out = append(out, d)
	}
	switch {
	case len(out) == 1:
		for len(out) < n {
			out = append(out, out[0])
		}
	case len(out) != n:
		return nil, fmt.Errorf("%q: %d durations for %d relays (--relays)", s, len(out), n)
	}
	return out, nil
}

// parsePeers parses "1,10,100": positive counts, kept in the given order,
// duplicates dropped.
func parsePeers(s string) ([]int, error) {
	var out []int
	seen := map[int]bool{}
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 || n > 10000 {
			return nil, fmt.Errorf("%q: want counts in 1..10000", f)
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%q: no peer count", s)
	}
	return out, nil
}

// parseBytes parses a byte count with an optional unit: B, KB/MB/GB/TB
// (powers of 1000) or KiB/MiB/GiB/TiB (powers of 1024), case-insensitive,
// as the relay's --cache-size does.
func parseBytes(s string) (float64, error) {
	s = strings.TrimSpace(s)
	i := strings.IndexFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, unit := s, ""
	if i >= 0 {
		num, unit = s[:i], strings.TrimSpace(s[i:])
	}
	mult, ok := byteUnits[strings.ToLower(unit)]
	if !ok {
		return 0, fmt.Errorf("%q: unknown unit %q (use B, KB, MB, GB, KiB, MiB, GiB)", s, unit)
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f < 0 || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%q: bad number", s)
	}
	return f * mult, nil
}

var byteUnits = map[string]float64{
	"": 1, "b": 1,
	"k": 1e3, "kb": 1e3, "m": 1e6, "mb": 1e6, "g": 1e9, "gb": 1e9, "t": 1e12, "tb": 1e12,
	"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
}

// parseCacheSize parses --cache-size: a percentage of the working set
// (pct > 0, bytes 0) or a byte count (pct 0).
func parseCacheSize(s string) (pct float64, bytes int64, err error) {
	s = strings.TrimSpace(s)
	if p, ok := strings.CutSuffix(s, "%"); ok {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || !(f > 0) || f > 1000 {
			return 0, 0, fmt.Errorf("%q: want a percentage in (0, 1000]", s)
		}
		return f, 0, nil
	}
	f, err := parseBytes(s)
	if err != nil {
		return 0, 0, err
	}
	if f < 1 || f >= 1<<62 {
		return 0, 0, fmt.Errorf("%q: want at least one byte", s)
	}
	return 0, int64(f), nil
}

// cacheBytes is the relay's cache budget for a working set of ws bytes.
func cacheBytes(spec string, ws int64) int64 {
	pct, b, err := parseCacheSize(spec)
	if err != nil {
		return 0
	}
	if pct > 0 {
		b = int64(math.Ceil(float64(ws) * pct / 100))
		return max(b, 64<<10) // at least one chunk
	}
	return b
}

// parseRate parses a bandwidth: a byte size per second ("10MB/s", "1.5MiB/s",
// "500KB/s"; the /s is optional) or bits per second ("100Mbit/s", "100Mbps",
// "1Gbit").
func parseRate(s string) (float64, error) {
	t := strings.TrimSpace(s)
	t = strings.TrimSuffix(strings.TrimSuffix(t, "/s"), "/S")
	lower := strings.ToLower(t)
	for _, u := range []struct {
		suffix string
		mult   float64
	}{{"gbit", 1e9 / 8}, {"mbit", 1e6 / 8}, {"kbit", 1e3 / 8}, {"gbps", 1e9 / 8}, {"mbps", 1e6 / 8}, {"kbps", 1e3 / 8}, {"bit", 1.0 / 8}, {"bps", 1.0 / 8}} {
		if num, ok := strings.CutSuffix(lower, u.suffix); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
			if err != nil || !(f > 0) || math.IsInf(f, 0) {
				return 0, fmt.Errorf("%q: bad number", s)
			}
			return f * u.mult, nil
		}
	}
	f, err := parseBytes(t)
	if err != nil {
		return 0, err
	}
	if !(f >= 1) {
		return 0, fmt.Errorf("%q: want at least 1 byte/s", s)
	}
	return f, nil
}

// sortedCopy returns the peer counts ascending (for scaling charts).
func sortedCopy(v []int) []int {
	out := append([]int(nil), v...)
	sort.Ints(out)
	return out
}
