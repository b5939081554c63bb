package cache

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxHeuristicFreshness caps the heuristic lifetime of a response that has a
// Last-Modified date but no explicit expiry.
const maxHeuristicFreshness = time.Hour

// freshness computes how long a response may be served from a shared cache
// without revalidation (RFC 9111 §4.2): s-maxage, then max-age, then Expires
// minus Date, less Age; with none of them, 10% of the time since
// Last-Modified, at most an hour. no-store, no-cache and private make it zero:
// this cache then revalidates on every use rather than refusing to store,
// because it must keep the chunks to serve them at all.
func freshness(h http.Header, now time.Time) time.Duration {
	var maxAge, sMaxAge time.Duration = -1, -1
	for _, field := range h.Values("Cache-Control") {
		for _, d := range strings.Split(field, ",") {
			name, val, _ := strings.Cut(strings.TrimSpace(d), "=")
			switch strings.ToLower(name) {
			case "no-store", "no-cache", "private":
				return 0
			case "max-age":
				maxAge = parseSeconds(val)
			case "s-maxage":
				sMaxAge = parseSeconds(val)
			}
		}
	}
	age := parseSeconds(h.Get("Age"))
	if age < 0 {
		age = 0
	}
	life := time.Duration(-1)
	switch {
	case sMaxAge >= 0:
		life = sMaxAge
	case maxAge >= 0:
		life = maxAge
	case h.Get("Expires") != "":
		exp, err := http.ParseTime(h.Get("Expires"))
		if err != nil {
			return 0 // an invalid Expires means already expired
		}
		date, err := http.ParseTime(h.Get("Date"))
		if err != nil {
			date = now
		}
		life = exp.Sub(date)
	default:
		lm, err := http.ParseTime(h.Get("Last-Modified"))
		if err != nil {
			return 0
		}
		date, err := http.ParseTime(h.Get("Date"))
		if err != nil {
			date = now
		}
		life = min(date.Sub(lm)/10, maxHeuristicFreshness)
	}
	if life -= age; life < 0 {
		return 0
	}
	return life
}

// parseSeconds parses a delta-seconds value; -1 if absent or invalid.
func parseSeconds(s string) time.Duration {
	s = strings.Trim(strings.TrimSpace(s), `"`)
	n, err := strconv.ParseInt(s, 10, 64)
	if errors.Is(err, strconv.ErrRange) && n > 0 {
		err = nil // too large to represent means the largest value (RFC 9111 §1.2.2)
	}
	if err != nil || n < 0 {
		return -1
	}
	const maxSeconds = int64(1<<63-1) / int64(time.Second)
	return time.Duration(min(n, maxSeconds)) * time.Second
}
