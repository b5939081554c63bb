package procs

import (
	"context"
	"io"
	"log/slog"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestDecide(t *testing.T) {
	c := Config{Min: 1, Max: 8, Up: 0.9, Down: 0.5, HoldDown: 3}
	tests := []struct {
		name      string
		n         int
		used      float64
		low       int
		next, run int
	}{
		{"saturated one P doubles", 1, 0.95, 0, 2, 0},
		{"saturated four Ps double", 4, 3.7, 0, 8, 0},
		{"at Max stays", 8, 8, 0, 8, 0},
		{"doubling stops at Max", 6, 5.9, 0, 8, 0},
		{"busy but not saturated stays", 4, 3.5, 2, 4, 0},
		{"the band between the thresholds stays", 4, 1.6, 2, 4, 0},
		{"low counts", 4, 1.2, 0, 4, 1},
		{"low for HoldDown intervals steps down one", 4, 1.2, 2, 3, 0},
		{"a saturated interval resets the low run", 2, 1.9, 2, 4, 0},
		{"at Min stays however idle", 1, 0, 7, 1, 0},
		{"two Ps, a quarter core: low", 2, 0.25, 0, 2, 1},
		{"two Ps, half a core exactly: not low", 2, 0.5, 2, 2, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next, run := c.Decide(tt.n, tt.used, tt.low)
			if next != tt.next || run != tt.run {
				t.Errorf("Decide(%d, %.2f, %d) = %d, %d; want %d, %d", tt.n, tt.used, tt.low, next, run, tt.next, tt.run)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	c := Config{}.withDefaults()
	if c.Min != 1 || c.Max != runtime.GOMAXPROCS(0) || c.Interval != time.Second || c.Up != 0.9 || c.Down != 0.75 || c.HoldDown != 5 {
		t.Errorf("defaults %+v", c)
	}
	if c := (Config{Min: 4, Max: 2}).withDefaults(); c.Max != 4 {
		t.Errorf("Max below Min: %+v", c)
	}
}

// fakeProcess is a process whose work wants demand cores: each reading of
// the clock moves it one second on, and the process's CPU time by as many
// seconds as it had Ps to run the demand on.
type fakeProcess struct {
	mu     sync.Mutex // guards the following
	procs  int
	demand float64
	clock  time.Time
	cpu    time.Duration
	sets   []int
}

func (f *fakeProcess) now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.clock = f.clock.Add(time.Second)
	f.cpu += time.Duration(min(f.demand, float64(f.procs)) * float64(time.Second))
	return f.clock
}

func (f *fakeProcess) readCPU() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cpu
}

func (f *fakeProcess) set(n int) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	prev := f.procs
	f.procs = n
	f.sets = append(f.sets, n)
	return prev
}

func (f *fakeProcess) setDemand(d float64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.demand = d
}

func (f *fakeProcess) state() (int, []int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.procs, append([]int(nil), f.sets...)
}

// waitProcs waits until the fake process runs with n Ps.
func waitProcs(t *testing.T, f *fakeProcess, n int) []int {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if p, sets := f.state(); p == n {
			return sets
		}
	}
	p, sets := f.state()
	t.Fatalf("procs %d, want %d (set: %v)", p, n, sets)
	return nil
}

func TestRunFollowsTheLoad(t *testing.T) {
	f := &fakeProcess{procs: 6, clock: time.Unix(0, 0)}
	s := New(Config{Min: 1, Max: 8, Interval: time.Millisecond, HoldDown: 2}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	s.cpu, s.set, s.now = f.readCPU, f.set, f.now
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.Run(ctx) }()

	// it starts at Min whatever it found, and stays there while idle
	waitProcs(t, f, 1)
	// demand for 3 cores: 1 → 2 → 4, where 3 of 4 is below 0.9·4
	f.setDemand(3)
	if sets := waitProcs(t, f, 4); sets[len(sets)-2] != 2 {
		t.Errorf("sets %v: want 1, 2, 4", sets)
	}
	// demand far above: to Max (8), not beyond
	f.setDemand(20)
	waitProcs(t, f, 8)
	// idle again: one P at a time, back to Min
	f.setDemand(0.1)
	sets := waitProcs(t, f, 1)
	cancel()
	<-done
	var down []int
	for i := len(sets) - 1; i > 0 && sets[i] < sets[i-1]; i-- {
		down = append([]int{sets[i]}, down...)
	}
	if want := []int{7, 6, 5, 4, 3, 2, 1}; !slices.Equal(down, want) {
		t.Errorf("stepping down %v, want %v", down, want)
	}
	if p, _ := f.state(); p != 6 {
		t.Errorf("after Run: procs %d, want the 6 it found", p)
	}
}

func TestRunOnePerProcess(t *testing.T) {
	f := &fakeProcess{procs: 3, clock: time.Unix(0, 0)}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, b := New(Config{Interval: time.Millisecond}, log), New(Config{Interval: time.Millisecond}, log)
	for _, s := range []*Scaler{a, b} {
		s.cpu, s.set, s.now = f.readCPU, f.set, f.now
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); a.Run(ctx) }()
	waitProcs(t, f, 1)
	_, before := f.state()
	b.Run(ctx) // returns at once: a runs
	if _, after := f.state(); len(after) != len(before) {
		t.Errorf("a second Run changed GOMAXPROCS: %v → %v", before, after)
	}
	cancel()
	<-done
}

func TestRunWithoutCPUTime(t *testing.T) {
	f := &fakeProcess{procs: 3}
	s := New(Config{Interval: time.Millisecond}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	s.cpu, s.set, s.now = func() time.Duration { return -1 }, f.set, f.now
	s.Run(context.Background()) // returns at once
	if p, sets := f.state(); p != 3 || len(sets) != 0 {
		t.Errorf("procs %d, sets %v: want untouched", p, sets)
	}
}

func TestProcessCPU(t *testing.T) {
	a := processCPU()
	for end := time.Now().Add(20 * time.Millisecond); time.Now().Before(end); {
	}
	if b := processCPU(); a < 0 || b <= a {
		t.Errorf("process CPU %v then %v: want it to grow while spinning", a, b)
	}
}
