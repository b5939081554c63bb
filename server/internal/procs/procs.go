// Package procs sizes GOMAXPROCS to the relay's load: as few Ps as keep up
// with it, up to the cores Go found at start.
//
// # Why
//
// Every packet a peer sends the relay crosses five goroutines in pion
// (ICE-TCP reader, ICE candidate, the DTLS/SRTP mux, DTLS, SCTP), and every
// hand-off to a parked goroutine readies it; with an idle P the runtime
// then wakes a second thread (wakep: a futex), which spins, mostly finds
// nothing, and sleeps again. A browser acknowledges every second SCTP
// packet, so a relay streaming to Chromium takes ~256 such hand-off chains
// per MB. Measured on the 2-core bench machine, the relay with one P
// against two (GOMAXPROCS=2, Go's default there):
//
//   - one Chromium tab: 20-22 ms of relay CPU per MB against 29-34, and
//     the tab's goodput 0.61-0.62 of plain HTTP against 0.52;
//   - 100 Go peers: 8.3 ms per MB against 13.4, 67 MB/s against 50 (one
//     run each; at 100 peers the bench's own peers share the cores, and
//     runs vary by a third or more).
//
// # How
//
// Every Interval the Scaler reads the process's CPU time (user + system)
// and divides its growth by the wall time: the cores the process used, u,
// with n Ps. The policy (Decide) is:
//
//   - u ≥ Up·n (default 0.9): the Ps are busy nine tenths of the time, the
//     relay is short of cores: double n, at most Max;
//   - u < Down·(n−1) (default 0.75) for HoldDown intervals in a row (5):
//     the load would keep one P fewer at most three quarters busy: n−1,
//     at least Min;
//   - otherwise keep n.
//
// Doubling up and stepping down one at a time, after a hold, keeps a
// relay that is briefly busy from flapping; the two thresholds leave a
// band where n stays put. A relay that is short of cores reaches 8 Ps in
// three intervals. Changing GOMAXPROCS stops the world for a moment, at
// most once an interval.
//
// The process's CPU includes the collector and syscalls, which is what a
// P costs; it does not see other processes, so on a machine whose other
// cores are busy the relay still grows to Max when it saturates its own.
// GOMAXPROCS in the environment, or a fixed --procs, turn the Scaler off.
package procs

import (
	"context"
	"log/slog"
	"math"
	"runtime"
	"sync"
	"time"
)

// Config holds the Scaler's knobs; the zero value of each field means its default.
type Config struct {
	Min      int           // fewest Ps (default 1)
	Max      int           // most Ps (default: GOMAXPROCS when New runs)
	Interval time.Duration // how often the load is read (default 1s)
	Up       float64       // double n when the process used ≥ Up·n cores (default 0.9)
	Down     float64       // n−1 when it used < Down·(n−1) cores … (default 0.75)
	HoldDown int           // … for this many intervals in a row (default 5)
}

func (c Config) withDefaults() Config {
	if c.Min < 1 {
		c.Min = 1
	}
	if c.Max < 1 {
		c.Max = runtime.GOMAXPROCS(0)
	}
	if c.Max < c.Min {
		c.Max = c.Min
	}
	if c.Interval <= 0 {
		c.Interval = time.Second
	}
	if c.Up <= 0 {
		c.Up = 0.9
	}
	if c.Down <= 0 {
		c.Down = 0.75
	}
	if c.HoldDown < 1 {
		c.HoldDown = 5
	}
	return c
}

// Decide is the policy: the Ps to run with next, given n now, the cores
// the process used over the last interval, and how many intervals in a row
// (this one included) were low enough to step down. It returns n and the
// updated count.
func (c Config) Decide(n int, used float64, low int) (next, lowRun int) {
	c = c.withDefaults()
	if used >= c.Up*float64(n) && n < c.Max {
		return min(c.Max, 2*n), 0
	}
	if n > c.Min && used < c.Down*float64(n-1) {
		low++
		if low >= c.HoldDown {
			return n - 1, 0
		}
		return n, low
	}
	return n, 0
}

// Scaler runs the policy against the process: New, then Run in a goroutine
// its owner waits for.
type Scaler struct {
	cfg Config
	log *slog.Logger
	cpu func() time.Duration // the process's CPU time so far
	set func(int) int        // runtime.GOMAXPROCS
	now func() time.Time
}

// New returns a Scaler for this process.
func New(cfg Config, log *slog.Logger) *Scaler {
	return &Scaler{cfg: cfg.withDefaults(), log: log, cpu: processCPU, set: runtime.GOMAXPROCS, now: time.Now}
}

// running makes Run one per process: GOMAXPROCS is the process's.
var running sync.Mutex

// Run starts the relay at Min Ps and resizes every Interval until ctx is
// done; then it puts back the GOMAXPROCS it found and returns. A second
// Run at the same time, or one where the process CPU time cannot be read,
// returns at once and changes nothing.
func (s *Scaler) Run(ctx context.Context) {
	if s.cpu() < 0 || !running.TryLock() {
		return
	}
	defer running.Unlock()
	orig := s.set(s.cfg.Min)
	defer s.set(orig)
	n, low := s.cfg.Min, 0
	s.log.Debug("procs: autoscaling", "min", s.cfg.Min, "max", s.cfg.Max, "interval", s.cfg.Interval)
	t := time.NewTicker(s.cfg.Interval)
	defer t.Stop()
	lastAt := s.now()
	lastCPU := s.cpu()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		at := s.now()
		cpu := s.cpu()
		wall := at.Sub(lastAt)
		if wall <= 0 {
			continue
		}
		used := float64(cpu-lastCPU) / float64(wall)
		lastCPU, lastAt = cpu, at
		next, l := s.cfg.Decide(n, used, low)
		low = l
		if next != n {
			s.log.Debug("procs: resize", "from", n, "to", next, "cores_used", math.Round(used*100)/100)
			s.set(next)
			n = next
		}
	}
}
