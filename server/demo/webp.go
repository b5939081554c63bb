package demo

import (
	"encoding/binary"
	"image"
	"image/color"
	"slices"
)

// A small lossless WebP (VP8L) encoder. Neither the standard library nor
// golang.org/x/image can encode WebP, and the demo origin must stay pure Go
// with no generated assets in the repository, so this implements the subset
// of the format (RFC 9649) that a simple, correct encoder needs:
//
//   - the subtract-green transform;
//   - the predictor transform, choosing per 16×16 tile among a few modes;
//   - one group of canonical prefix (Huffman) codes, built from the symbol
//     histograms, without LZ77 back-references or a colour cache.
//
// Every stream it writes is a valid VP8L bitstream that libwebp (browsers)
// and golang.org/x/image/webp decode to exactly the input pixels.

// vp8lPredictorBits is log2 of the predictor tile size.
const vp8lPredictorBits = 4

// Predictor modes the encoder tries (numbers from the specification).
var vp8lModes = [...]uint32{1, 2, 7, 11, 12}

// codeLengthOrder is the order in which code length code lengths are sent.
var codeLengthOrder = [19]int{17, 18, 0, 1, 2, 3, 4, 5, 16, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}

// encodeWebP encodes img as a lossless WebP file.
func encodeWebP(img *image.RGBA) []byte {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w < 1 || h < 1 || w > 1<<14 || h > 1<<14 {
		panic("demo: webp image size out of range")
	}
	// VP8L stores straight (non-premultiplied) alpha.
	argb := make([]uint32, w*h)
	hasAlpha := false
	for y := 0; y < h; y++ {
		row := img.Pix[y*img.Stride:]
		for x := 0; x < w; x++ {
			p := row[4*x : 4*x+4]
			c := color.NRGBA{p[0], p[1], p[2], p[3]}
			if p[3] != 0xff {
				hasAlpha = true
				c = color.NRGBAModel.Convert(color.RGBA{p[0], p[1], p[2], p[3]}).(color.NRGBA)
			}
			argb[y*w+x] = uint32(c.A)<<24 | uint32(c.R)<<16 | uint32(c.G)<<8 | uint32(c.B)
		}
	}

	bw := &bitWriter{}
	bw.write(0x2f, 8) // VP8L signature
	bw.write(uint32(w-1), 14)
	bw.write(uint32(h-1), 14)
	if hasAlpha {
		bw.write(1, 1)
	} else {
		bw.write(0, 1)
	}
	bw.write(0, 3) // version

	// Subtract-green transform (type 2).
	bw.write(1, 1)
	bw.write(2, 2)
	for i, p := range argb {
		g := p >> 8 & 0xff
		r := (p>>16 - g) & 0xff
		bl := (p - g) & 0xff
		argb[i] = p&0xff00ff00 | r<<16 | bl
	}

	// Predictor transform (type 0).
	modes, tw := choosePredictors(argb, w, h)
	residuals := predictResiduals(argb, w, h, modes, tw)
	bw.write(1, 1)
	bw.write(0, 2)
	bw.write(vp8lPredictorBits-2, 3)
	sub := make([]uint32, len(modes))
	for i, m := range modes {
		sub[i] = 0xff000000 | m<<8
	}
	writeEntropyImage(bw, sub, false)

	bw.write(0, 1) // no more transforms
	writeEntropyImage(bw, residuals, true)
	data := bw.bytes()

	// RIFF container with a single VP8L chunk.
	chunk := len(data) + len(data)&1
	out := make([]byte, 0, 20+chunk)
	out = append(out, "RIFF"...)
	out = binary.LittleEndian.AppendUint32(out, uint32(4+8+chunk))
	out = append(out, "WEBPVP8L"...)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(data)))
	out = append(out, data...)
	if len(data)&1 == 1 {
		out = append(out, 0)
	}
	return out
}

// Per-channel pixel arithmetic on packed ARGB values.

func addPixels(a, b uint32) uint32 {
	ag := (a & 0xff00ff00) + (b & 0xff00ff00)
	rb := (a & 0x00ff00ff) + (b & 0x00ff00ff)
	return ag&0xff00ff00 | rb&0x00ff00ff
}

func subPixels(a, b uint32) uint32 {
	ag := 0x00ff00ff + (a & 0xff00ff00) - (b & 0xff00ff00)
	rb := 0xff00ff00 + (a & 0x00ff00ff) - (b & 0x00ff00ff)
	return ag&0xff00ff00 | rb&0x00ff00ff
}

func average2(a, b uint32) uint32 {
	return ((a^b)&0xfefefefe)>>1 + a&b
}

func absDiff(a, b uint32) int {
	if a > b {
		return int(a - b)
	}
	return int(b - a)
}

func selectPredictor(l, t, tl uint32) uint32 {
	var pl, pt int // Manhattan distances of the estimate L+T-TL to L and T
	for s := 0; s < 32; s += 8 {
		pl += absDiff(t>>s&0xff, tl>>s&0xff)
		pt += absDiff(l>>s&0xff, tl>>s&0xff)
	}
	if pl < pt {
		return l
	}
	return t
}

func clampAddSubtractFull(l, t, tl uint32) uint32 {
	var out uint32
	for s := 0; s < 32; s += 8 {
		v := int(l>>s&0xff) + int(t>>s&0xff) - int(tl>>s&0xff)
		out |= uint32(min(max(v, 0), 255)) << s
	}
	return out
}

// predict returns the prediction of pixel (x, y) for a given mode, with x, y > 0.
func predict(mode uint32, pix []uint32, w, i int) uint32 {
	l, t, tl := pix[i-1], pix[i-w], pix[i-w-1]
	switch mode {
	case 1:
		return l
	case 2:
		return t
	case 7:
		return average2(l, t)
	case 11:
		return selectPredictor(l, t, tl)
	case 12:
		return clampAddSubtractFull(l, t, tl)
	}
	panic("demo: unsupported predictor mode")
}

func residualCost(r uint32) int {
	c := 0
	for s := 0; s < 32; s += 8 {
		v := int(int8(r >> s))
		if v < 0 {
			v = -v
		}
		c += v
	}
	return c
}

// choosePredictors picks, for every tile, the mode with the smallest sum of
// absolute residuals. It returns the modes in raster order of tiles.
func choosePredictors(pix []uint32, w, h int) (modes []uint32, tw int) {
	size := 1 << vp8lPredictorBits
	tw, th := (w+size-1)/size, (h+size-1)/size
	modes = make([]uint32, tw*th)
	for ty := 0; ty < th; ty++ {
		for tx := 0; tx < tw; tx++ {
			best, bestCost := vp8lModes[0], -1
			for _, m := range vp8lModes {
				cost := 0
				for y := max(ty*size, 1); y < min((ty+1)*size, h); y++ {
					for x := max(tx*size, 1); x < min((tx+1)*size, w); x++ {
						i := y*w + x
						cost += residualCost(subPixels(pix[i], predict(m, pix, w, i)))
					}
				}
				if bestCost < 0 || cost < bestCost {
					best, bestCost = m, cost
				}
			}
			modes[ty*tw+tx] = best
		}
	}
	return modes, tw
}

// predictResiduals applies the predictor transform, including the fixed
// rules for the first row and column.
func predictResiduals(pix []uint32, w, h int, modes []uint32, tw int) []uint32 {
	res := make([]uint32, len(pix))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			i := y*w + x
			var pred uint32
			switch {
			case x == 0 && y == 0:
				pred = 0xff000000
			case y == 0:
				pred = pix[i-1]
			case x == 0:
				pred = pix[i-w]
			default:
				pred = predict(modes[(y>>vp8lPredictorBits)*tw+x>>vp8lPredictorBits], pix, w, i)
			}
			res[i] = subPixels(pix[i], pred)
		}
	}
	return res
}

// writeEntropyImage writes pix as an entropy-coded image: no colour cache,
// a single prefix code group (the meta prefix bit exists only at top level),
// literals only.
func writeEntropyImage(bw *bitWriter, pix []uint32, topLevel bool) {
	bw.write(0, 1) // no colour cache
	if topLevel {
		bw.write(0, 1) // no meta prefix codes
	}
	var (
		green           = make([]uint32, 256+24)
		red, blue, alph = make([]uint32, 256), make([]uint32, 256), make([]uint32, 256)
		dist            = make([]uint32, 40)
	)
	for _, p := range pix {
		alph[p>>24]++
		red[p>>16&0xff]++
		green[p>>8&0xff]++
		blue[p&0xff]++
	}
	cg := writePrefixCode(bw, green)
	cr := writePrefixCode(bw, red)
	cb := writePrefixCode(bw, blue)
	ca := writePrefixCode(bw, alph)
	writePrefixCode(bw, dist)
	for _, p := range pix {
		cg.put(bw, p>>8&0xff)
		cr.put(bw, p>>16&0xff)
		cb.put(bw, p&0xff)
		ca.put(bw, p>>24)
	}
}

// prefixCode maps symbols to bit-reversed canonical codes.
type prefixCode struct {
	codes []uint32
	lens  []uint8
}

func (c *prefixCode) put(bw *bitWriter, sym uint32) {
	if n := c.lens[sym]; n > 0 {
		bw.write(c.codes[sym], uint(n))
	}
}

// writePrefixCode writes the prefix code for the histogram and returns it.
func writePrefixCode(bw *bitWriter, hist []uint32) *prefixCode {
	var used []int
	for s, n := range hist {
		if n > 0 {
			used = append(used, s)
		}
	}
	pc := &prefixCode{codes: make([]uint32, len(hist)), lens: make([]uint8, len(hist))}
	if len(used) <= 2 && (len(used) == 0 || used[len(used)-1] < 256) {
		// Simple code: one symbol (0 bits each) or two (1 bit each).
		bw.write(1, 1)
		if len(used) == 0 {
			used = []int{0}
		}
		bw.write(uint32(len(used)-1), 1)
		if used[0] < 2 {
			bw.write(0, 1)
			bw.write(uint32(used[0]), 1)
		} else {
			bw.write(1, 1)
			bw.write(uint32(used[0]), 8)
		}
		if len(used) == 2 {
			bw.write(uint32(used[1]), 8)
			pc.lens[used[0]], pc.codes[used[0]] = 1, 0
			pc.lens[used[1]], pc.codes[used[1]] = 1, 1
		}
		return pc
	}

	// Normal code: code lengths, run-length coded with a code length code.
	lens := huffmanLengths(hist, 15)
	pc.lens = lens
	pc.codes = canonicalCodes(lens)

	type token struct{ sym, extra, nextra uint32 }
	var toks []token
	for i := 0; i < len(lens); {
		v := lens[i]
		run := 1
		for i+run < len(lens) && lens[i+run] == v {
			run++
		}
		i += run
		if v == 0 {
			for run >= 11 {
				k := min(run, 138)
				toks = append(toks, token{18, uint32(k - 11), 7})
				run -= k
			}
			if run >= 3 {
				toks = append(toks, token{17, uint32(run - 3), 3})
				run = 0
			}
		} else {
			toks = append(toks, token{uint32(v), 0, 0})
			run--
			for run >= 3 {
				k := min(run, 6)
				toks = append(toks, token{16, uint32(k - 3), 2})
				run -= k
			}
		}
		for ; run > 0; run-- {
			toks = append(toks, token{uint32(v), 0, 0})
		}
	}
	clHist := make([]uint32, 19)
	for _, t := range toks {
		clHist[t.sym]++
	}
	clLens := huffmanLengths(clHist, 7)
	clCodes := canonicalCodes(clLens)

	n := 4
	for i, s := range codeLengthOrder {
		if clLens[s] != 0 {
			n = max(n, i+1)
		}
	}
	bw.write(0, 1) // normal code
	bw.write(uint32(n-4), 4)
	for _, s := range codeLengthOrder[:n] {
		bw.write(uint32(clLens[s]), 3)
	}
	bw.write(0, 1) // max_symbol = alphabet size
	for _, t := range toks {
		bw.write(clCodes[t.sym], uint(clLens[t.sym]))
		if t.nextra > 0 {
			bw.write(t.extra, uint(t.nextra))
		}
	}
	return pc
}

// huffmanLengths returns code lengths (at most maxLen) of a complete prefix
// code for the symbols with a non-zero count. With a single used symbol it
// returns a two-symbol code of length 1 (a dummy symbol is added), which every
// decoder accepts. Ties are broken by symbol, so the result is deterministic.
func huffmanLengths(hist []uint32, maxLen int) []uint8 {
	lens := make([]uint8, len(hist))
	var syms []int
	for s, n := range hist {
		if n > 0 {
			syms = append(syms, s)
		}
	}
	switch len(syms) {
	case 0:
		return lens
	case 1:
		other := 0
		if syms[0] == 0 {
			other = 1
		}
		lens[syms[0]], lens[other] = 1, 1
		return lens
	}
	for floor := uint32(1); ; floor *= 2 {
		// Leaves sorted by (weight, symbol).
		type node struct {
			weight uint64
			parent int
		}
		leaves := slices.Clone(syms)
		weight := func(s int) uint64 { return uint64(max(hist[s], floor)) }
		slices.SortStableFunc(leaves, func(a, b int) int {
			wa, wb := weight(a), weight(b)
			switch {
			case wa < wb:
				return -1
			case wa > wb:
				return 1
			}
			return a - b
		})
		nodes := make([]node, 0, 2*len(leaves)-1)
		for _, s := range leaves {
			nodes = append(nodes, node{weight(s), -1})
		}
		// Two-queue Huffman construction: leaves in nodes[:len(leaves)],
		// internal nodes appended in non-decreasing weight order.
		li, ii := 0, len(leaves)
		pick := func() int {
			if li < len(leaves) && (ii >= len(nodes) || nodes[li].weight <= nodes[ii].weight) {
				li++
				return li - 1
			}
			ii++
			return ii - 1
		}
		for len(nodes) < 2*len(leaves)-1 {
			a := pick()
			b := pick()
			nodes = append(nodes, node{nodes[a].weight + nodes[b].weight, -1})
			nodes[a].parent = len(nodes) - 1
			nodes[b].parent = len(nodes) - 1
		}
		depth := make([]int, len(nodes))
		for i := len(nodes) - 2; i >= 0; i-- {
			depth[i] = depth[nodes[i].parent] + 1
		}
		maxDepth := 0
		for i, s := range leaves {
			lens[s] = uint8(depth[i])
			maxDepth = max(maxDepth, depth[i])
		}
		if maxDepth <= maxLen {
			return lens
		}
	}
}

// canonicalCodes assigns canonical codes (by length, then symbol) and
// returns them bit-reversed, ready for the LSB-first bit writer.
func canonicalCodes(lens []uint8) []uint32 {
	var count [16]uint32
	for _, l := range lens {
		count[l]++
	}
	count[0] = 0
	var next [16]uint32
	code := uint32(0)
	for l := 1; l < 16; l++ {
		code = (code + count[l-1]) << 1
		next[l] = code
	}
	codes := make([]uint32, len(lens))
	for s, l := range lens {
		if l == 0 {
			continue
		}
		c := next[l]
		next[l]++
		var r uint32
		for i := uint8(0); i < l; i++ {
			r = r<<1 | c>>i&1
		}
		codes[s] = r
	}
	return codes
}

// bitWriter writes bits least significant first, as VP8L requires.
type bitWriter struct {
	buf []byte
	acc uint64
	n   uint
}

func (w *bitWriter) write(v uint32, n uint) {
	w.acc |= uint64(v&(1<<n-1)) << w.n
	w.n += n
	for w.n >= 8 {
		w.buf = append(w.buf, byte(w.acc))
		w.acc >>= 8
		w.n -= 8
	}
}

func (w *bitWriter) bytes() []byte {
	if w.n > 0 {
		w.buf = append(w.buf, byte(w.acc))
		w.acc, w.n = 0, 0
	}
	return w.buf
}
