package cache

import (
	"cmp"
	"fmt"
	"log/slog"
	"time"

	"github.com/p2pcache/p2pcache/relay/wire"
)

// Config holds a Cache's optional settings. The zero value is usable.
type Config struct {
	// ChunkSize is the size of every chunk but a file's last; zero means
	// wire.MaxChunkSize (64 KiB). At most wire.MaxChunkSize.
	ChunkSize int
	// MaxBytes is the chunk LRU's byte budget; zero means 256 MiB.
	MaxBytes int64
	// MaxManifests bounds how many manifests are kept; zero means 10000.
	MaxManifests int
	// MaxFileSize refuses larger files with ErrTooLarge; zero means 1 GiB.
	MaxFileSize int64
	// OriginTimeout bounds one origin call, body included; zero means 60 s.
	OriginTimeout time.Duration
	// OriginRetries is how many more times a transiently failed origin call
	// (5xx, connection error, timeout, truncated body) is tried, with
	// exponential backoff from 100 ms, within OriginTimeout. Zero means 2;
	// negative means no retries.
	OriginRetries int
	// NegativeTTL is how long a path the origin answered "not found" (404,
	// 410, a missing file) is answered so again without asking the origin;
	// zero means 10 s, negative means never. Transient failures (5xx,
	// timeouts) and refusals are never remembered.
	NegativeTTL time.Duration
	// NegativeMaxEntries bounds how many missing paths are remembered; zero
	// means 10000. The least recently used is forgotten first.
	NegativeMaxEntries int
	// NegativeMaxBytes bounds their memory, each path charged its length
	// plus 128 bytes; zero means 2 MiB.
	NegativeMaxBytes int64
	// Budget, if set, is the process-wide memory budget that manifest builds
	// reserve from: a build holds up to the smaller of the file and MaxBytes
	// outside the LRU until it completes, plus one read buffer. A build waits
	// for its bytes (in line with the budget's other users) until the origin
	// timeout, then fails with ErrMemoryBudget. Nil means unbounded. Its Max
	// must be at least ChunkSize.
	Budget *Budget
	// Logger receives debug logs; nil means none.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Validate reports the first out-of-range field.
func (c Config) Validate() error {
	switch {
	case c.ChunkSize < 0 || c.ChunkSize > wire.MaxChunkSize:
		return fmt.Errorf("%w: chunk size %d not in 1..%d bytes", ErrBadConfig, c.ChunkSize, wire.MaxChunkSize)
	case c.MaxBytes < 0:
		return fmt.Errorf("%w: negative cache size %d", ErrBadConfig, c.MaxBytes)
	case c.MaxManifests < 0:
		return fmt.Errorf("%w: negative manifest count %d", ErrBadConfig, c.MaxManifests)
	case c.MaxFileSize < 0:
		return fmt.Errorf("%w: negative max file size %d", ErrBadConfig, c.MaxFileSize)
	case c.OriginTimeout < 0:
		return fmt.Errorf("%w: negative origin timeout %v", ErrBadConfig, c.OriginTimeout)
	case c.NegativeMaxEntries < 0:
		return fmt.Errorf("%w: negative negative-cache entry count %d", ErrBadConfig, c.NegativeMaxEntries)
	case c.NegativeMaxBytes < 0:
		return fmt.Errorf("%w: negative negative-cache size %d", ErrBadConfig, c.NegativeMaxBytes)
	case c.Budget != nil && c.Budget.Max() < int64(cmp.Or(c.ChunkSize, wire.MaxChunkSize)):
		return fmt.Errorf("%w: memory budget of %d bytes is less than a chunk", ErrBadConfig, c.Budget.Max())
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.ChunkSize == 0 {
		c.ChunkSize = wire.MaxChunkSize
	}
	if c.MaxBytes == 0 {
		c.MaxBytes = 256 << 20
	}
	if c.MaxManifests == 0 {
		c.MaxManifests = 10000
	}
	if c.MaxFileSize == 0 {
		c.MaxFileSize = 1 << 30
	}
	if c.OriginTimeout == 0 {
		c.OriginTimeout = 60 * time.Second
	}
	if c.OriginRetries == 0 {
		c.OriginRetries = 2
	} else if c.OriginRetries < 0 {
		c.OriginRetries = 0
	}
	if c.NegativeTTL == 0 {
		c.NegativeTTL = 10 * time.Second
	}
	if c.NegativeMaxEntries == 0 {
		c.NegativeMaxEntries = 10000
	}
	if c.NegativeMaxBytes == 0 {
		c.NegativeMaxBytes = 2 << 20
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}
