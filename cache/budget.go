package cache

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"
)

// Budget is a process-wide memory budget: a byte-weighted semaphore that
// every large, transient holder of memory reserves from before it allocates
// and releases into when it drops the memory. One Budget is meant to be
// shared by everything in the process that can hold a lot of memory on a
// client's behalf: the cache's manifest builds (Config.Budget), and the
// relay's send queues and peer admission. What it bounds is the memory
// those holders reserve, not the heap: memory nobody reserves (the chunk LRU,
// bounded on its own by Config.MaxBytes; goroutine stacks; garbage not yet
// collected) comes on top, so a process budget is the sum of the two plus
// the Go runtime's slack.
//
// Acquire waits, in FIFO order, until the bytes are free or its ctx ends:
// that is backpressure, not failure. A request larger than the whole budget
// can never be met and is refused at once rather than left to wait forever.
// TryAcquire never waits, and fails while anyone waits, so it cannot jump the
// queue: it is for admission decisions ("is there room for one more peer?")
// and for optional memory that can be done without.
//
// Every byte acquired must be released exactly once; releasing more than is
// held panics, like unlocking an unlocked mutex. A nil *Budget is unbounded:
// every Acquire and TryAcquire succeeds at once, and Max is 0. It is safe
// for concurrent use.
type Budget struct {
	sem *semaphore.Weighted
	max int64

	inUse, peak, waiting                         atomic.Int64
	acquires, waits, timeouts, refusals, denials atomic.Uint64
	waitNanos                                    atomic.Int64
}

// BudgetStats are a Budget's gauges and cumulative counters, ready to export
// (for Prometheus: the counters as _total, WaitTime as seconds).
type BudgetStats struct {
	Max      int64         // the budget, bytes
	InUse    int64         // bytes reserved now
	Peak     int64         // most bytes reserved at once so far
	Waiting  int64         // Acquire calls waiting now
	Acquires uint64        // reservations granted, by Acquire or TryAcquire
	Waits    uint64        // Acquire calls that had to wait
	WaitTime time.Duration // total time Acquire calls spent waiting
	Timeouts uint64        // Acquire calls whose ctx ended before their bytes were free
	Refusals uint64        // requests larger than Max, refused at once
	Denials  uint64        // TryAcquire calls that found too little room
}

// NewBudget returns a budget of max bytes; max must be positive.
func NewBudget(max int64) (*Budget, error) {
	if max <= 0 {
		return nil, fmt.Errorf("%w: memory budget of %d bytes, want more than 0", ErrBadConfig, max)
	}
	return &Budget{sem: semaphore.NewWeighted(max), max: max}, nil
}

// Acquire reserves n bytes, waiting in line until they are free or ctx ends.
// The error wraps ErrMemoryBudget: for n larger than Max (at once) or
// negative, or, wrapping ctx's error too, when ctx ended first; nothing is
// then reserved.
func (b *Budget) Acquire(ctx context.Context, n int64) error {
	if b == nil || n == 0 {
		return nil
	}
	if err := b.check(n); err != nil {
		return err
	}
	if b.sem.TryAcquire(n) {
		b.took(n)
		return nil
	}
	b.waits.Add(1)
	b.waiting.Add(1)
	start := time.Now()
	err := b.sem.Acquire(ctx, n)
	b.waitNanos.Add(int64(time.Since(start)))
	b.waiting.Add(-1)
	if err != nil {
		b.timeouts.Add(1)
		return fmt.Errorf("%w: waited for %d bytes, %d of %d in use: %w", ErrMemoryBudget, n, b.inUse.Load(), b.max, err)
	}
	b.took(n)
	return nil
}

// TryAcquire reserves n bytes if they are free now and nobody is waiting;
// it never waits. n larger than Max is a refusal, counted as such.
func (b *Budget) TryAcquire(n int64) bool {
	if b == nil || n == 0 {
		return true
	}
	if b.check(n) != nil {
		return false
	}
	if !b.sem.TryAcquire(n) {
		b.denials.Add(1)
		return false
	}
	b.took(n)
	return true
}

// Release returns n reserved bytes to the budget, waking waiters in order.
func (b *Budget) Release(n int64) {
	if b == nil || n == 0 {
		return
	}
	b.inUse.Add(-n) // before the semaphore frees them: InUse never overstates the room taken
	b.sem.Release(n)
}

// Max returns the budget in bytes; 0 for a nil (unbounded) budget.
func (b *Budget) Max() int64 {
	if b == nil {
		return 0
	}
	return b.max
}

// InUse returns the bytes reserved now.
func (b *Budget) InUse() int64 {
	if b == nil {
		return 0
	}
	return b.inUse.Load()
}

// Stats returns the current gauges and counters; zero for a nil budget.
func (b *Budget) Stats() BudgetStats {
	if b == nil {
		return BudgetStats{}
	}
	return BudgetStats{
		Max: b.max, InUse: b.inUse.Load(), Peak: b.peak.Load(), Waiting: b.waiting.Load(),
		Acquires: b.acquires.Load(), Waits: b.waits.Load(), WaitTime: time.Duration(b.waitNanos.Load()),
		Timeouts: b.timeouts.Load(), Refusals: b.refusals.Load(), Denials: b.denials.Load(),
	}
}

// check refuses requests that can never be met.
func (b *Budget) check(n int64) error {
	switch {
	case n < 0:
		return fmt.Errorf("%w: negative request of %d bytes", ErrMemoryBudget, n)
	case n > b.max:
		b.refusals.Add(1)
		return fmt.Errorf("%w: %d bytes asked, more than the whole budget of %d", ErrMemoryBudget, n, b.max)
	}
	return nil
}

// took accounts n bytes granted by the semaphore.
func (b *Budget) took(n int64) {
	b.acquires.Add(1)
	in := b.inUse.Add(n)
	for p := b.peak.Load(); in > p && !b.peak.CompareAndSwap(p, in); p = b.peak.Load() {
	}
}
