//go:build p2pcache_faults

package config

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/p2pcache/p2pcache/relay"
	"github.com/p2pcache/p2pcache/relay/wire"
)

// Fault injection for end-to-end tests of clients, in builds with the
// p2pcache_faults tag only (make test-browser builds bin/p2pcache-e2e so):
// a production binary has neither the flag nor relay.SetChunkFault.

func init() {
	testingSettings = append(testingSettings, func(c *Config) setting {
		return setting{"fault-corrupt-chunk",
			"TESTING ONLY: corrupt the first COUNT sends of one chunk to peers, as PATH#INDEX[*COUNT] (COUNT default 1); the cache keeps good bytes",
			&faultValue{c: c}}
	})
}

// faultValue is --fault-corrupt-chunk: set, it puts a hook in the Config's
// RelayHooks that corrupts the chunk's sends.
type faultValue struct {
	base
	c    *Config
	text string
}

func (v *faultValue) Set(s string) error {
	s = strings.TrimSpace(s)
	if s == "" {
		delete(v.c.RelayHooks, v.flag)
		v.text = ""
		return nil
	}
	f, err := parseCorruptFault(s)
	if err != nil {
		return v.errorf(": %w", err)
	}
	if v.c.RelayHooks == nil {
		v.c.RelayHooks = map[string]func(*relay.Relay, *slog.Logger){}
	}
	v.c.RelayHooks[v.flag] = func(r *relay.Relay, log *slog.Logger) {
		log.Warn("fault injection on: corrupting chunk sends (testing only)", "path", f.path, "index", f.index, "count", f.left.Load())
		relay.SetChunkFault(r, f.apply)
	}
	v.text = s
	return nil
}
func (v *faultValue) String() string { return v.text }
func (v *faultValue) kind() string   { return "fault" }

// corruptFault corrupts the sends of one chunk: end-to-end tests of
// clients use it to prove a bad chunk on the wire is caught. It alters what
// goes out, never what is cached.
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
