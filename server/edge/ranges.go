package edge

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/p2pcache/p2pcache/relay/wire"
)

// etagMatch reports whether an If-None-Match header names etag (weak
// comparison, RFC 9110 §13.1.2).
func etagMatch(header, etag string) bool {
	if header == "" {
		return false
	}
	if strings.TrimSpace(header) == "*" {
		return true
	}
	for _, t := range strings.Split(header, ",") {
		if strings.TrimPrefix(strings.TrimSpace(t), "W/") == etag {
			return true
		}
	}
	return false
}

// ifRangeHolds reports whether a Range may be honored under If-Range: with
// no If-Range, or one naming the current strong ETag or a date not before
// Last-Modified.
func ifRangeHolds(ifRange string, m *wire.Manifest) bool {
	if ifRange == "" {
		return true
	}
	if strings.HasPrefix(ifRange, `"`) {
		return ifRange == m.ETag
	}
	t, err := http.ParseTime(ifRange)
	return err == nil && !m.LastModified.IsZero() && !m.LastModified.After(t)
}

// parseRange parses a single "bytes=" range against size into [start, end).
// ok is false for a header to ignore (multiple ranges, another unit, bad
// syntax: the whole file is sent, as RFC 9110 allows); satisfiable is false
// for a range that lies outside the file (416).
func parseRange(h string, size int64) (start, end int64, ok, satisfiable bool) {
	spec, found := strings.CutPrefix(h, "bytes=")
	if !found || strings.Contains(spec, ",") {
		return 0, 0, false, true
	}
	a, b, found := strings.Cut(strings.TrimSpace(spec), "-")
	if !found {
		return 0, 0, false, true
	}
	if a == "" { // suffix: the last b bytes
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n < 0 {
			return 0, 0, false, true
		}
		if n == 0 || size == 0 {
			return 0, 0, false, false
		}
		return max(0, size-n), size, true, true
	}
	first, err := strconv.ParseInt(a, 10, 64)
	if err != nil || first < 0 {
		return 0, 0, false, true
	}
	if first >= size {
		return 0, 0, false, false
	}
	last := size - 1
	if b != "" {
		if last, err = strconv.ParseInt(b, 10, 64); err != nil || last < first {
			return 0, 0, false, true
		}
		last = min(last, size-1)
	}
	return first, last + 1, true, true
}
