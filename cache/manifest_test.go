package cache

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// pattern returns n deterministic, non-repeating-per-chunk bytes, so every
// chunk of a file has its own hash.
func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	x := uint32(seed) + 1
	for i := range b {
		x = x*1664525 + 1013904223
		b[i] = byte(x >> 24)
	}
	return b
}

// writeFile writes b to dir/name, creating parent directories.
func writeFile(t testing.TB, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// dirCache returns a cache over a DirOrigin of dir, closed at cleanup.
func dirCache(t testing.TB, dir string, cfg Config) *Cache {
	t.Helper()
	o, closeRoot, err := DirOrigin(dir, FSOriginConfig{MaxAge: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeRoot() })
	c, err := New(o, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// checkManifest checks m against the file content b it describes.
func checkManifest(t testing.TB, m *Manifest, path string, b []byte, chunkSize int) {
	t.Helper()
	if err := m.Validate(); err != nil {
		t.Fatalf("built manifest does not validate: %v", err)
	}
	if m.Version != ManifestVersion || m.Path != path || m.Size != int64(len(b)) || m.ChunkSize != chunkSize {
		t.Fatalf("manifest v%d %q size %d chunk size %d, want v%d %q size %d chunk size %d",
			m.Version, m.Path, m.Size, m.ChunkSize, ManifestVersion, path, len(b), chunkSize)
	}
	wantN := (len(b) + chunkSize - 1) / chunkSize
	if len(m.Chunks) != wantN {
		t.Fatalf("%d chunks, want %d", len(m.Chunks), wantN)
	}
	for i := range m.Chunks {
		lo, hi := i*chunkSize, min((i+1)*chunkSize, len(b))
		if m.Chunks[i] != Sum(b[lo:hi]) {
			t.Errorf("chunk %d hash %s, want SHA-256 of bytes [%d,%d)", i, m.Chunks[i], lo, hi)
		}
		if m.ChunkOffset(i) != int64(lo) || m.ChunkLen(i) != hi-lo {
			t.Errorf("chunk %d at %d+%d, want %d+%d", i, m.ChunkOffset(i), m.ChunkLen(i), lo, hi-lo)
		}
	}
	if want := Hash(sha256.Sum256(b)); m.SHA256 != want {
		t.Errorf("sha256 %s, want %s", m.SHA256, want)
	}
	if m.ETag != ETagFor(m.SHA256) || m.ETag != `"`+m.SHA256.String()+`"` {
		t.Errorf("etag %s, want the quoted sha256", m.ETag)
	}
}

func TestManifestFromDir(t *testing.T) {
	const cs = MaxChunkSize
	tests := []struct {
		name string
		size int
	}{
		{"empty", 0},
		{"one byte", 1},
		{"chunk-1", cs - 1},
		{"chunk", cs},
		{"chunk+1", cs + 1},
		{"3.5 chunks", 3*cs + cs/2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			b := pattern(tt.size, byte(tt.size))
			mtime := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)
			os.Chtimes(writeFile(t, dir, "sub/f.png", b), mtime, mtime)
			c := dirCache(t, dir, Config{})
			m, err := c.Manifest(t.Context(), "/sub/f.png")
			if err != nil {
				t.Fatal(err)
			}
			checkManifest(t, m, "sub/f.png", b, cs)
			if m.ContentType != "image/png" {
				t.Errorf("content type %q, want image/png from the extension", m.ContentType)
			}
			if !m.LastModified.Equal(mtime.Truncate(time.Second)) || m.LastModified.Location() != time.UTC {
				t.Errorf("last modified %v, want %v in UTC", m.LastModified, mtime.Truncate(time.Second))
			}
			// The whole file fits the default budget: every chunk is cached and
			// reading them needs no origin call.
			st := c.Stats()
			if st.ManifestBuilds != 1 || st.OriginFetches != 1 || st.Chunks != len(m.Chunks) || st.Bytes != int64(tt.size) {
				t.Errorf("stats after build: %+v", st)
			}
			var got []byte
			for i := range m.Chunks {
				p, src, err := c.Chunk(t.Context(), m, i)
				if err != nil {
					t.Fatalf("chunk %d: %v", i, err)
				}
				if src != SourceCache {
					t.Errorf("chunk %d from %v, want cache", i, src)
				}
				got = append(got, p...)
			}
			if !bytes.Equal(got, b) {
				t.Error("chunks do not reassemble the file")
			}
			if st := c.Stats(); st.OriginFetches != 1 {
				t.Errorf("%d origin fetches, want 1", st.OriginFetches)
			}
			// The manifest survives its JSON form.
			j, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			m2, err := ParseManifest(j)
			if err != nil {
				t.Fatalf("ParseManifest(%s): %v", j, err)
			}
			if err := equalManifests(m, m2); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestManifestChunkSizes(t *testing.T) {
	for _, cs := range []int{1, 7, 1000, MaxChunkSize - 1} {
		for _, size := range []int{0, 1, cs - 1, cs, cs + 1, 5*cs + 3} {
			if size < 0 {
				continue
			}
			dir := t.TempDir()
			b := pattern(size, 9)
			writeFile(t, dir, "f", b)
			c := dirCache(t, dir, Config{ChunkSize: cs})
			m, err := c.Manifest(t.Context(), "f")
			if err != nil {
				t.Fatalf("chunk size %d, size %d: %v", cs, size, err)
			}
			checkManifest(t, m, "f", b, cs)
		}
	}
}

func TestManifestContentType(t *testing.T) {
	tests := []struct {
		name string
		body []byte
		want string
	}{
		{"a.png", []byte("not really a png"), "image/png"},
		{"a.html", []byte("{}"), "text/html; charset=utf-8"},
		{"a.json", []byte("<html>"), "application/json"},
		{"a.css", nil, "text/css; charset=utf-8"},
		{"A.JPG", nil, "image/jpeg"},
		// No extension: sniffed from the first bytes.
		{"sniff-png", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), "image/png"},
		{"sniff-html", []byte("<!DOCTYPE html><p>hi"), "text/html; charset=utf-8"},
		{"sniff-pdf", []byte("%PDF-1.7\n"), "application/pdf"},
		{"sniff-text", []byte("plain words"), "text/plain; charset=utf-8"},
		{"sniff-binary", []byte{0, 1, 2, 3, 0xfe, 0xff}, "application/octet-stream"},
		{"sniff-empty", nil, "text/plain; charset=utf-8"},
	}
	dir := t.TempDir()
	for _, tt := range tests {
		writeFile(t, dir, tt.name, tt.body)
	}
	c := dirCache(t, dir, Config{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := c.Manifest(t.Context(), tt.name)
			if err != nil {
				t.Fatal(err)
			}
			if m.ContentType != tt.want {
				t.Errorf("content type %q, want %q", m.ContentType, tt.want)
			}
		})
	}
	t.Run("origin's type wins", func(t *testing.T) {
		if got := contentType("a.png", "image/webp", []byte("<html>")); got != "image/webp" {
			t.Errorf("contentType = %q, want the origin's image/webp", got)
		}
	})
	t.Run("sniffing reads the first chunk only", func(t *testing.T) {
		// A file whose second chunk looks like HTML but whose first does not.
		dir := t.TempDir()
		writeFile(t, dir, "f", append(bytes.Repeat([]byte("x"), 16), "<html>"...))
		c := dirCache(t, dir, Config{ChunkSize: 16})
		m, err := c.Manifest(t.Context(), "f")
		if err != nil {
			t.Fatal(err)
		}
		if m.ContentType != "text/plain; charset=utf-8" {
			t.Errorf("content type %q", m.ContentType)
		}
	})
}

// equalManifests compares field by field, times by instant.
func equalManifests(a, b *Manifest) error {
	switch {
	case a.Version != b.Version, a.Path != b.Path, a.Size != b.Size, a.ContentType != b.ContentType,
		a.ETag != b.ETag, a.ChunkSize != b.ChunkSize, a.SHA256 != b.SHA256:
		return errors.New("manifests differ:\n" + dump(a) + "\n" + dump(b))
	case !a.LastModified.Equal(b.LastModified):
		return errors.New("last modified differs: " + a.LastModified.String() + " vs " + b.LastModified.String())
	case len(a.Chunks) != len(b.Chunks):
		return errors.New("chunk counts differ")
	}
	for i := range a.Chunks {
		if a.Chunks[i] != b.Chunks[i] {
			return errors.New("chunk hashes differ")
		}
	}
	return nil
}

func dump(m *Manifest) string {
	j, err := json.Marshal(m)
	if err != nil {
		return err.Error()
	}
	return string(j)
}

// validManifestJSON returns a valid manifest of 3 chunks of 4 bytes and its JSON.
func validManifestJSON(t testing.TB) (*Manifest, string) {
	t.Helper()
	b := []byte("0123456789a")
	m := &Manifest{
		Version: ManifestVersion, Path: "dir/file.bin", Size: int64(len(b)), ContentType: "application/octet-stream",
		LastModified: time.Date(2023, 1, 2, 3, 4, 5, 0, time.UTC), ChunkSize: 4, SHA256: Sum(b),
		Chunks: []Hash{Sum(b[0:4]), Sum(b[4:8]), Sum(b[8:])},
	}
	m.ETag = ETagFor(m.SHA256)
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	j, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return m, string(j)
}

func TestParseManifestRoundTrip(t *testing.T) {
	m, j := validManifestJSON(t)
	for _, want := range []string{`"v":1`, `"chunkSize":4`, `"sha256":"` + m.SHA256.String() + `"`, `"lastModified":"2023-01-02T03:04:05Z"`} {
		if !strings.Contains(j, want) {
			t.Errorf("JSON %s lacks %s", j, want)
		}
	}
	got, err := ParseManifest([]byte(j))
	if err != nil {
		t.Fatal(err)
	}
	if err := equalManifests(m, got); err != nil {
		t.Fatal(err)
	}
	// Accepted variations.
	for name, s := range map[string]string{
		"trailing whitespace":    j + " \n\t\r",
		"leading whitespace":     "\n " + j,
		"no lastModified":        strings.Replace(j, `"lastModified":"2023-01-02T03:04:05Z",`, "", 1),
		"unknown field":          strings.Replace(j, `{`, `{"extra":[1,2],`, 1),
		"reordered, other zone":  strings.Replace(j, `"lastModified":"2023-01-02T03:04:05Z"`, `"lastModified":"2023-01-02T05:04:05+02:00"`, 1),
		"path with space, utf-8": strings.Replace(j, `"dir/file.bin"`, `"dír/a file.bin"`, 1),
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseManifest([]byte(s)); err != nil {
				t.Errorf("ParseManifest(%s): %v", s, err)
			}
		})
	}
	t.Run("empty file", func(t *testing.T) {
		e := &Manifest{Version: 1, Path: "e", ChunkSize: MaxChunkSize, SHA256: Sum(nil)}
		e.ETag = ETagFor(e.SHA256)
		j, _ := json.Marshal(e)
		got, err := ParseManifest(j)
		if err != nil {
			t.Fatalf("ParseManifest(%s): %v", j, err)
		}
		if err := equalManifests(e, got); err != nil {
			t.Error(err)
		}
	})
}

func TestParseManifestRejects(t *testing.T) {
	m, j := validManifestJSON(t)
	h0 := m.Chunks[0].String()
	tests := []struct {
		name string
		in   string
	}{
		{"empty input", ""},
		{"not json", "manifest"},
		{"null", "null"},
		{"array", "[]"},
		{"truncated", j[:len(j)-1]},
		{"bad version 0", strings.Replace(j, `"v":1`, `"v":0`, 1)},
		{"bad version 2", strings.Replace(j, `"v":1`, `"v":2`, 1)},
		{"version as string", strings.Replace(j, `"v":1`, `"v":"1"`, 1)},
		{"missing chunk", strings.Replace(j, `"`+h0+`",`, "", 1)},
		{"extra chunk", strings.Replace(j, `"`+h0+`",`, `"`+h0+`","`+h0+`",`, 1)},
		{"size too large for chunks", strings.Replace(j, `"size":11`, `"size":13`, 1)},
		{"size too small for chunks", strings.Replace(j, `"size":11`, `"size":8`, 1)},
		{"negative size", strings.Replace(j, `"size":11`, `"size":-1`, 1)},
		{"etag mismatch", strings.Replace(j, `"etag":"\"`, `"etag":"\"0`, 1)},
		{"etag unquoted", strings.Replace(j, `"etag":"\"`+m.SHA256.String()+`\""`, `"etag":"`+m.SHA256.String()+`"`, 1)},
		{"etag weak", strings.Replace(j, `"etag":"\"`, `"etag":"W/\"`, 1)},
		{"unclean path a/../b", strings.Replace(j, `"dir/file.bin"`, `"a/../b"`, 1)},
		{"leading slash", strings.Replace(j, `"dir/file.bin"`, `"/dir/file.bin"`, 1)},
		{"empty path", strings.Replace(j, `"dir/file.bin"`, `""`, 1)},
		{"path with NUL", strings.Replace(j, `"dir/file.bin"`, `"a\u0000b"`, 1)},
		{"uppercase hex hash", strings.Replace(j, h0, strings.ToUpper(h0), 1)},
		{"uppercase hex sha256", strings.Replace(j, `"sha256":"`+m.SHA256.String(), `"sha256":"`+strings.ToUpper(m.SHA256.String()), 1)},
		{"short hash", strings.Replace(j, h0, h0[:62], 1)},
		{"long hash", strings.Replace(j, h0, h0+"00", 1)},
		{"non-hex hash", strings.Replace(j, h0, "g"+h0[1:], 1)},
		{"hash as array", strings.Replace(j, `"`+h0+`"`, "[1,2,3]", 1)},
		{"trailing object", j + ` {}`},
		{"trailing garbage", j + `x`},
		{"trailing brace", j + `}`},
		{"trailing bracket", j + `]`},
		{"two manifests", j + j},
		{"chunkSize 0", strings.Replace(j, `"chunkSize":4`, `"chunkSize":0`, 1)},
		{"chunkSize 65537", strings.Replace(j, `"chunkSize":4`, `"chunkSize":65537`, 1)},
		{"chunkSize negative", strings.Replace(j, `"chunkSize":4`, `"chunkSize":-4`, 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.in == j {
				t.Fatal("test case does not change the manifest")
			}
			got, err := ParseManifest([]byte(tt.in))
			if err == nil {
				t.Fatalf("ParseManifest(%s) = %s, want an error", tt.in, dump(got))
			}
			if !errors.Is(err, ErrBadManifest) {
				t.Errorf("error %v does not wrap ErrBadManifest", err)
			}
			if got != nil {
				t.Errorf("a manifest returned with the error")
			}
		})
	}
}

func TestManifestChunkGeometry(t *testing.T) {
	tests := []struct {
		size     int64
		cs       int
		n        int
		lastLen  int
		pastLast int
	}{
		{0, 4, 0, 0, 0},
		{1, 4, 1, 1, 0},
		{3, 4, 1, 3, 0},
		{4, 4, 1, 4, 0},
		{5, 4, 2, 1, 0},
		{8, 4, 2, 4, 0},
		{1 << 30, MaxChunkSize, 1 << 14, MaxChunkSize, 0},
		{1<<30 + 1, MaxChunkSize, 1<<14 + 1, 1, 0},
	}
	for _, tt := range tests {
		if got := NumChunks(tt.size, tt.cs); got != tt.n {
			t.Errorf("NumChunks(%d, %d) = %d, want %d", tt.size, tt.cs, got, tt.n)
		}
		m := &Manifest{Size: tt.size, ChunkSize: tt.cs, Chunks: make([]Hash, tt.n)}
		if tt.n > 0 {
			if got := m.ChunkLen(tt.n - 1); got != tt.lastLen {
				t.Errorf("size %d / %d: last chunk %d bytes, want %d", tt.size, tt.cs, got, tt.lastLen)
			}
			if got, want := m.ChunkOffset(tt.n-1), int64(tt.n-1)*int64(tt.cs); got != want {
				t.Errorf("size %d / %d: last chunk at %d, want %d", tt.size, tt.cs, got, want)
			}
		}
		for _, i := range []int{-1, tt.n, tt.n + 1} {
			if got := m.ChunkLen(i); got != 0 {
				t.Errorf("size %d / %d: ChunkLen(%d) = %d, want 0", tt.size, tt.cs, i, got)
			}
		}
	}
}

func TestParseHash(t *testing.T) {
	good := Sum([]byte("x"))
	tests := []struct {
		in string
		ok bool
	}{
		{good.String(), true},
		{strings.Repeat("0", 64), true},
		{strings.Repeat("f", 64), true},
		{strings.Repeat("F", 64), false},
		{strings.Repeat("0", 63), false},
		{strings.Repeat("0", 65), false},
		{"", false},
		{strings.Repeat("0", 63) + "g", false},
		{strings.Repeat("0", 63) + " ", false},
		{"0x" + strings.Repeat("0", 62), false},
	}
	for _, tt := range tests {
		h, err := ParseHash(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("ParseHash(%q) error %v, want ok=%v", tt.in, err, tt.ok)
			continue
		}
		if err != nil && !errors.Is(err, ErrBadManifest) {
			t.Errorf("ParseHash(%q) error %v does not wrap ErrBadManifest", tt.in, err)
		}
		if tt.ok && h.String() != tt.in {
			t.Errorf("ParseHash(%q).String() = %q", tt.in, h)
		}
	}
	var h Hash
	if err := h.UnmarshalText([]byte(good.String())); err != nil || h != good {
		t.Errorf("UnmarshalText: %v, %s", err, h)
	}
	if txt, _ := good.MarshalText(); string(txt) != good.String() {
		t.Errorf("MarshalText = %s", txt)
	}
}

func TestCleanPath(t *testing.T) {
	long := strings.Repeat("a/", MaxPathLen/2)
	tests := []struct {
		in   string
		want string // "" means rejected
	}{
		{"/images/a.png", "images/a.png"},
		{"images/a.png", "images/a.png"},
		{"a b/c.jpg", "a b/c.jpg"},
		{"/a", "a"},
		{"a", "a"},
		{"ünï/cödé.txt", "ünï/cödé.txt"},
		{"a/.hidden", "a/.hidden"},
		{"a/...", "a/..."},
		{"a/b..c", "a/b..c"},
		{"x/a:b", "x/a:b"},
		{"a+b=c&d@e", "a+b=c&d@e"},
		{long[:MaxPathLen-1], long[:MaxPathLen-1]},
		{"/" + long[:MaxPathLen-1], long[:MaxPathLen-1]},
		{"", ""},
		{"/", ""},
		{"//a", ""},
		{".", ""},
		{"..", ""},
		{"/..", ""},
		{"../a", ""},
		{"a/..", ""},
		{"a/../b", ""},
		{"a/./b", ""},
		{"./a", ""},
		{"a//b", ""},
		{"a/", ""},
		{"a\\b", ""},
		{"..\\a", ""},
		{"%2e%2e", ""},
		{"a%2fb", ""},
		{"a%20b", ""},
		{"http://x/y", ""},
		{"//x/y", ""},
		{"file:a", ""},
		{"c:/windows", ""},
		{":a", ""},
		{"a?b", ""},
		{"a#b", ""},
		{"a\x00b", ""},
		{"a\nb", ""},
		{"a\tb", ""},
		{"a\x7fb", ""},
		{"a\xffb", ""},                   // not UTF-8
		{"\xc0\xae\xc0\xae/etc", ""},     // overlong "..", not UTF-8
		{long[:MaxPathLen-1] + "bb", ""}, // 1025 bytes
		{strings.Repeat("x", MaxPathLen+1), ""},
	}
	for _, tt := range tests {
		name := tt.in
		if len(name) > 40 {
			name = name[:20] + "…"
		}
		t.Run(name, func(t *testing.T) {
			got, err := CleanPath(tt.in)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("CleanPath(%q) = %q, want an error", tt.in, got)
				}
				if !errors.Is(err, ErrBadPath) {
					t.Errorf("CleanPath(%q) error %v does not wrap ErrBadPath", tt.in, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("CleanPath(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
	if len(long[:MaxPathLen-1]+"b") != MaxPathLen {
		t.Fatal("test paths have the wrong length")
	}
	if p := long[:MaxPathLen-1] + "b"; mustClean(t, p) != p {
		t.Error("a path of exactly MaxPathLen bytes is refused")
	}
}

func mustClean(t *testing.T, p string) string {
	t.Helper()
	c, err := CleanPath(p)
	if err != nil {
		t.Fatalf("CleanPath(%q): %v", p, err)
	}
	return c
}
