package relay

// Test hooks for package relay_test; none of them is public API.

// SetChunkFaultForTest makes r pass every chunk it sends through fn (see
// Relay.chunkFault).
func SetChunkFaultForTest(r *Relay, fn func(path string, index uint32, data []byte) []byte) {
	r.setChunkFault(fn)
}

// NoWriteCoalescing turns the ICE-TCP write coalescing off, for the A/B
// benchmark.
func NoWriteCoalescing(c *Config) { c.noWriteCoalescing = true }
