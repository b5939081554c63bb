package mesh

import (
	"cmp"
	"slices"

	"github.com/cespare/xxhash/v2"

	"github.com/p2pcache/p2pcache/relay/wire"
)

// ChunkKey is the ownership key of a chunk: its SHA-256 in lowercase hex.
// The same bytes in two files have one owner.
func ChunkKey(h wire.Hash) string { return h.String() }

// ManifestKey is the ownership key of a file's manifest: "manifest:" and
// its clean path.
func ManifestKey(path string) string { return "manifest:" + path }

// Score is the rendezvous (highest random weight) score of relay id for
// key: the xxHash64 (seed 0) of key, a zero byte and id. Every relay
// computes the same scores, so all that see the same members agree on the
// owners without talking.
func Score(key, id string) uint64 {
	var d xxhash.Digest
	d.Reset()
	d.WriteString(key)
	d.Write([]byte{0})
	d.WriteString(id)
	return d.Sum64()
}

// Owners orders ids by their Score for key, highest first (ties, which
// need a 64-bit collision, by id): the first is the key's owner, the next
// the one that takes over when the owner is gone. Removing an id moves
// only the keys it owned, each to its next owner, and adding one takes
// from every other id about 1/N of its keys: no other key changes owner.
// ids is not modified.
func Owners(key string, ids []string) []string {
	type scored struct {
		id string
		s  uint64
	}
	ss := make([]scored, len(ids))
	for i, id := range ids {
		ss[i] = scored{id, Score(key, id)}
	}
	slices.SortFunc(ss, func(a, b scored) int {
		if c := cmp.Compare(b.s, a.s); c != 0 {
			return c
		}
		return cmp.Compare(a.id, b.id)
	})
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.id
	}
	return out
}

// Owner is Owners(key, ids)[0] without the sort; "" if ids is empty.
func Owner(key string, ids []string) string {
	var best string
	var bs uint64
	for _, id := range ids {
		s := Score(key, id)
		if best == "" || s > bs || (s == bs && id < best) {
			best, bs = id, s
		}
	}
	return best
}
