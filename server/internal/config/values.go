package config

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/p2pcache/p2pcache/cache"
	"github.com/p2pcache/p2pcache/server/edge"
)

// value is a setting's typed value, bound to a Config field. Set parses
// and validates once, whichever source the text comes from (a flag, the
// environment, the config file); String formats the value as Set reads it
// back, which is how defaults are shown.
type value interface {
	flag.Value
	kind() string      // what --help calls the value: size, duration, addr...
	named(flag string) // the setting's name, for error messages
}

// list is a value that takes a comma list, so a config file may give it a
// YAML sequence.
type list interface {
	value
	isList()
}

// base names a value's setting in its errors.
type base struct{ flag string }

func (b *base) named(flag string) { b.flag = flag }

// errorf formats an error about the setting: "--flag" then format.
func (b *base) errorf(format string, a ...any) error {
	return fmt.Errorf("--"+b.flag+format, a...)
}

// stringValue is text; check, when set, vets it. Empty text is "off" and
// not vetted unless the value is required.
type stringValue struct {
	base
	p        *string
	what     string // kind
	check    func(b *base, s string) error
	required bool
}

func (v *stringValue) Set(s string) error {
	s = strings.TrimSpace(s)
	if v.check != nil && (s != "" || v.required) {
		if err := v.check(&v.base, s); err != nil {
			return err
		}
	}
	*v.p = s
	return nil
}
func (v *stringValue) String() string { return *v.p }
func (v *stringValue) kind() string   { return v.what }

// checkAddr vets host:port, the host an IP address, localhost or empty.
func checkAddr(b *base, addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return b.errorf(" %q: want host:port: %w", addr, err)
	}
	if host != "" && net.ParseIP(host) == nil && host != "localhost" {
		return b.errorf(" %q: host must be an IP address or localhost", addr)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return b.errorf(" %q: bad port", addr)
	}
	return nil
}

// checkOrigin vets an http(s):// base URL or an existing directory.
func checkOrigin(b *base, o string) error {
	if strings.Contains(o, "://") {
		if _, err := cache.NewHTTPOrigin(o, cache.HTTPOriginConfig{}); err != nil {
			return b.errorf(": %w", err)
		}
		return nil
	}
	st, err := os.Stat(o)
	if err != nil {
		return b.errorf(" directory %q: %w", o, errors.Unwrap(err))
	}
	if !st.IsDir() {
		return b.errorf(" %q is not a directory", o)
	}
	return nil
}

// checkSecret vets an HS256 secret's length.
func checkSecret(b *base, s string) error {
	if len(s) < edge.MinSecretLen {
		return b.errorf(" must be at least %d bytes", edge.MinSecretLen)
	}
	return nil
}

// listValue is a comma list; check vets each entry.
type listValue struct {
	base
	p     *[]string
	what  string
	check func(b *base, s string) error
}

func (v *listValue) Set(s string) error {
	var out []string
	for _, e := range strings.Split(s, ",") {
		if e = strings.TrimSpace(e); e == "" {
			continue
		}
		if err := v.check(&v.base, e); err != nil {
			return err
		}
		out = append(out, e)
	}
	*v.p = out
	return nil
}
func (v *listValue) String() string { return strings.Join(*v.p, ",") }
func (v *listValue) kind() string   { return v.what }
func (v *listValue) isList()        {}

func checkIP(b *base, s string) error {
	if net.ParseIP(s) == nil {
		return b.errorf(" %q is not an IP address", s)
	}
	return nil
}

func checkAllowedOrigin(b *base, s string) error {
	if edge.CheckAllowedOrigin(s) != nil {
		return b.errorf(" entry %q: want scheme://host[:port] or *", s)
	}
	return nil
}

// sizeValue is a byte count in human units (parseSize), within [lo, hi];
// why, if set, says why hi is the limit.
type sizeValue[T ~int | ~int64] struct {
	base
	p      *T
	lo, hi int64
	why    string
}

func (v *sizeValue[T]) Set(s string) error {
	n, err := parseSize(s)
	switch {
	case err != nil:
		return v.errorf(": %w", err)
	case n > v.hi:
		return v.errorf(" %s is over the %s limit%s", strings.TrimSpace(s), formatSize(v.hi), v.why)
	case n < v.lo:
		return v.errorf(" %s not in %d..%d bytes", strings.TrimSpace(s), v.lo, v.hi)
	}
	*v.p = T(n)
	return nil
}
func (v *sizeValue[T]) String() string { return formatSize(int64(*v.p)) }
func (v *sizeValue[T]) kind() string   { return "size" }

// durationValue is a time.Duration of at least min; want says what to
// give instead of a bad one.
type durationValue struct {
	base
	p    *time.Duration
	min  time.Duration
	want string
}

func (v *durationValue) Set(s string) error {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil || d < v.min {
		return v.errorf(" %q: want %s", s, v.want)
	}
	*v.p = d
	return nil
}
func (v *durationValue) String() string { return formatDuration(*v.p) }
func (v *durationValue) kind() string   { return "duration" }

// formatDuration is time.Duration's String without zero tails: 10m, 1h30m.
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// intValue is a whole number of at least min.
type intValue struct {
	base
	p   *int
	min int
}

func (v *intValue) Set(s string) error {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < v.min {
		return v.errorf(" %q: want a whole number ≥ %d", s, v.min)
	}
	*v.p = n
	return nil
}
func (v *intValue) String() string { return strconv.Itoa(*v.p) }
func (v *intValue) kind() string   { return "int" }

// procsValue is a positive number of Ps, or auto (0).
type procsValue struct {
	base
	p *int
}

func (v *procsValue) Set(s string) error {
	if strings.EqualFold(strings.TrimSpace(s), "auto") {
		*v.p = 0
		return nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 1 {
		return v.errorf(" %q: want a whole number ≥ 1 or auto", s)
	}
	*v.p = n
	return nil
}

func (v *procsValue) String() string {
	if *v.p == 0 {
		return "auto"
	}
	return strconv.Itoa(*v.p)
}
func (v *procsValue) kind() string { return "int" }

// rateValue is a positive number, at most a million.
type rateValue struct {
	base
	p    *float64
	want string
}

func (v *rateValue) Set(s string) error {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || f <= 0 || f > 1e6 {
		return v.errorf(" %q: want %s", s, v.want)
	}
	*v.p = f
	return nil
}
func (v *rateValue) String() string { return strconv.FormatFloat(*v.p, 'g', -1, 64) }
func (v *rateValue) kind() string   { return "number" }

// boolValue is on/off, true/false, yes/no or 1/0. It takes its value as a
// separate argument (--peer-fetch off), as it always has, so it is not a
// flag.boolFlag: a bare --peer-fetch is an error, not "on".
type boolValue struct {
	base
	p *bool
}

func (v *boolValue) Set(s string) error {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "on", "true", "1", "yes":
		*v.p = true
	case "off", "false", "0", "no":
		*v.p = false
	default:
		return v.errorf(" %q: want on or off", s)
	}
	return nil
}
func (v *boolValue) String() string { return strconv.FormatBool(*v.p) }
func (v *boolValue) kind() string   { return "bool" }

// levelValue is a log level: debug, info, warn or error.
type levelValue struct {
	base
	p *slog.Level
}

func (v *levelValue) Set(s string) error {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.TrimSpace(s))); err != nil {
		return v.errorf(" %q: want debug, info, warn or error", s)
	}
	*v.p = l
	return nil
}
func (v *levelValue) String() string { return strings.ToLower(v.p.String()) }
func (v *levelValue) kind() string   { return "level" }
