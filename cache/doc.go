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
// Chunks are content-addressed, so the same bytes in two files are stored once,
// and nothing that failed verification or arrived truncated is ever cached.
// The LRU counts bytes, not entries: golang-lru bounds entries, so the byte
// budget is kept here and enforced by evicting the oldest entries.
package cache
