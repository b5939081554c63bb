//go:build p2pcache_faults

package relay

// SetChunkFault installs fault injection for end-to-end tests of clients:
// every chunk r sends then passes through fn (path as requested, empty for
// a by-hash request) and goes out as the bytes fn returns; the cache is
// untouched. A nil fn removes it. It exists only in builds with the
// p2pcache_faults tag.
func SetChunkFault(r *Relay, fn func(path string, index uint32, data []byte) []byte) {
	r.setChunkFault(fn)
}
