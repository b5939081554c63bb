package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/p2pcache/p2pcache/relay/peer"
)

// The three phases of a run: the same request sequences, peer k's the same
// in each.
const (
	phaseWebRTC = "webrtc"
	phaseHTTP   = "http"
	phaseHTTPS  = "https"
	phaseOrigin = "origin"
)

var phaseTitles = map[string]string{
	phaseWebRTC: "WebRTC (ICE-TCP)",
	phaseHTTP:   "HTTP /files",
	phaseHTTPS:  "HTTPS /files",
	phaseOrigin: "origin direct",
}

// maxDurationRequests bounds one peer's requests in --duration mode.
const maxDurationRequests = 1_000_000

// sampleEvery is the timeline's resolution.
const sampleEvery = 250 * time.Millisecond

// bench holds what every phase of every run shares.
type bench struct {
	o            *options
	files        *fileSet
	origin       *originServer
	originPublic string // base URL of the direct-origin baseline (the proxy's with --rtt)
	setup        relaySetup
	proc         procReader
	procOK       bool
	prog         *progress
}

// reqResult is one request.
type reqResult struct {
	peer       int
	file       int
	size       int64
	start      time.Duration // since the phase's request loop began
	elapsed    time.Duration // request → verified bytes
	ttfb       time.Duration // request → first body byte
	bytes      int64         // verified bytes delivered (0 on failure)
	err        string        // "" when delivered and verified
	verifyFail bool
}

// tick is one timeline sample.
type tick struct {
	T     float64 // seconds since the request loop began
	Bytes int64   // bytes received so far
	RSS   int64   // relay RSS, 0 when unknown
}

// phaseOut is what one phase measured, before any summarizing.
type phaseOut struct {
	kind        string
	peers       int
	results     []reqResult
	notRun      int // requests never started: the phase's time bound
	wall        time.Duration
	peerBytes   []int64
	peerTime    []time.Duration // each peer's first request start → last end
	timeline    []tick
	connect     []time.Duration // dial start → data channel open (WebRTC), TCP connect (+ emulated handshake) for HTTP
	wsToDC      []time.Duration // WebSocket open → data channel open
	connectErrs []string
	srtt        []time.Duration // peers' smoothed RTT to the relay while idle

	hasProc      bool // relay process metrics are valid
	cpuConnect   float64
	cpuWork      float64
	rssIdle      int64 // before any peer connected
	rssConnected int64 // every peer connected and idle
	hwm          int64 // peak RSS of the relay process, start to end of the requests
	benchCPU     float64
	warmupErrors int // failed requests of the unmeasured warm-up

	hasMetrics    bool
	before, after metrics
	origin        originCount // counted at the bench's origin during the requests
	egressProc    int64       // relay's wchar delta during the requests; -1 unknown

	probe, probeTTFB []time.Duration // warm-cache 64 KiB fetches, one peer, the others idle
	probeErrs        []string

	cluster *clusterOut // --relays > 1: each relay's figures (cluster.go); nil for one relay
}

// fetchRes is one fetch as a worker saw it.
type fetchRes struct {
	ttfb, elapsed time.Duration
	n             int64
	err           error
	verifyFail    bool
}

type worker func(ctx context.Context, f benchFile) fetchRes

// relay starts a fresh relay for a phase (or returns the --relay target).
func (b *bench) relay(ctx context.Context, withTLS bool) (*relayProc, error) {
	if b.o.relayURL != "" {
		return &relayProc{direct: b.o.relayURL, public: b.o.relayURL, client: &http.Client{Timeout: 10 * time.Second}}, nil
	}
	return startRelay(ctx, b.setup, withTLS)
}

func (b *bench) readProc(rp *relayProc) (procSample, bool) {
	if !b.procOK || rp == nil || rp.cmd == nil {
		return procSample{}, false
	}
	s, err := b.proc.read(rp.pid)
	return s, err == nil
}

func (b *bench) readSelf() procSample {
	if !b.procOK {
		return procSample{}
	}
	s, _ := b.proc.read(os.Getpid())
	return s
}

// webrtcPhase: a fresh relay, n peers dialed (dialConc at a time), an idle
// pause to weigh their memory, then every peer runs its sequence over its
// data channel.
func (b *bench) webrtcPhase(ctx context.Context, run, n int) (*phaseOut, error) {
	out := &phaseOut{kind: phaseWebRTC, peers: n}
	var rp *relayProc
	var cl *relayCluster
	if b.o.relays > 1 {
		b.prog.note("starting %d relays (mesh %v)…", b.o.relays, b.o.mesh)
		var err error
		if cl, err = b.startCluster(ctx); err != nil {
			return nil, err
		}
		defer cl.stop()
		rp = cl.relays[0] // the process figures are relay 1's
		out.cluster = &clusterOut{mesh: b.o.mesh, rtts: cl.rtts, peers: make([]int, len(cl.relays))}
	} else {
		var err error
		if rp, err = b.relay(ctx, false); err != nil {
			return nil, err
		}
		defer rp.stop()
	}
	// target is the relay peer i dials: round-robin over a cluster.
	target := func(i int) string {
		if cl == nil {
			return rp.public
		}
		return cl.relays[i%len(cl.relays)].public
	}
	if cl != nil {
		for i := range n {
			out.cluster.peers[i%len(cl.relays)]++
		}
	}
	time.Sleep(100 * time.Millisecond) // let the fresh process settle
	s0, ok0 := b.readProc(rp)

	b.prog.begin(fmt.Sprintf("run %d · %d peers · connecting", run, n), int64(n), nil)
	peers := make([]*peer.Peer, n)
	connErr := make([]string, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, b.o.dialConc)
	dialTimeout := max(30*time.Second, 20*b.o.rtt)
	for i := range peers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			dctx, cancel := context.WithTimeout(ctx, dialTimeout)
			defer cancel()
			p, err := peer.Dial(dctx, target(i), peer.Options{})
			if err != nil {
				connErr[i] = err.Error()
				b.prog.fail()
			} else {
				peers[i] = p
			}
			b.prog.step(0)
		}()
	}
	wg.Wait()
	closeAll := func() {
		var cw sync.WaitGroup
		for _, p := range peers {
			if p != nil {
				cw.Add(1)
				go func() { defer cw.Done(); p.Close() }()
			}
		}
		done := make(chan struct{})
		go func() { cw.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
		}
	}
	defer closeAll()
	for i, p := range peers {
		if p == nil {
			out.connectErrs = append(out.connectErrs, fmt.Sprintf("peer %d: %s", i, connErr[i]))
			continue
		}
		t := p.Timings()
		out.connect = append(out.connect, t.DataChannel)
		out.wsToDC = append(out.wsToDC, t.DataChannel-t.WebSocket)
	}
	s1, ok1 := b.readProc(rp)
	if b.o.idle > 0 {
		b.prog.begin(fmt.Sprintf("run %d · %d peers · idle", run, n), 0, nil)
		time.Sleep(b.o.idle)
	}
	s2, ok2 := b.readProc(rp)
	for _, p := range peers {
		if p != nil {
			if r := p.RTT(); r.Samples > 0 {
				out.srtt = append(out.srtt, r.SRTT)
			}
		}
	}

	workers := make([]worker, n)
	for i, p := range peers {
		if p == nil {
			workers[i] = func(context.Context, benchFile) fetchRes {
				return fetchRes{err: errors.New("not connected")}
			}
			continue
		}
		workers[i] = func(ctx context.Context, f benchFile) fetchRes {
			file, err := p.FetchFile(ctx, f.Path)
			if err != nil {
				return fetchRes{err: err}
			}
			r := fetchRes{ttfb: file.FirstByte, elapsed: file.Elapsed, n: int64(len(file.Data))}
			// The peer verified every chunk and the whole against the
			// manifest; the manifest must also name the origin's bytes.
			if file.Manifest.SHA256 != f.sum || r.n != f.Size {
				r.verifyFail = true
				r.err = fmt.Errorf("verify %s: relay's manifest (sha256 %s, %d bytes) does not match the origin's file", f.Path, file.Manifest.SHA256, r.n)
			}
			return r
		}
	}
	received := func() int64 {
		var t int64
		for _, p := range peers {
			if p != nil {
				t += int64(p.BytesReceived())
			}
		}
		return t
	}
	if err := b.work(ctx, run, out, rp, workers, received, func() {
		if ok0 && ok1 && ok2 {
			out.hasProc = true
			out.cpuConnect = b.proc.cpuSeconds(s0, s1)
			out.rssIdle, out.rssConnected = s0.RSS, s2.RSS
		}
		if cl != nil {
			out.cluster.before = cl.scrape(ctx)
		}
	}); err != nil {
		return nil, err
	}
	if cl != nil {
		out.cluster.after = cl.scrape(ctx)
		for i, r := range cl.relays {
			if !r.alive() {
				return nil, fmt.Errorf("relay %d of the cluster died during the WebRTC phase (%v): %s", i+1, r.exitErr, strings.TrimSpace(r.logs.String()))
			}
		}
	}
	for i, p := range peers {
		if p != nil {
			b.probe(ctx, run, out, workers[i])
			break
		}
	}
	return out, nil
}

// httpPhase: the same sequences over plain HTTP/1.1 keep-alive, one client
// (one connection) per peer, from base ("…/files/" of a fresh relay, or the
// origin).
func (b *bench) httpPhase(ctx context.Context, run, n int, kind string) (*phaseOut, error) {
	out := &phaseOut{kind: kind, peers: n}
	var rp *relayProc
	base := b.originPublic
	var tlsConf *tls.Config
	if kind == phaseHTTP || kind == phaseHTTPS {
		var err error
		if rp, err = b.relay(ctx, kind == phaseHTTPS); err != nil {
			return nil, err
		}
		if kind == phaseHTTPS {
			tlsConf = b.setup.tls.clientConfig()
		}
		defer rp.stop()
		base = rp.public + "/files/"
		time.Sleep(100 * time.Millisecond)
	}
	s0, ok0 := b.readProc(rp)
	var recv atomic.Int64
	handshake := time.Duration(0)
	if b.o.proxied() {
		handshake = b.o.rtt // the proxy bills it to the first bytes; see delayProxy
	}
	clients := make([]*httpClient, n)
	workers := make([]worker, n)
	for i := range clients {
		c := newHTTPClient(base, &recv, tlsConf)
		clients[i] = c
		workers[i] = c.fetch
	}
	defer func() {
		for _, c := range clients {
			c.close()
		}
	}()
	err := b.work(ctx, run, out, rp, workers, recv.Load, func() {
		if ok0 {
			out.hasProc = true
			out.rssIdle = s0.RSS
		}
	})
	if err != nil {
		return nil, err
	}
	b.probe(ctx, run, out, workers[0])
	for _, c := range clients {
		if c.connected {
			out.connect = append(out.connect, c.connectTime+handshake)
		}
	}
	return out, nil
}

// probe: one peer (the others connected and idle) fetches the 64 KiB probe
// file once to warm the relay's cache, then --probe times in a row: the
// warm-cache small-file latency.
func (b *bench) probe(ctx context.Context, run int, out *phaseOut, w worker) {
	if b.o.probe <= 0 || ctx.Err() != nil {
		return
	}
	b.prog.begin(fmt.Sprintf("run %d · %d peers · %s · warm 64 KiB probe", run, out.peers, phaseTitles[out.kind]), int64(b.o.probe+1), nil)
	for k := 0; k <= b.o.probe; k++ {
		rctx, cancel := context.WithTimeout(ctx, b.o.reqTimeout)
		t0 := time.Now()
		fr := w(rctx, b.files.probe)
		cancel()
		if fr.elapsed == 0 {
			fr.elapsed = time.Since(t0)
		}
		b.prog.step(fr.n)
		if fr.err != nil {
			b.prog.fail()
			out.probeErrs = append(out.probeErrs, "probe: "+fr.err.Error())
			continue
		}
		if k == 0 {
			continue // the cold fetch that warms the cache
		}
		out.probe = append(out.probe, fr.elapsed)
		out.probeTTFB = append(out.probeTTFB, fr.ttfb)
	}
}
