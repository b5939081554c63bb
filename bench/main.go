// Command bench sizes a p2pcache relay and proves its origin offload.
//
//	go run ./bench --quick --json bench/out/quick.json --html bench/out/quick.html
//	go run ./bench --peers 1,10,100,200 --duration 20s --html bench/out/scale.html
//	go run ./bench --peers 1 --rtt 50ms --requests 20
//
// It serves the workload's files itself from a plain net/http file server on
// 127.0.0.1 (the origin, whose request and byte counts are the ground truth
// for the offload), builds the relay (go build ./server) and runs it as a
// separate process in front of that origin, and then, for each --peers value,
// runs four phases with the same per-peer request sequences (Zipf over the
// files, fixed by --seed):
//
//  1. WebRTC: N Go peers (relay/peer), one WebRTC-over-ICE-TCP connection
//     each, fetch their sequences concurrently over their data channels;
//  2. HTTP /files: N HTTP/1.1 keep-alive clients GET the same sequences from
//     the relay's /files (the same chunk cache, plain HTTP);
//  3. HTTPS /files: the same over TLS (--https on, the default: a fresh
//     self-signed ECDSA certificate in a temp dir, relay --tls-cert/--tls-key,
//     clients trusting only that certificate);
//  4. origin: N clients GET them straight from the origin.
//
// After each phase's requests one peer (the others connected and idle)
// fetches a 64 KiB file outside the workload once, to warm the cache, and
// then --probe times: warm_64k_ms.
//
// Each relay phase starts a fresh relay process with a cold cache, so the
// phases do not warm each other's cache and the relay's CPU time (utime+stime
// from /proc/PID/stat) and peak RSS (VmHWM) are per phase. Sources (cache,
// peers, origin) come from the relay's /metrics, scraped before and after.
// The relay gets --ws-rate 100000 and --max-peers 100000: every bench peer
// connects from 127.0.0.1.
//
// --relays N runs the WebRTC phase on N relay processes that make one
// cluster on embedded NATS (relay/mesh: one cache tier, each chunk from the
// origin once per cluster), peers spread round-robin over them, each relay
// behind its own --relay-rtt (cluster.go); the table then adds each relay's
// origin requests and bytes, egress, and what it took from and gave to the
// cluster:
//
//	go run ./bench --peers 30 --relays 3 --relay-rtt 0ms,20ms,80ms --no-baseline
//
// --rtt and --bandwidth put a user-space TCP delay proxy in front of the
// relay's HTTP and ICE-TCP ports (the proxies listen on 127.0.0.2, the
// relay on the same ports of 127.0.0.1, advertising 127.0.0.2 with
// --public-ip) and in front of the origin for the
// direct baseline; no root needed.
//
// Output: a table on stdout (every figure also as a ratio to the HTTP and
// HTTPS /files baselines), --json FILE, --html FILE (inline SVG charts, no
// script). The JSON is one object: its top level carries the last run's
// figures (peers, connect_ms, fetch_ms, ttfb_ms, goodput_mbps,
// origin_offload, chunks, relay, errors, baseline_http, baseline_https,
// baseline_origin, vs_http, vs_https, …) and "runs" is an array with one
// object per --peers value, in the given order, each with exactly those
// keys; "settings", "host", "files" and "notes" describe the run. The exit
// status is 1 when any request failed or did not verify, 2 for bad flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	o, err := parseOptions(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(stderr, "bench: --cpuprofile:", err)
			return 2
		}
		defer func() {
			pprof.StopCPUProfile()
			if err := f.Close(); err != nil {
				fmt.Fprintln(stderr, "bench: --cpuprofile:", err)
			}
		}()
	}
	started := time.Now()
	rep, err := runBench(ctx, o, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 1
	}
	printHeader(stdout, rep)
	for i := range rep.Runs {
		printRun(stdout, rep, i)
	}
	printScaling(stdout, rep)
	if o.jsonOut != "" {
		if err := writeJSON(o.jsonOut, rep); err != nil {
			fmt.Fprintln(stderr, "bench: --json:", err)
			return 1
		}
	}
	if o.htmlOut != "" {
		if err := writeFile(o.htmlOut, []byte(renderHTML(rep))); err != nil {
			fmt.Fprintln(stderr, "bench: --html:", err)
			return 1
		}
	}
	errs := 0
	for _, r := range rep.Runs {
		errs += r.Errors
		if r.BaselineHTTP != nil {
			errs += r.BaselineHTTP.Errors
		}
		if r.BaselineHTTPS != nil {
			errs += r.BaselineHTTPS.Errors
		}
		if r.BaselineOrigin != nil {
			errs += r.BaselineOrigin.Errors
		}
	}
	fmt.Fprintf(stdout, "\nbench: %d run%s in %s", len(rep.Runs), plural(len(rep.Runs)), time.Since(started).Round(100*time.Millisecond))
	for _, f := range []string{o.jsonOut, o.htmlOut} {
		if f != "" {
			fmt.Fprintf(stdout, " · wrote %s", f)
		}
	}
	fmt.Fprintln(stdout)
	if errs > 0 {
		fmt.Fprintf(stderr, "bench: %d errors (failed, unverified or unstarted requests, failed connections): see the tables\n", errs)
		return 1
	}
	return 0
}

// runBench sets everything up and runs every --peers value.
func runBench(ctx context.Context, o *options, stderr io.Writer) (*Report, error) {
	prog := newProgress(stderr)
	defer prog.Close()
	rep := &Report{
		Schema:    schema,
		GoVersion: runtime.Version(),
		Timestamp: time.Now().UTC().Format(time.RFC3339),
		Host:      hostInfo{CPUs: runtime.NumCPU(), OS: runtime.GOOS, Arch: runtime.GOARCH, LoadAvgStart: loadAvg()},
	}
	files, err := loadFiles(o.files)
	if err != nil {
		return nil, err
	}
	rankFiles(files.files, o.seed)
	origin, err := startOrigin(files.fsys)
	if err != nil {
		return nil, fmt.Errorf("origin: %w", err)
	}
	defer origin.Close()
	b := &bench{o: o, files: files, origin: origin, originPublic: origin.URL(), prog: prog, proc: newProcReader()}
	b.procOK = b.proc.available() && o.relayURL == ""
	rep.Host.ClockTicks = b.proc.hz
	if o.needsAltLoopback() {
		if err := checkAltLoopback(); err != nil {
			return nil, err
		}
	}
	if o.proxied() {
		ln, err := listenLoopback("127.0.0.1")
		if err != nil {
			return nil, err
		}
		op := newDelayProxy(ln, origin.Addr(), o.rtt/2, o.bandwidth)
		defer op.Close()
		b.originPublic = "http://" + op.Addr() + "/"
	}
	cb := cacheBytes(o.cacheSize, files.total)
	b.setup = relaySetup{originURL: origin.URL(), cacheBytes: cb, peerFetch: o.peerFetch, oneWay: o.rtt / 2, bandwidth: o.bandwidth, extraArgs: o.relayArgs}
	relayDesc := o.relayURL
	tmp, err := os.MkdirTemp("", "p2pcache-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	if o.https && o.baselines {
		if b.setup.tls, err = newBenchTLS(tmp); err != nil {
			return nil, fmt.Errorf("self-signed certificate: %w", err)
		}
	}
	switch {
	case o.relayURL != "":
	case o.relayBin != "":
		b.setup.bin, relayDesc = o.relayBin, o.relayBin
	default:
		prog.note("building the relay (go build ./server)…")
		t0 := time.Now()
		if b.setup.bin, err = buildRelay(ctx, tmp); err != nil {
			return nil, err
		}
		prog.note("built in %s", time.Since(t0).Round(100*time.Millisecond))
		relayDesc = "go build ./server (fresh process per phase)"
	}
	rep.Settings = settingsJSON{
		Peers: o.peers, Files: o.files, Zipf: o.zipf, CacheSize: o.cacheSize, CacheBytes: cb, PeerFetch: o.peerFetch,
		RTTMS: ms(o.rtt), BandwidthBps: o.bandwidth, Seed: o.seed, Quick: o.quick, Relay: relayDesc, HTTPS: b.setup.tls != nil, Probe: o.probe,
		DialConc: o.dialConc, WarmupS: o.warmup.Seconds(), Relays: o.relays, PhaseTimeoutS: o.phaseTimeout.Seconds(), RequestTimeoutS: o.reqTimeout.Seconds(), IdleMS: ms(o.idle),
	}
	for _, d := range o.relayRTT {
		rep.Settings.RelayRTTMS = append(rep.Settings.RelayRTTMS, ms(d))
	}
	if o.duration > 0 {
		rep.Settings.DurationS = o.duration.Seconds()
	} else {
		rep.Settings.RequestsPerPeer = o.requests
	}
	rep.Files = filesJSON{Source: files.name, Count: len(files.files), WorkingSetBytes: files.total, List: files.files}
	rep.Notes = notes(o, rep)

	for i, n := range o.peers {
		w, err := b.webrtcPhase(ctx, i+1, n)
		if err != nil {
			return nil, fmt.Errorf("run %d (%d peers), WebRTC phase: %w", i+1, n, err)
		}
		var h, hs, og *phaseOut
		if o.baselines {
			if h, err = b.httpPhase(ctx, i+1, n, phaseHTTP); err != nil {
				return nil, fmt.Errorf("run %d (%d peers), HTTP /files phase: %w", i+1, n, err)
			}
			if b.setup.tls != nil {
				if hs, err = b.httpPhase(ctx, i+1, n, phaseHTTPS); err != nil {
					return nil, fmt.Errorf("run %d (%d peers), HTTPS /files phase: %w", i+1, n, err)
				}
			}
			if o.relayURL == "" {
				if og, err = b.httpPhase(ctx, i+1, n, phaseOrigin); err != nil {
					return nil, fmt.Errorf("run %d (%d peers), origin phase: %w", i+1, n, err)
				}
			}
		}
		rep.Runs = append(rep.Runs, buildRun(w, h, hs, og, o.rtt))
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	rep.RunReport = rep.Runs[len(rep.Runs)-1]
	rep.Host.LoadAvgEnd = loadAvg()
	prog.begin("", 0, nil)
	return rep, nil
}

// notes say how to read the figures.
func notes(o *options, rep *Report) []string {
	n := []string{
		"MB = 10^6 bytes; goodput_mbps is Mbit/s, goodput_mb_per_s MB/s; latencies in ms; vs_http / vs_https are WebRTC ÷ HTTP /files and WebRTC ÷ HTTPS /files (keep-alive, one connection per peer).",
		"connect_ms: WebRTC = WebSocket dial start → data channel open (ws_to_dc_ms: WebSocket open → data channel open); HTTP = TCP connect, HTTPS = TCP connect + TLS handshake.",
		"warm_64k_ms: after the requests, one peer (the others idle) fetches a 64 KiB file once to warm the cache, then --probe times.",
		"Origin offload = 1 − origin body bytes (counted at the bench's origin) ÷ verified bytes delivered.",
		"The bench (peers, HTTP clients, origin, proxy) shares the machine with the relay: see bench_cpu_seconds.",
	}
	if o.relayURL == "" {
		n = append(n, "Each relay phase runs a fresh relay process (cold cache, same flags); its CPU (utime+stime) and peak RSS (VmHWM) are per phase; cpu_ms_per_mb counts CPU during the measured requests only.")
	} else {
		n = append(n, "--relay: no process metrics; origin traffic from the relay's p2pcache_origin_*_total; phases share one relay and its (warm) cache; no direct-origin baseline.")
	}
	if o.warmup > 0 {
		n = append(n, fmt.Sprintf("Each phase first runs %s of requests (its own sequence), unmeasured: the figures are of a relay past its start (heap faulted in, cache filled; origin figures count only what the measured requests caused); warm-up failures count in errors. --warmup 0 measures from the first request.", o.warmup))
	}
	if o.relays > 1 && !o.mesh {
		n = append(n, fmt.Sprintf("WebRTC phase: %d independent relay processes (--mesh off: each fills its own cache from the origin); peers spread round-robin (peer k on relay k mod %d); origin figures are the total at the bench's origin; chunks and egress are summed over the relays; CPU and RSS are relay 1's; the HTTP baselines use one relay.", o.relays, o.relays))
	}
	if o.relays > 1 && o.mesh {
		n = append(n, fmt.Sprintf("WebRTC phase: %d relay processes on one embedded-NATS cluster sharing one cache tier (relay/mesh); peers spread round-robin (peer k on relay k mod %d), each relay reached with its --relay-rtt (relay-to-relay traffic undelayed); origin figures are the cluster's, counted at the bench's origin; chunks and egress are summed over the relays; CPU and RSS are relay 1's; the HTTP baselines use one relay.", o.relays, o.relays))
	}
	if o.proxied() {
		n = append(n, "Delay proxy: each direction holds every byte rtt/2; TCP handshakes are completed locally by the proxy and emulated by holding a new connection's first client bytes one RTT, so an HTTP connect_ms is TCP connect + 1 RTT. The relay→origin path is not delayed.")
	}
	var l1 float64
	fmt.Sscan(rep.Host.LoadAvgStart, &l1)
	if l1 > float64(rep.Host.CPUs) {
		n = append(n, fmt.Sprintf("The machine was busy at the start (load average %s on %d CPUs): absolute times are pessimistic; compare the ratios.", rep.Host.LoadAvgStart, rep.Host.CPUs))
	}
	return n
}

// loadAvg is the first three fields of /proc/loadavg, or "".
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}
