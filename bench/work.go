package main

// A phase's requests: every worker's sequence at once, measured, after an
// unmeasured warm-up.

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// work runs every worker's sequence concurrently and measures the relay
// around it. ready runs just before the requests start.
func (b *bench) work(ctx context.Context, run int, out *phaseOut, rp *relayProc, workers []worker, received func() int64, ready func()) error {
	o := b.o
	n := len(workers)
	if o.warmup > 0 {
		out.warmupErrors = b.warmUp(ctx, run, out.kind, workers, received)
	}
	var m0 metrics
	if rp != nil {
		var err error
		if m0, err = scrapeMetrics(ctx, rp.client, rp.direct); err == nil {
			out.before = m0
		}
	}
	ready()
	oc0 := b.origin.count()
	self0 := b.readSelf()
	c0, okc0 := b.readProc(rp)

	total := int64(n * o.requests)
	if o.duration > 0 {
		total = 0
	}
	b.prog.begin(fmt.Sprintf("run %d · %d peers · %s", run, n, phaseTitles[out.kind]), total, received)

	bound := o.phaseTimeout
	if o.duration > 0 {
		bound = o.duration + o.reqTimeout
	}
	pctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	start := time.Now()

	// The timeline sampler.
	stopSampler := make(chan struct{})
	samplerDone := make(chan struct{})
	go func() {
		defer close(samplerDone)
		t := time.NewTicker(sampleEvery)
		defer t.Stop()
		add := func() {
			tk := tick{T: time.Since(start).Seconds(), Bytes: received()}
			if s, ok := b.readProc(rp); ok {
				tk.RSS = s.RSS
			}
			out.timeline = append(out.timeline, tk)
		}
		base := received()
		out.timeline = append(out.timeline, tick{Bytes: base})
		for {
			select {
			case <-t.C:
				add()
			case <-stopSampler:
				add()
				return
			}
		}
	}()

	perPeer := make([][]reqResult, n)
	notRun := make([]int, n)
	out.peerBytes = make([]int64, n)
	out.peerTime = make([]time.Duration, n)
	var wg sync.WaitGroup
	for i, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pk := newPicker(o.seed, i, o.zipf, b.files.files)
			var first, last time.Time
			for k := 0; ; k++ {
				if o.duration > 0 {
					if time.Since(start) >= o.duration || k >= maxDurationRequests {
						break
					}
				} else if k >= o.requests {
					break
				}
				if pctx.Err() != nil {
					if o.duration == 0 {
						notRun[i] = o.requests - k
					}
					break
				}
				fi := pk.next()
				f := b.files.files[fi]
				rctx, rcancel := context.WithTimeout(pctx, o.reqTimeout)
				t0 := time.Now()
				if first.IsZero() {
					first = t0
				}
				fr := w(rctx, f)
				rcancel()
				last = time.Now()
				r := reqResult{peer: i, file: fi, size: f.Size, start: t0.Sub(start), elapsed: fr.elapsed, ttfb: fr.ttfb, verifyFail: fr.verifyFail}
				if fr.elapsed == 0 {
					r.elapsed = last.Sub(t0)
				}
				if fr.err != nil {
					r.err = fr.err.Error()
					b.prog.fail()
				} else {
					r.bytes = fr.n
					out.peerBytes[i] += fr.n
				}
				perPeer[i] = append(perPeer[i], r)
				b.prog.step(r.bytes)
			}
			if !first.IsZero() {
				out.peerTime[i] = last.Sub(first)
			}
		}()
	}
	wg.Wait()
	out.wall = time.Since(start)
	close(stopSampler)
	<-samplerDone

	c1, okc1 := b.readProc(rp)
	self1 := b.readSelf()
	out.origin = b.origin.count().sub(oc0)
	if rp != nil && m0 != nil {
		if m1, err := scrapeMetrics(ctx, rp.client, rp.direct); err == nil {
			out.after, out.hasMetrics = m1, true
		}
	}
	if b.o.relayURL != "" && out.hasMetrics {
		// Not our origin: the relay's own count of what it fetched.
		out.origin = originCount{
			Requests: int64(out.after.delta(out.before, "p2pcache_origin_fetches_total")),
			Bytes:    int64(out.after.delta(out.before, "p2pcache_origin_bytes_total")),
		}
	}
	out.egressProc = -1
	if okc0 && okc1 {
		out.cpuWork = b.proc.cpuSeconds(c0, c1)
		out.hwm = c1.HWM
		if c0.WChar >= 0 && c1.WChar >= c0.WChar {
			out.egressProc = c1.WChar - c0.WChar
		}
	} else {
		out.hasProc = false
	}
	out.benchCPU = b.proc.cpuSeconds(self0, self1)
	for i := range perPeer {
		out.results = append(out.results, perPeer[i]...)
		out.notRun += notRun[i]
	}
	if rp != nil && !rp.alive() {
		return fmt.Errorf("the relay died during the %s phase (%v): %s", out.kind, rp.exitErr, strings.TrimSpace(rp.logs.String()))
	}
	return nil
}

// warmUp runs every worker's requests for o.warmup, unmeasured, from a
// sequence of its own (the measured sequence stays that of --seed), and
// returns how many failed. A fresh relay process spends its first seconds
// faulting in the heap its peers' send buffers grow to (12 µs a page on this
// VM: ~1.6 s of CPU for the ~540 MB of 100 WebRTC peers), which is no cost
// per byte of a relay that has been running; --warmup 0 measures it.
func (b *bench) warmUp(ctx context.Context, run int, kind string, workers []worker, received func() int64) int {
	o := b.o
	b.prog.begin(fmt.Sprintf("run %d · %d peers · %s · warm-up", run, len(workers), phaseTitles[kind]), 0, received)
	wctx, cancel := context.WithTimeout(ctx, o.warmup+o.reqTimeout)
	defer cancel()
	start := time.Now()
	var failed atomic.Int64
	var wg sync.WaitGroup
	for i, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pk := newPicker(o.seed^warmupSeed, i, o.zipf, b.files.files)
			for time.Since(start) < o.warmup && wctx.Err() == nil {
				rctx, rcancel := context.WithTimeout(wctx, o.reqTimeout)
				fr := w(rctx, b.files.files[pk.next()])
				rcancel()
				if fr.err != nil {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return int(failed.Load())
}

// warmupSeed sets the warm-up's request sequence apart from the measured one.
const warmupSeed = 0x77a2_4d5e_11c3_9b01
