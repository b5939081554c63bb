package cache

import (
	"context"
	"fmt"
)

// buildGrowStep is how much more a build of unknown size reserves at a time.
const buildGrowStep = 1 << 20

// buildMem is the memory one manifest build holds outside the LRU, reserved
// from Config.Budget (nil: unbounded): one chunk-size read buffer, and the
// chunks held back to be cached once the whole body has verified, at most
// limit bytes of them. A build of known size reserves everything up front,
// waiting in line if need be, so builds never hold part of the budget while
// waiting for more (no hold-and-wait, no deadlock between builds). A build of
// unknown size reserves its read buffer, then grows without waiting as chunks
// are held back; once the budget has no room it stops holding chunks back,
// which costs only range fetches later, and finishes.
type buildMem struct {
	b           *Budget
	cs          int64 // the read buffer
	limit       int64 // most chunk bytes held back
	held, kept  int64 // reserved; of it, chunk bytes held back
	outOfBudget bool  // a grow failed: hold nothing more back
}

// reserveBuild reserves the memory to build p's manifest from a body of size
// bytes (-1: unknown). The error wraps ErrMemoryBudget when the bytes were not
// free before ctx ended.
func (c *Cache) reserveBuild(ctx context.Context, p string, size int64) (*buildMem, error) {
	r := &buildMem{b: c.cfg.Budget, cs: int64(c.cfg.ChunkSize), limit: c.cfg.MaxBytes}
	if r.b != nil {
		r.limit = min(r.limit, r.b.Max()-r.cs) // New checked Max >= ChunkSize
	}
	want := r.cs
	if size >= 0 {
		want += min(size, r.limit)
	}
	if err := r.b.Acquire(ctx, want); err != nil {
		return nil, fmt.Errorf("building the manifest of %s: %w", p, err)
	}
	r.held = want
	return r, nil
}

// keep reports whether a chunk of k bytes may be held back, and reserves it.
func (r *buildMem) keep(k int) bool {
	n := int64(k)
	if r.kept+n > r.limit {
		return false
	}
	if need := r.kept + n + r.cs - r.held; need > 0 {
		if r.outOfBudget {
			return false
		}
		grow := max(need, min(buildGrowStep, r.limit+r.cs-r.held))
		if !r.b.TryAcquire(grow) {
			if grow = need; !r.b.TryAcquire(grow) {
				r.outOfBudget = true
				return false
			}
		}
		r.held += grow
	}
	r.kept += n
	return true
}

// release returns the reservation; the caller has dropped its buffers (or
// handed the chunks to the LRU, which bounds them itself).
func (r *buildMem) release() {
	r.b.Release(r.held)
	r.held = 0
}
