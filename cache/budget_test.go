package cache

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

func mustBudget(t testing.TB, max int64) *Budget {
	t.Helper()
	b, err := NewBudget(max)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestNewBudget(t *testing.T) {
	for _, max := range []int64{0, -1} {
		if b, err := NewBudget(max); !errors.Is(err, ErrBadConfig) || b != nil {
			t.Errorf("NewBudget(%d) = %v, %v; want ErrBadConfig", max, b, err)
		}
	}
	b := mustBudget(t, 100)
	if b.Max() != 100 || b.InUse() != 0 || b.Stats() != (BudgetStats{Max: 100}) {
		t.Errorf("new budget: max %d, in use %d, stats %+v", b.Max(), b.InUse(), b.Stats())
	}
}

// TestBudgetNil: a nil budget grants everything and counts nothing.
func TestBudgetNil(t *testing.T) {
	var b *Budget
	if err := b.Acquire(t.Context(), 1<<62); err != nil {
		t.Error(err)
	}
	if !b.TryAcquire(1 << 62) {
		t.Error("TryAcquire on a nil budget failed")
	}
	b.Release(1 << 62)
	if b.Max() != 0 || b.InUse() != 0 || b.Stats() != (BudgetStats{}) {
		t.Errorf("nil budget: max %d, in use %d, stats %+v", b.Max(), b.InUse(), b.Stats())
	}
}

// TestBudgetRefusals: what can never be granted fails at once.
func TestBudgetRefusals(t *testing.T) {
	b := mustBudget(t, 100)
	tests := []struct {
		name string
		n    int64
	}{{"more than the budget", 101}, {"far more", 1 << 40}, {"negative", -1}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// No deadline: a refusal must not wait for one.
			if err := b.Acquire(context.Background(), tt.n); !errors.Is(err, ErrMemoryBudget) {
				t.Errorf("Acquire(%d): %v, want ErrMemoryBudget", tt.n, err)
			}
			if b.TryAcquire(tt.n) {
				t.Errorf("TryAcquire(%d) granted", tt.n)
			}
		})
	}
	if st := b.Stats(); st.Refusals != 4 || st.InUse != 0 || st.Acquires != 0 || st.Waits != 0 {
		t.Errorf("stats %+v; want 4 refusals and nothing else", st)
	}
	// The whole budget at once is fine; zero bytes always are.
	if err := b.Acquire(t.Context(), 100); err != nil {
		t.Fatal(err)
	}
	if err := b.Acquire(t.Context(), 0); err != nil || !b.TryAcquire(0) {
		t.Errorf("zero bytes on a full budget: %v", err)
	}
	b.Release(100)
}

// TestBudgetWaits: Acquire waits in FIFO order (a small request does not
// pass a large one waiting before it, and TryAcquire does not either), a
// cancelled waiter leaves without taking anything and unblocks those behind
// it, and the counters say so.
func TestBudgetWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustBudget(t, 10)
		if !b.TryAcquire(8) {
			t.Fatal("TryAcquire(8) of 10 failed")
		}
		var mu sync.Mutex
		var order []string
		var wg sync.WaitGroup
		acquire := func(ctx context.Context, name string, n int64) {
			wg.Go(func() {
				if err := b.Acquire(ctx, n); err != nil {
					mu.Lock()
					order = append(order, name+" failed")
					mu.Unlock()
					if !errors.Is(err, ErrMemoryBudget) || !errors.Is(err, context.DeadlineExceeded) {
						t.Errorf("%s: %v, want ErrMemoryBudget and DeadlineExceeded", name, err)
					}
					return
				}
				mu.Lock()
				order = append(order, name)
				mu.Unlock()
			})
			synctest.Wait() // queued in this order
		}
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		acquire(ctx, "big", 10) // waits for all of it; gives up after 1 s
		acquire(t.Context(), "five", 5)
		acquire(t.Context(), "one", 1) // 2 bytes are free, but it is behind the others
		if b.TryAcquire(1) {
			t.Fatal("TryAcquire passed the waiters")
		}
		granted := func() []string {
			mu.Lock()
			defer mu.Unlock()
			return slices.Clone(order)
		}
		if st := b.Stats(); st.Waiting != 3 || st.InUse != 8 || len(granted()) != 0 {
			t.Fatalf("while waiting: %+v, granted %v", st, granted())
		}
		time.Sleep(2 * time.Second) // "big" times out; "five" still does not fit
		synctest.Wait()
		if st := b.Stats(); st.Waiting != 2 || st.Timeouts != 1 || st.InUse != 8 {
			t.Fatalf("after the timeout: %+v, granted %v", st, granted())
		}
		b.Release(3) // 5 free: "five" goes; "one" still waits behind it until then
		synctest.Wait()
		if want := []string{"big failed", "five"}; !slices.Equal(granted(), want) {
			t.Fatalf("after releasing 3: granted %v, want %v", granted(), want)
		}
		b.Release(1)
		wg.Wait()
		if want := []string{"big failed", "five", "one"}; !slices.Equal(granted(), want) {
			t.Errorf("order %v, want %v", granted(), want)
		}
		st := b.Stats()
		wantStats := BudgetStats{
			Max: 10, InUse: 10, Peak: 10, Acquires: 3, Waits: 3, Timeouts: 1, Denials: 1,
			WaitTime: 2*time.Second + 2*time.Second + 1*time.Second, // big 1 s, five and one 2 s each
		}
		if st != wantStats {
			t.Errorf("stats\n %+v\nwant\n %+v", st, wantStats)
		}
		b.Release(10)
		if b.InUse() != 0 {
			t.Errorf("in use %d after releasing everything", b.InUse())
		}
	})
}

// TestBudgetConcurrent: however many goroutines reserve and release at once,
// the reserved total never exceeds the budget, and all of it comes back.
func TestBudgetConcurrent(t *testing.T) {
	const max = 1000
	b := mustBudget(t, max)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 1))
			for range 300 {
				n := r.Int64N(max/2) + 1
				if r.IntN(2) == 0 {
					if !b.TryAcquire(n) {
						continue
					}
				} else if err := b.Acquire(t.Context(), n); err != nil {
					t.Error(err)
					return
				}
				if in := b.InUse(); in > max {
					t.Errorf("in use %d > %d", in, max)
				}
				b.Release(n)
			}
		})
	}
	wg.Wait()
	if st := b.Stats(); st.InUse != 0 || st.Peak > max || st.Peak == 0 || st.Waiting != 0 {
		t.Errorf("after the storm: %+v", st)
	}
}
