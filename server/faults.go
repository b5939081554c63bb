package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/p2pcache/p2pcache/relay/wire"
)

// corruptFault is the --fault-corrupt-chunk fault injection: end-to-end
// tests of clients use it to prove a bad chunk on the wire is caught. It
// alters what goes out, never what is cached.
type corruptFault struct {
	path  string // clean path
	index uint32
	left  atomic.Int64 // sends still to corrupt
}

// parseCorruptFault parses PATH#INDEX[*COUNT].
func parseCorruptFault(v string) (*corruptFault, error) {
	p, rest, ok := strings.Cut(v, "#")
	if !ok {
		return nil, fmt.Errorf("%q: want PATH#INDEX[*COUNT]", v)
	}
	clean, err := wire.CleanPath(p)
	if err != nil {
		return nil, err
	}
	idx, cnt, hasCount := strings.Cut(rest, "*")
	i, err := strconv.ParseUint(idx, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("%q: chunk index %q is not a whole number", v, idx)
	}
	n := int64(1)
	if hasCount {
		if n, err = strconv.ParseInt(cnt, 10, 64); err != nil || n < 1 {
			return nil, errors.New(v + ": COUNT must be a whole number ≥ 1")
		}
	}
	f := &corruptFault{path: clean, index: uint32(i)}
	f.left.Store(n)
	return f, nil
}

// apply returns data with its first byte flipped when (path, index) is the
// faulted chunk and sends remain to corrupt; otherwise data itself.
func (f *corruptFault) apply(path string, index uint32, data []byte) []byte {
	if index != f.index || len(data) == 0 {
		return data
	}
	if p, err := wire.CleanPath(path); err != nil || p != f.path {
		return data
	}
	if f.left.Add(-1) < 0 {
		return data
	}
	bad := append([]byte(nil), data...)
	bad[0] ^= 0xff
	return bad
}
