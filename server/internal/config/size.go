package config

import (
	"fmt"
	"strconv"
	"strings"
)

// parseSize parses a byte count with an optional unit: B, KB/MB/GB/TB
// (powers of 1000) or KiB/MiB/GiB/TiB (powers of 1024), case-insensitive,
// e.g. "256MiB", "64 KiB", "1.5GB", "65536". Fractions must come out whole.
func parseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	i := strings.IndexFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, unit := s, ""
	if i >= 0 {
		num, unit = s[:i], strings.TrimSpace(s[i:])
	}
	if num == "" {
		return 0, fmt.Errorf("%q: no number", s)
	}
	mult := map[string]float64{
		"": 1, "b": 1,
		"k": 1e3, "kb": 1e3, "m": 1e6, "mb": 1e6, "g": 1e9, "gb": 1e9, "t": 1e12, "tb": 1e12,
		"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
	}[strings.ToLower(unit)]
	if mult == 0 {
		return 0, fmt.Errorf("%q: unknown unit %q (use B, KB, MB, GB, KiB, MiB, GiB)", s, unit)
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("%q: bad number", s)
	}
	v := f * mult
	if v >= 1<<62 {
		return 0, fmt.Errorf("%q: too large", s)
	}
	if v != float64(int64(v)) {
		return 0, fmt.Errorf("%q: not a whole number of bytes", s)
	}
	return int64(v), nil
}

// formatSize writes n in the largest unit that divides it (256MiB, 64KiB,
// 500MB, 1500): what parseSize reads back as n.
func formatSize(n int64) string {
	units := []struct {
		name string
		size int64
	}{ // largest first
		{"TiB", 1 << 40}, {"TB", 1e12}, {"GiB", 1 << 30}, {"GB", 1e9},
		{"MiB", 1 << 20}, {"MB", 1e6}, {"KiB", 1 << 10}, {"KB", 1e3},
	}
	for _, u := range units {
		if n != 0 && n%u.size == 0 {
			return strconv.FormatInt(n/u.size, 10) + u.name
		}
	}
	return strconv.FormatInt(n, 10)
}
