package relay

import (
	"sync"

	"github.com/p2pcache/p2pcache/relay/wire"
)

// holders indexes which connected peers hold which chunks, from their HAVE
// frames. It is bounded: past maxEntries (chunk, peer) pairs new ones are
// dropped and counted, so a peer cannot grow it without limit. A peer's
// entries go when it leaves.
type holders struct {
	mu         sync.Mutex // guards the following
	byChunk    map[wire.Hash][]*session
	entries    int
	maxEntries int
	dropped    uint64
}

func newHolders(maxEntries int) *holders {
	return &holders{byChunk: make(map[wire.Hash][]*session), maxEntries: maxEntries}
}

// addLocked records that s holds h; false if the index is full.
func (x *holders) addLocked(h wire.Hash, s *session) bool {
	list := x.byChunk[h]
	for _, o := range list {
		if o == s {
			return true
		}
	}
	if x.entries >= x.maxEntries {
		x.dropped++
		return false
	}
	x.byChunk[h] = append(list, s)
	x.entries++
	return true
}

func (x *holders) removeLocked(h wire.Hash, s *session) {
	list := x.byChunk[h]
	for i, o := range list {
		if o == s {
			list[i] = list[len(list)-1]
			list = list[:len(list)-1]
			x.entries--
			break
		}
	}
	if len(list) == 0 {
		delete(x.byChunk, h)
	} else {
		x.byChunk[h] = list
	}
}

// set replaces what s holds of one file version (chunks, by bitmap) and
// returns the hashes it now holds of it.
func (x *holders) set(s *session, chunks []wire.Hash, bitmap []byte, had map[wire.Hash]struct{}) map[wire.Hash]struct{} {
	now := make(map[wire.Hash]struct{})
	x.mu.Lock()
	defer x.mu.Unlock()
	for i, h := range chunks {
		if bitmap[i/8]&(1<<(i%8)) != 0 && x.addLocked(h, s) {
			now[h] = struct{}{}
		}
	}
	for h := range had {
		if _, ok := now[h]; !ok {
			x.removeLocked(h, s)
		}
	}
	return now
}

// drop removes every entry of s.
func (x *holders) drop(s *session, held []map[wire.Hash]struct{}) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, set := range held {
		for h := range set {
			x.removeLocked(h, s)
		}
	}
}

// of returns the peers holding h.
func (x *holders) of(h wire.Hash) []*session {
	x.mu.Lock()
	defer x.mu.Unlock()
	return append([]*session(nil), x.byChunk[h]...)
}

func (x *holders) stats() (entries int, dropped uint64) {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.entries, x.dropped
}
