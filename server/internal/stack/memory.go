package stack

import (
	"fmt"
	"log/slog"

	"github.com/p2pcache/p2pcache/cache"
	"github.com/p2pcache/p2pcache/server/internal/config"
)

// fallbackMemoryLimit is --max-memory auto's value where the machine's
// memory cannot be read.
const fallbackMemoryLimit = 1 << 30

// memoryLimit is the process's memory budget: --max-memory, or for auto
// cache.DefaultMemoryLimit (half the machine's or the cgroup's memory),
// and where that cannot be read, a warning and 1 GiB.
func memoryLimit(cfg config.Config, log *slog.Logger) int64 {
	if cfg.MaxMemory > 0 {
		return cfg.MaxMemory
	}
	n, err := cache.DefaultMemoryLimit()
	if err != nil || n <= 0 {
		log.Warn("--max-memory auto: cannot read the machine's memory; using 1GiB (set --max-memory)", "err", err)
		return fallbackMemoryLimit
	}
	return n
}

// newBudget is the memory budget shared by the cache's manifest builds and
// the relay (its peers' allowances, the answers queued for them, the chunks
// pulled from them): two thirds of the process's limit, less the chunk
// cache, which is bounded on its own by --cache-size. The third held back
// is the Go runtime's slack (garbage not yet collected, pion's buffers
// outside the accounting): with budget plus cache at the whole limit, the
// relay's soak (200 busy and 20 stuck peers, 512 MiB) ran the GC without
// pause and went over; at three quarters RSS overshot by 76 MiB; at two
// thirds it stayed under the limit.
func newBudget(cfg config.Config, limit int64) (*cache.Budget, error) {
	usable := limit / 3 * 2
	if cfg.CacheSize >= usable {
		how := "--max-memory"
		if cfg.MaxMemory == 0 {
			how = "--max-memory auto (half the machine's or the cgroup's memory)"
		}
		return nil, fmt.Errorf("%w: --cache-size %d bytes must be less than %s, %d bytes: the cached chunks count against the memory budget; lower --cache-size or raise --max-memory",
			config.ErrConfig, cfg.CacheSize, how+" × 2/3", usable)
	}
	b, err := cache.NewBudget(usable - cfg.CacheSize)
	if err != nil {
		return nil, fmt.Errorf("%w: --max-memory: %w", config.ErrConfig, err)
	}
	return b, nil
}
