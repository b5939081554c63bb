package wire

import (
	"encoding/json"
	"errors"
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

func FuzzParseManifest(f *testing.F) {
	_, j := validManifestJSON(f)
	f.Add([]byte(j))
	for _, size := range []int{0, 1, 5, 300} {
		b := pattern(size, 1)
		m := &Manifest{Version: ManifestVersion, Path: "a/b c.png", Size: int64(size), ContentType: "image/png",
			LastModified: time.Date(2020, 2, 29, 23, 59, 59, 0, time.UTC), ChunkSize: 64, SHA256: Sum(b)}
		for i := 0; i < size; i += 64 {
			m.Chunks = append(m.Chunks, Sum(b[i:min(i+64, size)]))
		}
		m.ETag = ETagFor(m.SHA256)
		mj, err := json.Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(mj)
	}
	for _, s := range []string{
		"", "{}", "null", "[]", `{"v":1}`, `{"v":1,"path":"a","chunkSize":1,"chunks":[]}`,
		strings.Replace(j, `"v":1`, `"v":2`, 1), j + "}", j + " ", j[:len(j)/2],
		strings.Replace(j, `"dir/file.bin"`, `"a/../b"`, 1),
		strings.Replace(j, `"2023-01-02T03:04:05Z"`, `"2023-01-02T03:04:05.999999999-23:59"`, 1),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		m, err := ParseManifest(in)
		if err != nil {
			if m != nil {
				t.Fatal("a manifest returned with an error")
			}
			if !errors.Is(err, ErrBadManifest) {
				t.Fatalf("error %v does not wrap ErrBadManifest", err)
			}
			return
		}
		if !json.Valid(in) {
			t.Fatalf("ParseManifest accepted %q, which is not exactly one JSON value", in)
		}
		if err := m.Validate(); err != nil {
			t.Fatalf("parsed manifest does not validate: %v", err)
		}
		if p, err := CleanPath(m.Path); err != nil || p != m.Path {
			t.Fatalf("parsed manifest has path %q, CleanPath gives %q, %v", m.Path, p, err)
		}
		j1, err := json.Marshal(m)
		if err != nil {
			t.Fatalf("marshal a parsed manifest: %v", err)
		}
		m2, err := ParseManifest(j1)
		if err != nil {
			t.Fatalf("re-parse %s: %v", j1, err)
		}
		if err := equalManifests(m, m2); err != nil {
			t.Fatal(err)
		}
		j2, err := json.Marshal(m2)
		if err != nil {
			t.Fatal(err)
		}
		if string(j1) != string(j2) {
			t.Fatalf("marshal is not stable:\n%s\n%s", j1, j2)
		}
	})
}
