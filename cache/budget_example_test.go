package cache_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"testing/fstest"
	"time"

	"github.com/p2pcache/p2pcache/cache"
)

// One budget for the whole process: the cache's manifest builds reserve
// from it, and so can anything else that holds memory for a client.
func ExampleBudget() {
	budget, err := cache.NewBudget(64 << 20)
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()

	// A send queue takes 48 MiB, waiting if it must.
	if err := budget.Acquire(ctx, 48<<20); err != nil {
		log.Fatal(err)
	}
	// Admission: is there room for another 32 MiB now? No.
	fmt.Println("admit 32 MiB:", budget.TryAcquire(32<<20))
	// Waiting for it gives up when ctx does.
	short, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	err = budget.Acquire(short, 32<<20)
	fmt.Println("wait for 32 MiB:", errors.Is(err, cache.ErrMemoryBudget), errors.Is(err, context.DeadlineExceeded))
	// More than the whole budget is refused at once.
	fmt.Println("ask 1 GiB:", errors.Is(budget.Acquire(ctx, 1<<30), cache.ErrMemoryBudget))

	budget.Release(48 << 20)
	st := budget.Stats()
	fmt.Printf("in use %d, peak %d MiB, %d wait, %d timeout, %d refusal, %d denial\n",
		st.InUse, st.Peak>>20, st.Waits, st.Timeouts, st.Refusals, st.Denials)

	// The cache reserves each manifest build's memory from it.
	c, err := cache.New(cache.NewFSOrigin(fstest.MapFS{}, cache.FSOriginConfig{}), cache.Config{Budget: budget})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	// Output:
	// admit 32 MiB: false
	// wait for 32 MiB: true true
	// ask 1 GiB: true
	// in use 0, peak 48 MiB, 1 wait, 1 timeout, 1 refusal, 1 denial
}
