package relay_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/p2pcache/p2pcache/cache"
	"github.com/p2pcache/p2pcache/relay"
	"github.com/p2pcache/p2pcache/relay/peer"
)

// The soak (issue 11): 200 busy peers and 20 that stop reading, against a
// relay in a process of its own (so that its RSS is its own) with a memory
// limit of 512 MiB (--max-memory): the Go runtime's memory limit
// (debug.SetMemoryLimit) is the whole, the cache's LRU gets soakCache, and
// the shared budget soakBudget: two thirds of the whole less the LRU. The
// last third is the garbage collector's room. With the budget and the LRU
// at the whole limit, a full budget left the live heap at the limit and the
// collector ran without pause (the relay moved 3 MB/s, RSS 800 MiB); at
// three quarters, RSS overshot the limit by 76 MiB at 16 MB/s (pion
// allocates several copies of every byte it sends, and the collector's CPU
// cap lets the heap grow past the limit rather than take more). It is heavy
// (a few minutes on two cores) and runs only with P2PCACHE_SOAK=1:
//
//	P2PCACHE_SOAK=1 go test -run '^TestSoak$' -v -timeout 15m ./relay/
const (
	soakMaxMemory = 512 << 20
	soakCache     = 64 << 20
	soakBudget    = soakMaxMemory*2/3 - soakCache
	soakBusy      = 200
	soakStuck     = 20
	soakFiles     = 16       // the busy peers' working set: soakFiles files …
	soakFileSize  = 1 << 20  // … of this size
	soakHuge      = 16 << 20 // what the stuck peers ask for: more than their windows
)

// soakPhase is how long each goodput phase runs; P2PCACHE_SOAK_PHASE changes it.
func soakPhase() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("P2PCACHE_SOAK_PHASE")); err == nil {
		return d
	}
	return 30 * time.Second
}

// soakStats is what the relay process reports at /stats.
type soakStats struct {
	Relay  relay.Stats
	Budget cache.BudgetStats
	Heap   uint64 // runtime HeapInuse
	Stacks uint64 // runtime StackInuse
	Sys    uint64 // runtime Sys
	NumGC  uint32
}

// TestSoakRelayProcess is the relay of TestSoak, run by it in a process of
// its own; it is skipped otherwise.
func TestSoakRelayProcess(t *testing.T) {
	if os.Getenv("P2PCACHE_SOAK_RELAY") == "" {
		t.Skip("the relay process of TestSoak")
	}
	dir := t.TempDir()
	write := func(name string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for i := range soakFiles {
		write(fmt.Sprintf("f%d.bin", i), randomBytes(uint64(100+i), soakFileSize))
	}
	write("huge.bin", randomBytes(99, soakHuge))
	debug.SetMemoryLimit(soakMaxMemory)
	budget, err := cache.NewBudget(soakBudget)
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv("P2PCACHE_SOAK_UNBOUNDED") != "" { // for comparison: no budget at all
		budget = nil
		debug.SetMemoryLimit(math.MaxInt64)
	}
	origin, closeDir, err := cache.DirOrigin(dir, cache.FSOriginConfig{MaxAge: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer closeDir()
	c, err := cache.New(origin, cache.Config{MaxBytes: soakCache, Budget: budget})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	iceLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	level := slog.LevelError
	if os.Getenv("P2PCACHE_SOAK_LOG") != "" { // why peers left, and more
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	// The stuck peers would stay for the whole phase but for the memory
	// pressure (PressureTimeout): it, not the idle timeout, drops them.
	r, err := relay.New(c, iceLn, relay.Config{Logger: log, Budget: budget, IdleTimeout: 3 * soakPhase()})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	c.SetPeers(r)
	defer c.SetPeers(nil)

	up := websocket.Upgrader{}
	mux := http.NewServeMux()
	mux.HandleFunc("/ws", func(w http.ResponseWriter, req *http.Request) {
		adm, err := r.Admit()
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		defer adm.Release()
		conn, err := up.Upgrade(w, req, nil)
		if err != nil {
			return
		}
		r.Accept(req.Context(), conn, relay.Meta{Remote: req.RemoteAddr, Identity: req.Header.Get("X-Test-Identity"), Admission: adm})
	})
	mux.HandleFunc("/debug/pprof/heap", pprof.Handler("heap").ServeHTTP)
	mux.HandleFunc("/stats", func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Query().Has("gc") {
			debug.FreeOSMemory()
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		json.NewEncoder(w).Encode(soakStats{Relay: r.Stats(), Budget: budget.Stats(), Heap: ms.HeapInuse, Stacks: ms.StackInuse, Sys: ms.Sys, NumGC: ms.NumGC})
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	defer srv.Close()
	fmt.Printf("SOAK_URL=http://%s\n", ln.Addr())
	io.Copy(io.Discard, os.Stdin) // until TestSoak closes it
}

// soakRelay is the relay process, seen from TestSoak.
type soakRelay struct {
	cmd   *exec.Cmd
	stdin io.Closer
	url   string
	done  chan error

	stopOnce sync.Once
	stopErr  error
}

// stop ends the relay process (its stdin closes) and returns how it ended;
// it kills it after a minute. It is idempotent.
func (sr *soakRelay) stop() error {
	sr.stopOnce.Do(func() {
		sr.stdin.Close()
		select {
		case sr.stopErr = <-sr.done:
		case <-time.After(time.Minute):
			sr.cmd.Process.Kill()
			sr.stopErr = fmt.Errorf("the relay process did not exit; killed: %v", <-sr.done)
		}
	})
	return sr.stopErr
}

func startSoakRelay(t *testing.T) *soakRelay {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestSoakRelayProcess$", "-test.timeout=0")
	cmd.Env = append(os.Environ(), "P2PCACHE_SOAK_RELAY=1", "GOMEMLIMIT=off")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sr := &soakRelay{cmd: cmd, stdin: stdin, done: make(chan error, 1)}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if u, ok := strings.CutPrefix(sc.Text(), "SOAK_URL="); ok {
			sr.url = u
			break
		}
	}
	go func() {
		io.Copy(io.Discard, stdout)
		sr.done <- cmd.Wait()
	}()
	if sr.url == "" {
		t.Fatalf("the relay process did not start: %v", sr.stop())
	}
	t.Cleanup(func() { sr.stop() })
	return sr
}

// rss returns the process's resident set and its peak, from /proc.
func (sr *soakRelay) rss() (rss, hwm int64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", sr.cmd.Process.Pid))
	if err != nil {
		return -1, -1
	}
	for line := range strings.Lines(string(b)) {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			rss = kb << 10
		case "VmHWM:":
			hwm = kb << 10
		}
	}
	return rss, hwm
}

// stats reads the relay's figures; gc first collects its garbage and
// returns it to the OS.
func (sr *soakRelay) stats(gc bool) (soakStats, error) {
	var st soakStats
	u := sr.url + "/stats"
	if gc {
		u += "?gc"
	}
	resp, err := http.Get(u)
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

// soakSample is one reading of the relay process.
type soakSample struct {
	at      time.Duration
	phase   string
	rss     int64
	st      soakStats
	stErr   error
	clients int
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

// TestSoak: 200 busy peers fetch for a phase, then 20 more peers ask for a
// 16 MiB file and stop reading, and the busy ones fetch for another phase.
// The relay's RSS must stay under its memory limit plus the Go runtime's
// slack (soakSlack: what the limit does not govern — the binary, thread
// stacks outside the heap, pages freed but not yet returned; 9 MiB
// measured), the busy peers must
// keep at least 80 % of their goodput beside the stuck ones, and nothing
// may crash. RSS over time is logged (go test -v).
func TestSoak(t *testing.T) {
	if os.Getenv("P2PCACHE_SOAK") == "" || testing.Short() {
		t.Skip("set P2PCACHE_SOAK=1 to run the soak (200 busy and 20 stuck peers against a 512 MiB relay; minutes)")
	}
	const soakSlack = 64 << 20
	sr := startSoakRelay(t)
	start := time.Now()
	var (
		mu      sync.Mutex
		samples []soakSample
		phase   = "start"
		clients atomic.Int64
	)
	setPhase := func(p string) {
		mu.Lock()
		phase = p
		mu.Unlock()
		t.Logf("%6.1fs: %s", time.Since(start).Seconds(), p)
	}
	stopSampling := make(chan struct{})
	var sampling sync.WaitGroup
	sampling.Go(func() {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-stopSampling:
				return
			case <-tick.C:
			}
			rss, _ := sr.rss()
			st, err := sr.stats(false)
			mu.Lock()
			samples = append(samples, soakSample{at: time.Since(start), phase: phase, rss: rss, st: st, stErr: err, clients: int(clients.Load())})
			mu.Unlock()
		}
	})

	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()
	names := make([]string, soakFiles)
	for i := range names {
		names[i] = fmt.Sprintf("f%d.bin", i)
	}
	var peers []*peer.Peer
	defer func() {
		for _, p := range peers {
			p.Close()
		}
	}()
	// dialAll connects n peers, a few at a time, retrying those refused as
	// overloaded (503) for a while.
	dialAll := func(n int, opts peer.Options) []*peer.Peer {
		out := make([]*peer.Peer, n)
		var wg sync.WaitGroup
		sem := make(chan struct{}, 16)
		var refused atomic.Int64
		for i := range out {
			wg.Go(func() {
				sem <- struct{}{}
				defer func() { <-sem }()
				for try := 0; ; try++ {
					dctx, dcancel := context.WithTimeout(ctx, 30*time.Second)
					p, err := peer.Dial(dctx, sr.url, opts)
					dcancel()
					if err == nil {
						out[i] = p
						clients.Add(1)
						return
					}
					if try == 20 {
						t.Errorf("dial: %v", err)
						return
					}
					refused.Add(1)
					time.Sleep(500 * time.Millisecond)
				}
			})
		}
		wg.Wait()
		if r := refused.Load(); r > 0 {
			t.Logf("%d dials refused or failed and retried", r)
		}
		var ok []*peer.Peer
		for _, p := range out {
			if p != nil {
				ok = append(ok, p)
			}
		}
		peers = append(peers, ok...)
		return ok
	}

	setPhase("warm: one peer fetches the working set")
	warm := dialAll(1, peer.Options{NoServe: true})
	for _, name := range names {
		if _, err := warm[0].Fetch(ctx, name); err != nil {
			t.Fatalf("warm-up: %v", err)
		}
	}
	sr.stats(true)
	base, _ := sr.rss()
	setPhase(fmt.Sprintf("dial %d busy peers", soakBusy))
	busy := dialAll(soakBusy, peer.Options{NoServe: true})
	time.Sleep(3 * time.Second)
	idleSt, _ := sr.stats(true)
	idle, _ := sr.rss()
	t.Logf("RSS %.0f MiB with 1 peer, %.0f MiB with %d idle peers: %.0f KiB a peer (heap %.0f MiB, stacks %.0f MiB, budget in use %.0f MiB)",
		mib(base), mib(idle), len(busy)+1, float64(idle-base)/float64(len(busy))/1024, mib(int64(idleSt.Heap)), mib(int64(idleSt.Stacks)), mib(idleSt.Budget.InUse))
	if len(busy) < soakBusy {
		t.Fatalf("only %d of %d busy peers connected", len(busy), soakBusy)
	}

	// goodput has every busy peer fetch random files of the working set
	// for one phase, and returns the bytes per second they received (the
	// files completed are verified; the last, cut by the phase's end, counts
	// what arrived of it). With P2PCACHE_SOAK_PROFILE set to a directory, a
	// heap profile of the relay is saved there halfway through.
	goodput := func(label string) float64 {
		setPhase(label)
		pctx, pcancel := context.WithTimeout(ctx, soakPhase())
		defer pcancel()
		var failed atomic.Int64
		var wg sync.WaitGroup
		if dir := os.Getenv("P2PCACHE_SOAK_PROFILE"); dir != "" {
			wg.Go(func() { soakProfile(t, sr, dir, label, soakPhase()/2) })
		}
		in := func() (n int64) {
			for _, p := range busy {
				n += int64(p.BytesIn())
			}
			return n
		}
		in0, t0 := in(), time.Now()
		for i, p := range busy {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(uint64(i), 7))
				for pctx.Err() == nil {
					b, err := p.Fetch(pctx, names[rng.IntN(len(names))])
					if err != nil {
						if pctx.Err() == nil {
							failed.Add(1)
						}
						if p.Err() != nil { // the connection is gone
							return
						}
						continue
					}
					if len(b) != soakFileSize {
						t.Errorf("a fetch returned %d bytes", len(b))
					}
				}
			})
		}
		wg.Wait()
		rate := float64(in()-in0) / time.Since(t0).Seconds()
		t.Logf("%s: %.1f MB/s over %d busy peers, %d fetches failed", label, rate/1e6, len(busy), failed.Load())
		if n := failed.Load(); n > 0 {
			t.Errorf("%s: %d fetches failed", label, n)
		}
		return rate
	}
	goodput("warm-up: busy peers alone (not compared)")
	alone := goodput("phase A: busy peers alone")

	setPhase(fmt.Sprintf("dial %d peers that stop reading", soakStuck))
	stuck := dialAll(soakStuck, peer.Options{NoServe: true})
	var stuckWG sync.WaitGroup
	stuckCtx, stopStuck := context.WithCancel(ctx)
	for _, p := range stuck {
		p.StopReadingForTest()
		stuckWG.Go(func() { p.Fetch(stuckCtx, "huge.bin") })
	}
	time.Sleep(3 * time.Second) // their windows fill
	beside := goodput(fmt.Sprintf("phase B: busy peers beside %d stuck ones", len(stuck)))
	stopStuck()

	close(stopSampling)
	sampling.Wait()
	setPhase("close")
	for _, p := range peers {
		p.Close()
	}
	stuckWG.Wait()
	peers = nil
	_, hwm := sr.rss()
	final, _ := sr.stats(false)
	if err := sr.stop(); err != nil {
		t.Errorf("the relay process: %v", err)
	}

	// The report.
	var peak soakSample
	mu.Lock()
	defer mu.Unlock()
	t.Logf("%7s  %-45s %7s %9s %9s %9s %9s %6s %6s", "t", "phase", "clients", "RSS MiB", "heap MiB", "budget", "waiting", "peers", "GCs")
	for i, s := range samples {
		if s.rss > peak.rss {
			peak = s
		}
		if i%5 != 0 && i != len(samples)-1 {
			continue
		}
		t.Logf("%6.0fs  %-45.45s %7d %9.0f %9.0f %9.0f %9d %6d %6d", s.at.Seconds(), s.phase, s.clients, mib(s.rss), mib(int64(s.st.Heap)),
			mib(s.st.Budget.InUse), s.st.Budget.Waiting, s.st.Relay.Peers, s.st.NumGC)
	}
	bs := final.Budget
	t.Logf("budget %.0f MiB: peak %.0f MiB, %d waits (%.1fs in all), %d timeouts, %d refusals, %d admissions denied; relay: %d overloaded, %d slow consumers, %d PONGs and %d PINGs dropped, %d requests busy for memory",
		mib(bs.Max), mib(bs.Peak), bs.Waits, bs.WaitTime.Seconds(), bs.Timeouts, bs.Refusals, bs.Denials,
		final.Relay.Overloaded, final.Relay.SlowConsumers, final.Relay.PongDrops, final.Relay.PingDrops, final.Relay.MemoryBusy)
	t.Logf("RSS: peak sample %.0f MiB at %.0fs (%s), VmHWM %.0f MiB; limit %d MiB + slack %d MiB",
		mib(peak.rss), peak.at.Seconds(), peak.phase, mib(hwm), soakMaxMemory>>20, soakSlack>>20)
	ratio := beside / alone
	t.Logf("goodput: %.1f MB/s alone, %.1f MB/s beside the stuck peers: %.0f %%", alone/1e6, beside/1e6, 100*ratio)
	if hwm > soakMaxMemory+soakSlack {
		t.Errorf("relay RSS peaked at %.0f MiB, over %d MiB + %d MiB", mib(hwm), soakMaxMemory>>20, soakSlack>>20)
	}
	if ratio < 0.8 {
		t.Errorf("busy peers kept %.0f %% of their goodput beside the stuck ones, want ≥ 80 %%", 100*ratio)
	}
	for _, s := range samples {
		if s.stErr != nil && !errors.Is(s.stErr, context.Canceled) {
			t.Errorf("at %.0fs the relay did not answer /stats: %v", s.at.Seconds(), s.stErr)
			break
		}
	}
}

// soakProfile saves a heap profile of the relay process after a while.
func soakProfile(t *testing.T, sr *soakRelay, dir, label string, after time.Duration) {
	time.Sleep(after)
	resp, err := http.Get(sr.url + "/debug/pprof/heap")
	if err != nil {
		t.Logf("heap profile: %v", err)
		return
	}
	defer resp.Body.Close()
	name := filepath.Join(dir, strings.Trim(strings.Fields(label)[1], ":")+".heap.pb.gz")
	f, err := os.Create(name)
	if err != nil {
		t.Logf("heap profile: %v", err)
		return
	}
	defer f.Close()
	io.Copy(f, resp.Body)
	t.Logf("heap profile of the relay: %s", name)
}
