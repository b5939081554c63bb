package demo

import (
	"image"
	"math"
	"math/bits"
	"runtime"
	"sync"
	"sync/atomic"
)

// All pixel arithmetic in this package is done in integers (fixed point).
// Floating-point results may differ between architectures (assembly
// implementations of math functions, fused multiply-add on some targets),
// and the demo files must be byte-for-byte identical everywhere. The only
// floating-point operation used is math.Sqrt, which IEEE 754 requires to be
// correctly rounded and is therefore identical on every platform.

// one is unity in Q16 fixed point.
const one = 1 << 16

// sinSteps is the number of entries of sinTab per full turn.
const sinSteps = 4096

// sinTab holds sin(2πi/sinSteps) in Q16, computed with integer arithmetic.
var sinTab = buildSinTab()

func buildSinTab() *[sinSteps]int32 {
	var t [sinSteps]int32
	const twoPiQ30 = 6746518852 // round(2π·2^30)
	for i := 0; i <= sinSteps/4; i++ {
		x := int64(i) * twoPiQ30 / sinSteps // radians, Q30, in [0, π/2]
		x2 := x * x >> 30
		sum, term := x, x
		for k := int64(1); k <= 7; k++ { // Taylor series up to x^15
			term = -(term * x2 >> 30) / ((2 * k) * (2*k + 1))
			sum += term
		}
		v := int32((sum + 1<<13) >> 14) // Q30 -> Q16, rounded
		t[i] = v
		t[sinSteps/2-i] = v
		t[sinSteps/2+i] = -v
		t[(sinSteps-i)%sinSteps] = -v
	}
	return &t
}

// sinP returns sin(2π·p/2^20) in Q16: p is a phase in 1/2^20 of a turn.
// It interpolates linearly between table entries.
func sinP(p int64) int64 {
	i := (p >> 8) & (sinSteps - 1)
	f := p & 0xff
	a := int64(sinTab[i])
	b := int64(sinTab[(i+1)&(sinSteps-1)])
	return a + (b-a)*f>>8
}

// turnQ20 is one full turn in the phase units of sinP.
const turnQ20 = 1 << 20

// mix32 is a 32-bit integer finaliser (lowbias32).
func mix32(h uint32) uint32 {
	h ^= h >> 16
	h *= 0x7feb352d
	h ^= h >> 15
	h *= 0x846ca68b
	h ^= h >> 16
	return h
}

// hash2 hashes a lattice point with a seed.
func hash2(x, y int64, seed uint32) uint32 {
	return mix32(mix32(uint32(x)^seed*0x9e3779b9) + uint32(y)*0x85ebca77)
}

// grain returns photographic-looking noise in [-amp, amp] with a triangular
// distribution, for pixel (x, y).
func grain(x, y int, seed uint32, amp int64) int64 {
	h := hash2(int64(x), int64(y), seed)
	v := int64(h&0xff) + int64(h>>8&0xff) - 255 // [-255, 255]
	return v * amp / 255
}

// smooth is the smoothstep curve 3f²-2f³ for f in Q16 [0, one].
func smooth(f int64) int64 {
	return f * f >> 16 * (3*one - 2*f) >> 16
}

// vnoise is 2-D value noise at (x, y), given in Q16 lattice units.
// The result is in Q16 [0, one).
func vnoise(x, y int64, seed uint32) int64 {
	ix, iy := x>>16, y>>16
	sx, sy := smooth(x&0xffff), smooth(y&0xffff)
	a := int64(hash2(ix, iy, seed) >> 16)
	b := int64(hash2(ix+1, iy, seed) >> 16)
	c := int64(hash2(ix, iy+1, seed) >> 16)
	d := int64(hash2(ix+1, iy+1, seed) >> 16)
	top := a + (b-a)*sx>>16
	bot := c + (d-c)*sx>>16
	return top + (bot-top)*sy>>16
}

// fbm sums octaves of value noise (each at twice the frequency and half the
// amplitude of the previous one). The result is in Q16 [0, one).
func fbm(x, y int64, seed uint32, octaves int) int64 {
	var sum, norm int64
	amp := int64(one)
	for o := 0; o < octaves; o++ {
		sum += vnoise(x, y, seed+uint32(o)*101) * amp >> 16
		norm += amp
		amp >>= 1
		// Rotate a little between octaves to hide the lattice.
		x, y = (x*2+y/4)+17<<16, (y*2-x/4)+31<<16
	}
	return sum * one / norm
}

// isqrt returns ⌊√v⌋ for v ≥ 0.
func isqrt(v int64) int64 {
	if v <= 0 {
		return 0
	}
	r := int64(math.Sqrt(float64(v)))
	for r*r > v {
		r--
	}
	for (r+1)*(r+1) <= v {
		r++
	}
	return r
}

// log2Q16 returns an approximation of log2(v) in Q16 for v ≥ 1: the exact
// integer part plus a linear interpolation of the mantissa. It is continuous
// and monotonic, which is all the colouring needs.
func log2Q16(v uint64) int64 {
	if v == 0 {
		return 0
	}
	n := bits.Len64(v) - 1
	var frac uint64
	if n >= 16 {
		frac = (v >> (n - 16)) & 0xffff
	} else {
		frac = (v << (16 - n)) & 0xffff
	}
	return int64(n)<<16 | int64(frac)
}

func clamp8(v int64) uint8 {
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

func clampQ16(v int64) int64 {
	if v < 0 {
		return 0
	}
	if v > one {
		return one
	}
	return v
}

// rgb is a colour with channels in [0, 255] (values outside are clamped when
// the pixel is stored).
type rgb struct{ r, g, b int64 }

// lerp mixes a and b: t is in Q16 [0, one].
func lerp(a, b rgb, t int64) rgb {
	return rgb{
		a.r + (b.r-a.r)*t>>16,
		a.g + (b.g-a.g)*t>>16,
		a.b + (b.b-a.b)*t>>16,
	}
}

func (c rgb) scale(t int64) rgb { return rgb{c.r * t >> 16, c.g * t >> 16, c.b * t >> 16} }
func (c rgb) add(d rgb) rgb     { return rgb{c.r + d.r, c.g + d.g, c.b + d.b} }
func (c rgb) plus(v int64) rgb  { return rgb{c.r + v, c.g + v, c.b + v} }

// stop is one colour stop of a gradient, at position pos (Q16).
type stop struct {
	pos int64
	c   rgb
}

// gradient is a colour ramp sampled into a look-up table.
type gradient [1024]rgb

// newGradient samples stops (sorted by pos, first at 0, last at one).
func newGradient(stops ...stop) *gradient {
	var g gradient
	j := 0
	for i := range g {
		t := int64(i) * one / int64(len(g)-1)
		for j < len(stops)-2 && t > stops[j+1].pos {
			j++
		}
		a, b := stops[j], stops[j+1]
		f := clampQ16((t - a.pos) * one / (b.pos - a.pos))
		g[i] = lerp(a.c, b.c, f)
	}
	return &g
}

// at returns the colour at t (Q16, clamped to [0, one]).
func (g *gradient) at(t int64) rgb {
	t = clampQ16(t)
	return g[t*int64(len(g)-1)>>16]
}

// cyclic returns the colour at t taken modulo one.
func (g *gradient) cyclic(t int64) rgb {
	return g[(t&0xffff)*int64(len(g)-1)>>16]
}

// parallel calls fn(i) for every i in [0, n), spreading the calls over
// GOMAXPROCS goroutines, and returns when all calls have returned.
func parallel(n int, fn func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), n) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				fn(i)
			}
		})
	}
	wg.Wait()
}

// render draws a w×h opaque image, calling px for every pixel. Rows are
// rendered in parallel; px must be a pure function of its arguments, so the
// result does not depend on scheduling.
func render(w, h int, px func(x, y int) rgb) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	const band = 8
	parallel((h+band-1)/band, func(i int) {
		for y := i * band; y < min((i+1)*band, h); y++ {
			row := img.Pix[y*img.Stride : y*img.Stride+4*w]
			for x := 0; x < w; x++ {
				c := px(x, y)
				row[4*x+0] = clamp8(c.r)
				row[4*x+1] = clamp8(c.g)
				row[4*x+2] = clamp8(c.b)
				row[4*x+3] = 0xff
			}
		}
	})
	return img
}
