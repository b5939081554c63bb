// Package cache holds the relay's content: files split into chunks of at most
// 64 KiB, each named by its SHA-256, described by a wire.Manifest and kept in a
// byte-bounded LRU in front of an Origin.
//
// The algorithm, for a request of chunk i of path p:
//
//  1. Manifest(p): a fresh cached manifest is returned as is. A stale one is
//     revalidated with a conditional request (If-None-Match/If-Modified-Since);
//     304 extends its life, 200 replaces it. With no manifest, the origin body is
//     streamed once: it is cut into chunks, each chunk is hashed and put in the
//     LRU, and the whole-file hash is computed on the way. Concurrent callers for
//     the same path share one build (singleflight).
//  2. Chunk(m, i): the LRU is asked for m.Chunks[i]. On a miss, one flight per
//     hash (singleflight, re-checking the LRU inside the flight) fetches the
//     chunk's byte range from the origin (an HTTP Range request with If-Range,
//     so a changed file is detected rather than mixed), verifies its SHA-256
//     against the manifest and only then caches it. A mismatch means the origin
//     changed: the manifest is dropped and ErrStale returned, so old and new
//     chunks are never mixed.
//
// With a cluster tier installed (SetTier; relay/mesh is one), a manifest
// miss asks the tier before the origin, and a chunk miss asks it after the
// peers and before the origin: other relays own a share of the files and
// chunks and fetch them from the origin once for the cluster. What the
// tier returns is checked like peer bytes and kept in this LRU; ErrTierMiss
// sends the request on to the origin (see Tier).
//
// Chunks are content-addressed, so the same bytes in two files are stored once,
// and nothing that failed verification or arrived truncated is ever cached.
// The LRU counts bytes, not entries: golang-lru bounds entries, so the byte
// budget is kept here and enforced by evicting the oldest entries.
//
// A path the origin does not have is remembered for Config.NegativeTTL (10 s)
// in a negative cache bounded by entries and bytes and evicting the least
// recently used entry, so repeated or cycling requests for missing paths cost
// one origin call per path per TTL and a fixed amount of memory. Only a
// definite "not found" is remembered, never a failure.
//
// Memory. The LRU is bounded by Config.MaxBytes; what a manifest build holds
// outside it (the chunks held back until the body verifies, at most MaxBytes
// per build, and a read buffer) is reserved from Config.Budget, a
// process-wide byte-weighted semaphore that other holders of client-driven
// memory (the relay's send queues, peer admission) share. A build of known
// size reserves all it needs before reading, waiting in line, and fails with
// ErrMemoryBudget if the bytes are not free within the origin timeout; a
// build of unknown size grows its reservation without waiting and holds back
// fewer chunks when the budget is short. UsableMemory reads the cgroup limit
// or MemTotal, from which DefaultMemoryLimit derives a budget.
//
// FSOrigin refuses paths with a segment starting with "." (.git, .env) as
// not found unless FSOriginConfig.AllowDotfiles is set.
package cache
