package cache

import (
	"errors"

	"github.com/p2pcache/p2pcache/relay/wire"
)

var (
	// ErrNotFound: the origin has no such file.
	ErrNotFound = errors.New("not found")
	// ErrBadPath: the path is not a clean relative path inside the origin.
	// It is wire.ErrBadPath, so errors.Is matches either.
	ErrBadPath = wire.ErrBadPath
	// ErrOrigin: the origin failed (5xx, timeout, connection error, truncated body).
	ErrOrigin = errors.New("origin error")
	// ErrOriginRefused wraps ErrOrigin when the origin refused rather than
	// failed (a 4xx other than 404/410, a redirect off its host): not retried.
	ErrOriginRefused = errors.New("origin refused")
	// ErrTooLarge: the file is larger than the configured maximum.
	ErrTooLarge = errors.New("file too large")
	// ErrStale: the origin's content changed under a manifest; fetch the manifest again.
	ErrStale = errors.New("manifest is stale")
	// ErrBadIndex: a chunk index outside the manifest.
	ErrBadIndex = errors.New("chunk index out of range")
	// ErrBadManifest: a manifest failed to parse or validate. It is
	// wire.ErrBadManifest, so errors.Is matches either.
	ErrBadManifest = wire.ErrBadManifest
	// ErrHashMismatch: bytes do not hash to what the manifest says.
	ErrHashMismatch = errors.New("sha-256 mismatch")
	// ErrBadConfig: a Config field is out of range.
	ErrBadConfig = errors.New("bad cache config")
	// ErrUnknownChunk: a chunk asked for by hash alone is neither cached nor in a known manifest.
	ErrUnknownChunk = errors.New("unknown chunk")
	// ErrMemoryBudget: a Budget could not grant the memory asked for: more
	// than the whole budget, or not free before the caller's deadline.
	ErrMemoryBudget = errors.New("memory budget exhausted")
	// ErrTierMiss: the cluster tier has no answer for this relay: it is the
	// owner, or the tier is down or too slow; the origin is asked instead.
	ErrTierMiss = errors.New("cluster tier miss")
	// ErrUnknownMemory: UsableMemory found no memory limit or size to report,
	// or could not read one.
	ErrUnknownMemory = errors.New("usable memory unknown")
)
