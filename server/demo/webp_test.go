package demo

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"golang.org/x/image/webp"
)

// testImage builds a w×h image whose pixels come from f.
func testImage(w, h int, f func(x, y int) color.RGBA) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.SetRGBA(x, y, f(x, y))
		}
	}
	return img
}

// webpCases returns images that exercise the encoder's edge cases.
func webpCases() map[string]*image.RGBA {
	noise := func(seed uint32) func(x, y int) color.RGBA {
		return func(x, y int) color.RGBA {
			h := hash2(int64(x), int64(y), seed)
			return color.RGBA{uint8(h), uint8(h >> 8), uint8(h >> 16), 0xff}
		}
	}
	return map[string]*image.RGBA{
		"1x1":        testImage(1, 1, noise(1)),
		"1x40":       testImage(1, 40, noise(2)),
		"40x1":       testImage(40, 1, noise(3)),
		"constant":   testImage(33, 17, func(x, y int) color.RGBA { return color.RGBA{10, 200, 30, 0xff} }),
		"black":      testImage(20, 20, func(x, y int) color.RGBA { return color.RGBA{0, 0, 0, 0xff} }),
		"two-colour": testImage(31, 29, func(x, y int) color.RGBA { return color.RGBA{uint8(255 * ((x + y) & 1)), 0, 0, 0xff} }),
		"noise":      testImage(67, 45, noise(4)),
		"gradient": testImage(300, 200, func(x, y int) color.RGBA {
			return color.RGBA{uint8(x), uint8(y), uint8(x + y), 0xff}
		}),
		"skewed": testImage(257, 130, func(x, y int) color.RGBA {
			// A very uneven symbol distribution forces length-limited codes.
			v := uint8(0)
			for i := x + y*257; i&1 == 1 && v < 40; i >>= 1 {
				v++
			}
			return color.RGBA{v, v * 3, 255 - v, 0xff}
		}),
		"translucent": testImage(50, 30, func(x, y int) color.RGBA {
			a := uint8(55 + 4*x) // premultiplied: colour ≤ alpha
			return color.RGBA{a / 2, a / 3, a, a}
		}),
	}
}

func TestWebPRoundTrip(t *testing.T) {
	for name, img := range webpCases() {
		t.Run(name, func(t *testing.T) {
			got, err := webp.Decode(bytes.NewReader(encodeWebP(img)))
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			assertSameNRGBA(t, img, got)
		})
	}
}

// TestWebPLibwebp checks the encoder against libwebp, the decoder browsers
// use, when its dwebp tool is installed (Debian package "webp").
func TestWebPLibwebp(t *testing.T) {
	if _, err := exec.LookPath("dwebp"); err != nil {
		t.Skip("dwebp not installed")
	}
	cases := webpCases()
	for _, s := range specs {
		if s.contentType == "image/webp" {
			cases[s.path] = s.paint(s.w, s.h)
		}
	}
	for name, img := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			in, out := filepath.Join(dir, "in.webp"), filepath.Join(dir, "out.pam")
			if err := os.WriteFile(in, encodeWebP(img), 0o644); err != nil {
				t.Fatal(err)
			}
			if b, err := exec.Command("dwebp", in, "-pam", "-o", out).CombinedOutput(); err != nil {
				t.Fatalf("dwebp: %v\n%s", err, b)
			}
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			// PAM: a text header ending in ENDHDR, then straight RGBA.
			end := bytes.Index(b, []byte("ENDHDR\n"))
			if end < 0 {
				t.Fatalf("bad PAM output")
			}
			var w, h int
			if _, err := fmt.Sscanf(string(b[:end]), "P7\nWIDTH %d\nHEIGHT %d\n", &w, &h); err != nil {
				t.Fatalf("PAM header: %v", err)
			}
			got := &image.NRGBA{Pix: b[end+7:], Stride: 4 * w, Rect: image.Rect(0, 0, w, h)}
			if len(got.Pix) != 4*w*h {
				t.Fatalf("PAM has %d pixel bytes for %dx%d", len(got.Pix), w, h)
			}
			assertSameNRGBA(t, img, got)
		})
	}
}

// assertSameNRGBA compares non-premultiplied colours (exact for opaque
// pixels; WebP stores straight alpha).
func assertSameNRGBA(t *testing.T, want *image.RGBA, got image.Image) {
	t.Helper()
	if got.Bounds() != want.Bounds() {
		t.Fatalf("bounds %v, want %v", got.Bounds(), want.Bounds())
	}
	b := want.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			w := color.NRGBAModel.Convert(want.RGBAAt(x, y)).(color.NRGBA)
			g := color.NRGBAModel.Convert(got.At(x, y)).(color.NRGBA)
			if w != g {
				t.Fatalf("pixel (%d,%d) = %v, want %v", x, y, g, w)
			}
		}
	}
}

func TestHuffmanLengths(t *testing.T) {
	fib := make([]uint32, 40)
	fib[0], fib[1] = 1, 1
	for i := 2; i < len(fib); i++ {
		fib[i] = fib[i-1] + fib[i-2]
	}
	cases := [][]uint32{
		{0, 0, 7},
		{1, 1},
		{3, 0, 1, 0, 9, 2},
		fib,
	}
	for _, limit := range []int{7, 15} {
		for i, hist := range cases {
			t.Run(fmt.Sprintf("limit%d/case%d", limit, i), func(t *testing.T) {
				lens := huffmanLengths(hist, limit)
				// The code must be complete (Kraft sum exactly 1), within
				// the limit, and cover every used symbol.
				var kraft uint64
				for s, l := range lens {
					if int(l) > limit {
						t.Fatalf("length %d > %d", l, limit)
					}
					if hist[s] > 0 && l == 0 {
						t.Fatalf("used symbol %d has no code", s)
					}
					if l > 0 {
						kraft += 1 << (32 - l)
					}
				}
				if kraft != 1<<32 {
					t.Fatalf("incomplete code: lengths %v", lens)
				}
			})
		}
	}
}
