package relay

import (
	"sync"
	"time"

	"github.com/p2pcache/p2pcache/relay/wire"
)

// holders indexes which connected peers hold which chunks, from their HAVE
// frames. It is bounded twice: past maxPerPeer pairs of one peer, and past
// maxEntries pairs in all, new ones are dropped and counted, so one peer
// cannot grow it without limit, nor fill it and leave the others'
// announcements unindexed (it takes maxPerPeer/maxEntries of it at most:
// 1/16 by default). A peer's entries go when it leaves.
type holders struct {
	mu         sync.Mutex // guards the following
	byChunk    map[wire.Hash][]*session
	perPeer    map[*session]int // pairs of each peer
	entries    int
	maxEntries int
	maxPerPeer int
	dropped    uint64
}

func newHolders(maxEntries, maxPerPeer int) *holders {
	return &holders{byChunk: make(map[wire.Hash][]*session), perPeer: make(map[*session]int), maxEntries: maxEntries, maxPerPeer: maxPerPeer}
}

// addLocked records that s holds h; false if the index, or s's share of
// it, is full.
func (x *holders) addLocked(h wire.Hash, s *session) bool {
	list := x.byChunk[h]
	for _, o := range list {
		if o == s {
			return true
		}
	}
	if x.entries >= x.maxEntries || x.perPeer[s] >= x.maxPerPeer {
		x.dropped++
		return false
	}
	x.byChunk[h] = append(list, s)
	x.entries++
	x.perPeer[s]++
	return true
}

func (x *holders) removeLocked(h wire.Hash, s *session) {
	list := x.byChunk[h]
	for i, o := range list {
		if o == s {
			list[i] = list[len(list)-1]
			list = list[:len(list)-1]
			x.entries--
			if x.perPeer[s]--; x.perPeer[s] == 0 {
				delete(x.perPeer, s)
			}
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

// remove forgets that s holds h.
func (x *holders) remove(h wire.Hash, s *session) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.removeLocked(h, s)
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

// onHave records which chunks of a file version the peer holds (its HAVE
// frame). Only a version the relay knows (its manifest is held) is indexed:
// chunks are named by hash, so the relay only needs to know which hashes
// those are. Indexing costs time under the index's one lock, so a HAVE
// costs its chunk count (at most one second's worth) from the peer's
// Config.HaveRate bucket; one over it is dropped and counted.
func (s *session) onHave(f *wire.Frame) {
	if !s.up.haves.AllowN(time.Now(), min(int(f.Count), s.up.haves.Burst())) {
		s.r.stats.haveDrops.Add(1)
		return
	}
	m := s.r.cache.Cached(f.Path)
	if m == nil || m.SHA256 != f.Hash || int(f.Count) != len(m.Chunks) {
		s.log.Debug("HAVE for an unknown file version ignored", "path", f.Path)
		return
	}
	had, ok := s.up.held(f.Hash)
	if !ok || s.isGone() {
		return
	}
	now := s.r.holders.set(s, m.Chunks, f.Bitmap, had)
	if !s.up.setHeld(f.Hash, now) { // torn down meanwhile: teardown already dropped the rest
		s.r.holders.drop(s, []map[wire.Hash]struct{}{now})
	}
}
