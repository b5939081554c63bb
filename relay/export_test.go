package relay

// Test hooks for package relay_test; none of them is public API.

import "fmt"

// SetChunkFaultForTest makes r pass every chunk it sends through fn (see
// Relay.chunkFault).
func SetChunkFaultForTest(r *Relay, fn func(path string, index uint32, data []byte) []byte) {
	r.setChunkFault(fn)
}

// NoWriteCoalescing turns the ICE-TCP write coalescing off, for the A/B
// benchmark.
func NoWriteCoalescing(c *Config) { c.noWriteCoalescing = true }

// RankForTest returns the ids of r's peers in the order FetchChunk would
// try them for an n-byte chunk if every peer held it (see Relay.rank).
func RankForTest(r *Relay, n int) []string {
	var ids []string
	for _, c := range r.rank(r.sessionList(), n, "") {
		ids = append(ids, c.s.id)
	}
	return ids
}

// RankStateForTest describes, for each of r's peers in rank order for an
// n-byte chunk, what the ranking used: smoothed RTT, measured upload rate,
// chunks in flight and whether a timeout demoted it.
func RankStateForTest(r *Relay, n int) []string {
	var out []string
	for _, c := range r.rank(r.sessionList(), n, "") {
		rtt := c.s.live.rtt.Get()
		out = append(out, fmt.Sprintf("%s srtt=%v samples=%d rate=%.0fB/s inflight=%d demoted=%v ect=%v",
			c.s.id, rtt.SRTT, rtt.Samples, c.s.up.tput.get(0), c.s.up.inflight.Load(), c.demoted, c.ect))
	}
	return out
}
