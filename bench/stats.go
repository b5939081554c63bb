package main

import (
	"math"
	"sort"
	"time"
)

// dist summarizes a sample: percentiles, mean, extremes. Empty samples give
// N 0 and zeros.
type dist struct {
	N    int     `json:"n"`
	P50  float64 `json:"p50"`
	P95  float64 `json:"p95"`
	P99  float64 `json:"p99"`
	Mean float64 `json:"mean"`
	Min  float64 `json:"min"`
	Max  float64 `json:"max"`
}

// percentile of an ascending sample, p in [0, 100], by linear interpolation
// between the closest ranks (the "type 7" estimator of R and NumPy).
func percentile(sorted []float64, p float64) float64 {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	if p <= 0 {
		return sorted[0]
	}
	if p >= 100 {
		return sorted[n-1]
	}
	h := p / 100 * float64(n-1)
	lo := math.Floor(h)
	i := int(lo)
	if i+1 >= n {
		return sorted[n-1]
	}
	return sorted[i] + (h-lo)*(sorted[i+1]-sorted[i])
}

func summarize(vals []float64) dist {
	if len(vals) == 0 {
		return dist{}
	}
	s := append([]float64(nil), vals...)
	sort.Float64s(s)
	sum := 0.0
	for _, v := range s {
		sum += v
	}
	return dist{
		N: len(s), P50: percentile(s, 50), P95: percentile(s, 95), P99: percentile(s, 99),
		Mean: sum / float64(len(s)), Min: s[0], Max: s[len(s)-1],
	}
}

// scale divides every figure (e.g. ms → round trips); N is kept.
func (d dist) scale(by float64) dist {
	if by == 0 {
		return d
	}
	return dist{N: d.N, P50: d.P50 / by, P95: d.P95 / by, P99: d.P99 / by, Mean: d.Mean / by, Min: d.Min / by, Max: d.Max / by}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// summarizeMS summarizes durations in milliseconds.
func summarizeMS(ds []time.Duration) dist {
	v := make([]float64, len(ds))
	for i, d := range ds {
		v[i] = ms(d)
	}
	return summarize(v)
}

// sizeClass is a range of file sizes reported apart.
type sizeClass struct {
	Name string
	Max  int64 // exclusive upper bound; 0 = none
}

var sizeClasses = []sizeClass{
	{"<100KB", 100_000},
	{"100KB-1MB", 1_000_000},
	{">1MB", 0},
}

func classOf(size int64) int {
	for i, c := range sizeClasses {
		if c.Max == 0 || size < c.Max {
			return i
		}
	}
	return len(sizeClasses) - 1
}

// ratio is a/b, or 0 when b is 0 (JSON has no infinities).
func ratio(a, b float64) float64 {
	if b == 0 || math.IsNaN(a) || math.IsNaN(b) {
		return 0
	}
	return a / b
}

// cdf turns a sample into at most maxPoints (x ascending, y in (0, 1])
// points of its empirical distribution function.
func cdf(vals []float64, maxPoints int) (xs, ys []float64) {
	if len(vals) == 0 {
		return nil, nil
	}
	s := append([]float64(nil), vals...)
	sort.Float64s(s)
	n := len(s)
	step := 1
	if maxPoints > 0 && n > maxPoints {
		step = (n + maxPoints - 1) / maxPoints
	}
	for i := 0; i < n; i += step {
		xs = append(xs, s[i])
		ys = append(ys, float64(i+1)/float64(n))
	}
	if xs[len(xs)-1] != s[n-1] || ys[len(ys)-1] != 1 {
		xs = append(xs, s[n-1])
		ys = append(ys, 1)
	}
	return xs, ys
}
