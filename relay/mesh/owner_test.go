package mesh

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/cespare/xxhash/v2"

	"github.com/p2pcache/p2pcache/relay/wire"
)

// TestScoreVectors pins the score function: every relay of a cluster, and
// any other implementation, must compute the same owners. Score(key, id)
// is XXH64(key || 0x00 || id), seed 0; XXH64("\x00") is the published
// 0xe934a84adb052768.
func TestScoreVectors(t *testing.T) {
	hello := ChunkKey(wire.Sum([]byte("hello")))
	tests := []struct {
		key, id string
		want    uint64
	}{
		{"", "", 0xe934a84adb052768},
		{"manifest:index.html", "r1", 0xcce8de640aead8c8},
		{hello, "relay-a", 0xe225c4e107f2e878},
	}
	for _, tt := range tests {
		if got := Score(tt.key, tt.id); got != tt.want {
			t.Errorf("Score(%q, %q) = %#x, want %#x", tt.key, tt.id, got, tt.want)
		}
		if got := xxhash.Sum64String(tt.key + "\x00" + tt.id); got != tt.want {
			t.Errorf("XXH64(%q) = %#x, want %#x", tt.key+"\x00"+tt.id, got, tt.want)
		}
	}
	if hello != "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824" {
		t.Errorf("ChunkKey = %s, want the lowercase hex SHA-256", hello)
	}
	ids := []string{"a", "b", "c", "d"}
	for _, tt := range []struct {
		key  string
		want []string
	}{
		{"manifest:index.html", []string{"a", "d", "c", "b"}},
		{hello, []string{"c", "a", "b", "d"}},
		{"anything", nil},
	} {
		in := ids
		if tt.want == nil {
			in = nil
		}
		if got := Owners(tt.key, in); !slices.Equal(got, tt.want) && !(len(got) == 0 && len(tt.want) == 0) {
			t.Errorf("Owners(%q) = %v, want %v", tt.key, got, tt.want)
		}
	}
}

func ids(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("relay-%d", i)
	}
	return out
}

func keys(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = ChunkKey(wire.Sum(fmt.Appendf(nil, "chunk %d", i)))
	}
	return out
}

// TestOwnersOrder: Owners is a permutation of its ids, sorted by score,
// does not modify its input, and its first is Owner.
func TestOwnersOrder(t *testing.T) {
	in := ids(7)
	orig := slices.Clone(in)
	for _, k := range keys(200) {
		got := Owners(k, in)
		if !slices.Equal(in, orig) {
			t.Fatal("Owners modified its input")
		}
		if s := slices.Sorted(slices.Values(got)); !slices.Equal(s, orig) {
			t.Fatalf("Owners(%s) = %v: not a permutation of %v", k, got, orig)
		}
		for i := 1; i < len(got); i++ {
			if Score(k, got[i-1]) < Score(k, got[i]) {
				t.Fatalf("Owners(%s) = %v: not by descending score", k, got)
			}
		}
		if o := Owner(k, in); o != got[0] {
			t.Fatalf("Owner(%s) = %s, Owners()[0] = %s", k, o, got[0])
		}
		// The order of the input does not matter.
		rev := slices.Clone(in)
		slices.Reverse(rev)
		if r := Owners(k, rev); !slices.Equal(r, got) {
			t.Fatalf("Owners depends on the input order: %v vs %v", r, got)
		}
	}
	if Owner("k", nil) != "" {
		t.Error("Owner of no ids is not empty")
	}
}

// TestOwnershipMovesSmoothly: removing a member moves exactly the keys it
// owned, each to its next owner; adding one moves only keys to it, about
// 1/N of them; and keys spread evenly.
func TestOwnershipMovesSmoothly(t *testing.T) {
	const nkeys = 20000
	ks := keys(nkeys)
	for _, n := range []int{2, 3, 5, 10} {
		t.Run(fmt.Sprint(n, " members"), func(t *testing.T) {
			members := ids(n)
			before := make(map[string][]string, nkeys)
			count := map[string]int{}
			for _, k := range ks {
				before[k] = Owners(k, members)
				count[before[k][0]]++
			}
			// Balance: every member owns 1/n ± 15% (20000 keys: a few % is the noise).
			for _, id := range members {
				share := float64(count[id]) / nkeys
				if math.Abs(share-1/float64(n)) > 0.15/float64(n) {
					t.Errorf("%s owns %.3f of the keys, want %.3f", id, share, 1/float64(n))
				}
			}
			// Remove one: only its keys move, each to its second owner.
			gone := members[n/2]
			rest := slices.DeleteFunc(slices.Clone(members), func(id string) bool { return id == gone })
			moved := 0
			for _, k := range ks {
				o := Owner(k, rest)
				if before[k][0] == gone {
					moved++
					if o != before[k][1] {
						t.Fatalf("key of %s went to %s, want its next owner %s", gone, o, before[k][1])
					}
				} else if o != before[k][0] {
					t.Fatalf("key of %s moved to %s when %s left", before[k][0], o, gone)
				}
			}
			if moved != count[gone] {
				t.Errorf("%d keys moved, %s owned %d", moved, gone, count[gone])
			}
			// Add one: keys move only to it, about 1/(n+1).
			added := append(slices.Clone(members), "newcomer")
			moved = 0
			for _, k := range ks {
				o := Owner(k, added)
				switch {
				case o == "newcomer":
					moved++
				case o != before[k][0]:
					t.Fatalf("key moved from %s to %s, not to the newcomer", before[k][0], o)
				}
			}
			if share := float64(moved) / nkeys; math.Abs(share-1/float64(n+1)) > 0.15/float64(n+1) {
				t.Errorf("the newcomer took %.3f of the keys, want about %.3f", share, 1/float64(n+1))
			}
		})
	}
}

func BenchmarkOwners(b *testing.B) {
	members := ids(10)
	k := keys(1)[0]
	for b.Loop() {
		Owners(k, members)
	}
}
