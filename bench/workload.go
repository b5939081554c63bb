package main

import (
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"sort"
	"strings"
	"testing/fstest"

	"github.com/p2pcache/p2pcache/relay/wire"
	"github.com/p2pcache/p2pcache/server/demo"
)

// maxBenchFile bounds one file (the Go peer's default limit).
const maxBenchFile = 1 << 30

// benchFile is one file of the workload.
type benchFile struct {
	Path string   `json:"path"`
	Size int64    `json:"size"`
	Rank int      `json:"rank"` // popularity rank, 0 = most requested
	sum  [32]byte // SHA-256 of the content
}

// fileSet is the workload's files and where they come from.
type fileSet struct {
	name  string // "demo" or the directory
	fsys  fs.FS  // what the origin serves
	files []benchFile
	total int64 // working set: the sum of the sizes
	// probe is a 64 KiB file outside the workload that the origin also
	// serves: after each phase's requests one peer fetches it once (to warm
	// the cache) and then --probe times, for the warm-cache small-file
	// latency.
	probe benchFile
}

// probePath is the warm-cache probe's path at the origin.
const (
	probePath = "p2pcache-bench-probe/64k.bin"
	probeSize = 64 << 10
)

// probeData is the probe's content: 64 KiB of deterministic noise.
func probeData() []byte {
	r := rand.New(rand.NewPCG(64, 1024))
	b := make([]byte, probeSize)
	for i := 0; i < len(b); i += 8 {
		v := r.Uint64()
		for k := 0; k < 8; k++ {
			b[i+k] = byte(v >> (8 * k))
		}
	}
	return b
}

// overlayFS serves extra's files over base's.
type overlayFS struct {
	base  fs.FS
	extra fstest.MapFS
}

func (o overlayFS) Open(name string) (fs.File, error) {
	if name == "p2pcache-bench-probe" || strings.HasPrefix(name, "p2pcache-bench-probe/") {
		return o.extra.Open(name)
	}
	return o.base.Open(name)
}

// loadFiles opens the demo FS or a directory and hashes every regular file
// whose path the relay accepts. The demo's index.json is left out: the
// workload is the images.
func loadFiles(spec string) (*fileSet, error) {
	set := &fileSet{name: spec}
	if spec == "demo" {
		set.fsys = demo.FS()
	} else {
		set.fsys = os.DirFS(spec)
	}
	err := fs.WalkDir(set.fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != "." && strings.HasPrefix(d.Name(), ".") {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || strings.HasPrefix(d.Name(), ".") || (spec == "demo" && p == demo.IndexPath) {
			return nil
		}
		if _, err := wire.CleanPath(p); err != nil {
			return nil // a name the relay refuses: not part of the workload
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if info.Size() == 0 || info.Size() > maxBenchFile {
			return nil
		}
		f, err := set.fsys.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		h := sha256.New()
		n, err := io.Copy(h, f)
		if err != nil {
			return err
		}
		bf := benchFile{Path: p, Size: n}
		copy(bf.sum[:], h.Sum(nil))
		set.files = append(set.files, bf)
		set.total += n
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("--files %s: %w", spec, err)
	}
	if len(set.files) == 0 {
		return nil, fmt.Errorf("--files %s: no servable files", spec)
	}
	sort.Slice(set.files, func(i, j int) bool { return set.files[i].Path < set.files[j].Path })
	pd := probeData()
	set.probe = benchFile{Path: probePath, Size: int64(len(pd)), Rank: -1, sum: sha256.Sum256(pd)}
	set.fsys = overlayFS{base: set.fsys, extra: fstest.MapFS{probePath: &fstest.MapFile{Data: pd, Mode: 0o444}}}
	return set, nil
}

// rankFiles gives every file a popularity rank: a permutation drawn from
// seed, so which file is hottest does not depend on its name.
func rankFiles(files []benchFile, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	for rank, i := range r.Perm(len(files)) {
		files[i].Rank = rank
	}
}

// picker draws one peer's request sequence: file indexes, Zipf-distributed
// over popularity ranks (uniform when s is 0). The same (seed, peer) always
// gives the same sequence, whatever the number of peers, so peer k does the
// same work in every run and in every phase.
type picker struct {
	r      *rand.Rand
	z      *rand.Zipf
	byRank []int // file index of each rank
}

func newPicker(seed uint64, peer int, s float64, files []benchFile) *picker {
	byRank := make([]int, len(files))
	for i, f := range files {
		byRank[f.Rank] = i
	}
	p := &picker{r: rand.New(rand.NewPCG(seed, uint64(peer)+1)), byRank: byRank}
	if s > 1 && len(files) > 1 {
		p.z = rand.NewZipf(p.r, s, 1, uint64(len(files)-1))
	}
	return p
}

func (p *picker) next() int {
	if p.z != nil {
		return p.byRank[p.z.Uint64()]
	}
	return p.byRank[p.r.IntN(len(p.byRank))]
}

// sequence is the first n requests of a peer.
func sequence(seed uint64, peer, n int, s float64, files []benchFile) []int {
	p := newPicker(seed, peer, s, files)
	out := make([]int, n)
	for i := range out {
		out[i] = p.next()
	}
	return out
}
