package cache

import (
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
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}
