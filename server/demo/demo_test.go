package demo

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"io/fs"
	"math"
	"net/http"
	"net/http/httptest"
	"path"
	"slices"
	"sync"
	"testing"
	"testing/fstest"

	"golang.org/x/image/webp"
)

func readIndex(t *testing.T, fsys fs.FS) []Entry {
	t.Helper()
	b, err := fs.ReadFile(fsys, IndexPath)
	if err != nil {
		t.Fatalf("read index: %v", err)
	}
	var idx []Entry
	if err := json.Unmarshal(b, &idx); err != nil {
		t.Fatalf("parse index: %v", err)
	}
	if len(idx) != len(specs) {
		t.Fatalf("index has %d entries, want %d", len(idx), len(specs))
	}
	return idx
}

var decoders = map[string]func(io.Reader) (image.Image, error){
	"image/jpeg": jpeg.Decode,
	"image/png":  png.Decode,
	"image/webp": webp.Decode,
}

var extTypes = map[string]string{".jpg": "image/jpeg", ".png": "image/png", ".webp": "image/webp"}

func TestFilesDecodeAndMatchIndex(t *testing.T) {
	fsys := FS()
	idx := readIndex(t, fsys)
	types := map[string]int{}
	for _, e := range idx {
		t.Run(e.Path, func(t *testing.T) {
			b, err := fs.ReadFile(fsys, e.Path)
			if err != nil {
				t.Fatal(err)
			}
			if int64(len(b)) != e.Size {
				t.Errorf("size %d, index says %d", len(b), e.Size)
			}
			if want := extTypes[path.Ext(e.Path)]; e.ContentType != want {
				t.Errorf("content type %q, want %q for the extension", e.ContentType, want)
			}
			if sniffed := http.DetectContentType(b); sniffed != e.ContentType {
				t.Errorf("sniffed content type %q, index says %q", sniffed, e.ContentType)
			}
			if e.Title == "" || e.Width <= 0 || e.Height <= 0 {
				t.Errorf("incomplete entry %+v", e)
			}
			dec := decoders[e.ContentType]
			if dec == nil {
				t.Fatalf("no decoder for %q", e.ContentType)
			}
			img, err := dec(bytes.NewReader(b))
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if got := img.Bounds().Size(); got != image.Pt(e.Width, e.Height) {
				t.Errorf("decoded size %v, index says %dx%d", got, e.Width, e.Height)
			}
			fi, err := fs.Stat(fsys, e.Path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Size() != e.Size || !fi.ModTime().Equal(modTime) || !fi.Mode().IsRegular() {
				t.Errorf("stat: size %d mtime %v mode %v", fi.Size(), fi.ModTime(), fi.Mode())
			}
		})
		types[e.ContentType]++
	}
	if types["image/jpeg"] < 3 || types["image/png"] < 3 || types["image/webp"] < 1 {
		t.Errorf("want ≥3 JPEGs, ≥3 PNGs, ≥1 WebP; got %v", types)
	}
}

func TestWebPIsLosslessCopyOfPainting(t *testing.T) {
	for _, s := range specs {
		if s.contentType != "image/webp" {
			continue
		}
		b, err := fs.ReadFile(FS(), s.path)
		if err != nil {
			t.Fatal(err)
		}
		got, err := webp.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		assertSameNRGBA(t, s.paint(s.w, s.h), got)
	}
}

func TestSizesSpanRange(t *testing.T) {
	idx := readIndex(t, FS())
	minSize, maxSize := idx[0].Size, idx[0].Size
	largest := idx[0]
	for _, e := range idx {
		minSize = min(minSize, e.Size)
		if e.Size > maxSize {
			maxSize, largest = e.Size, e
		}
	}
	t.Logf("sizes span %d .. %d bytes", minSize, maxSize)
	if minSize < 15<<10 || minSize > 64<<10 {
		t.Errorf("smallest file is %d bytes, want 15 KiB .. 64 KiB", minSize)
	}
	if maxSize < 4<<20 || maxSize > 8<<20 {
		t.Errorf("largest file is %d bytes, want 4 MiB .. 8 MiB", maxSize)
	}
	if largest.ContentType != "image/png" {
		t.Errorf("largest file is %s, want a PNG", largest.Path)
	}
	var mid int
	for _, e := range idx {
		if e.Size >= 150<<10 && e.Size < 2<<20 {
			mid++
		}
	}
	if mid < 3 {
		t.Errorf("only %d files between 150 KiB and 2 MiB", mid)
	}
}

func hashFiles(files []memFile) map[string]string {
	m := map[string]string{}
	for _, f := range files {
		sum := sha256.Sum256(f.data)
		m[f.name] = hex.EncodeToString(sum[:])
	}
	return m
}

func TestDeterministic(t *testing.T) {
	a := hashFiles(generate())
	b := hashFiles(generate())
	if len(a) != len(specs)+1 {
		t.Fatalf("generated %d files, want %d", len(a), len(specs)+1)
	}
	for name, h := range a {
		if b[name] != h {
			t.Errorf("%s differs between generations", name)
		}
	}
	// FS() (generated once, earlier or now) holds the same bytes.
	for name, h := range a {
		data, err := fs.ReadFile(FS(), name)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		if hex.EncodeToString(sum[:]) != h {
			t.Errorf("%s in FS() differs from a fresh generation", name)
		}
	}
}

// paintingHashes pins the painted pixels (before encoding), which depend only
// on this package's integer arithmetic: they must be the same on every
// architecture and Go version. (Encoded bytes additionally depend on the
// standard library's encoders.)
var paintingHashes = map[string]string{
	"images/aurora.jpg":         "f10e4ec6915654a25633fbd71ed72880d8444e2eed6112c40eb3ee5045112d90",
	"images/desert-dunes.jpg":   "39376170e3dd00ead5f9427130af9e8b4312c310e524d58cccc97fb18ad50b62",
	"images/ripples.jpg":        "2fc305f828deedba96c5372cf9e3df4a6f11a50ea7693d31b23a1aa66452da6c",
	"images/mandelbrot.png":     "63a3b23fb8ed41cd2b77304eeafa0fc64d884857efc998d1d4e9adaec9b5ba39",
	"images/plasma.png":         "8352c29963c4d14b9b1370ee37dd5cff1cb7ddb9c462fdcf7b326b1231a5dc1a",
	"images/nebula.png":         "ad58610c1cc33d2b7008b36a66663b986ed22717ffb6835a7ec72b34e58c7b0d",
	"images/stained-glass.webp": "578a36abc7113a850942e94dbc28f1dfd8b74448f2487b3977f1138582ab6d43",
}

func TestPaintingsArePinned(t *testing.T) {
	for _, s := range specs {
		img := s.paint(s.w, s.h)
		sum := sha256.Sum256(img.Pix)
		got := hex.EncodeToString(sum[:])
		if want, ok := paintingHashes[s.path]; !ok || got != want {
			t.Errorf("%s: painted pixels hash %s, want %s", s.path, got, want)
		}
	}
}

func TestWalkDir(t *testing.T) {
	var got []string
	err := fs.WalkDir(FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		got = append(got, p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{".", "images"}
	for _, s := range specs {
		want = append(want, s.path)
	}
	want = append(want, IndexPath)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("walk: got %q, want %q", got, want)
	}
}

func TestFSConformance(t *testing.T) {
	expected := []string{IndexPath}
	for _, s := range specs {
		expected = append(expected, s.path)
	}
	if err := fstest.TestFS(FS(), expected...); err != nil {
		t.Fatal(err)
	}
}

func TestFSErrorsAndReadOnly(t *testing.T) {
	fsys := FS()
	if _, err := fsys.Open("nope.png"); !errorsIs(err, fs.ErrNotExist) {
		t.Errorf("open missing: %v", err)
	}
	if _, err := fsys.Open("/index.json"); !errorsIs(err, fs.ErrInvalid) {
		t.Errorf("open invalid: %v", err)
	}
	if _, err := fs.ReadFile(fsys, "images"); err == nil {
		t.Error("ReadFile of a directory succeeded")
	}
	// ReadFile returns a copy: scribbling on it does not change the FS.
	b, _ := fs.ReadFile(fsys, IndexPath)
	orig := slices.Clone(b)
	clear(b)
	if b2, _ := fs.ReadFile(fsys, IndexPath); !bytes.Equal(b2, orig) {
		t.Error("modifying ReadFile's result changed the file")
	}
	fi, _ := fs.Stat(fsys, "images")
	if !fi.IsDir() || !fi.ModTime().Equal(modTime) {
		t.Errorf("images dir: %v", fi)
	}
}

func errorsIs(err, target error) bool {
	pe, ok := err.(*fs.PathError)
	return ok && pe.Err == target
}

func TestServeOverHTTP(t *testing.T) {
	srv := httptest.NewServer(http.FileServerFS(FS()))
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/images/ripples.jpg", nil)
	req.Header.Set("Range", "bytes=0-9")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusPartialContent || len(body) != 10 || resp.Header.Get("Content-Type") != "image/jpeg" {
		t.Errorf("range request: %s %q, %d bytes", resp.Status, resp.Header.Get("Content-Type"), len(body))
	}
	if lm := resp.Header.Get("Last-Modified"); lm != modTime.Format(http.TimeFormat) {
		t.Errorf("Last-Modified %q", lm)
	}
}

func TestConcurrentUse(t *testing.T) {
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			fsys := FS()
			for _, s := range specs {
				f, err := fsys.Open(s.path)
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := io.Copy(io.Discard, f); err != nil {
					t.Error(err)
				}
				f.Close()
			}
		})
	}
	wg.Wait()
}

func BenchmarkGenerate(b *testing.B) {
	for b.Loop() {
		generate()
	}
}

func TestSinTable(t *testing.T) {
	for i := range sinSteps {
		want := math.Sin(2 * math.Pi * float64(i) / sinSteps)
		if got := float64(sinTab[i]) / one; math.Abs(got-want) > 1.5/one {
			t.Fatalf("sin[%d] = %v, want %v", i, got, want)
		}
	}
}
