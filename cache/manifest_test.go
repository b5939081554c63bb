package cache

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/p2pcache/p2pcache/relay/wire"
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
func checkManifest(t testing.TB, m *wire.Manifest, path string, b []byte, chunkSize int) {
	t.Helper()
	if err := m.Validate(); err != nil {
		t.Fatalf("built manifest does not validate: %v", err)
	}
	if m.Version != wire.ManifestVersion || m.Path != path || m.Size != int64(len(b)) || m.ChunkSize != chunkSize {
		t.Fatalf("manifest v%d %q size %d chunk size %d, want v%d %q size %d chunk size %d",
			m.Version, m.Path, m.Size, m.ChunkSize, wire.ManifestVersion, path, len(b), chunkSize)
	}
	wantN := (len(b) + chunkSize - 1) / chunkSize
	if len(m.Chunks) != wantN {
		t.Fatalf("%d chunks, want %d", len(m.Chunks), wantN)
	}
	for i := range m.Chunks {
		lo, hi := i*chunkSize, min((i+1)*chunkSize, len(b))
		if m.Chunks[i] != wire.Sum(b[lo:hi]) {
			t.Errorf("chunk %d hash %s, want SHA-256 of bytes [%d,%d)", i, m.Chunks[i], lo, hi)
		}
		if m.ChunkOffset(i) != int64(lo) || m.ChunkLen(i) != hi-lo {
			t.Errorf("chunk %d at %d+%d, want %d+%d", i, m.ChunkOffset(i), m.ChunkLen(i), lo, hi-lo)
		}
	}
	if want := wire.Hash(sha256.Sum256(b)); m.SHA256 != want {
		t.Errorf("sha256 %s, want %s", m.SHA256, want)
	}
	if m.ETag != wire.ETagFor(m.SHA256) || m.ETag != `"`+m.SHA256.String()+`"` {
		t.Errorf("etag %s, want the quoted sha256", m.ETag)
	}
}

func TestManifestFromDir(t *testing.T) {
	const cs = wire.MaxChunkSize
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
			// The first read of each distinct chunk reports the build's
			// origin read; every later one, the cache.
			var got []byte
			seen := map[wire.Hash]bool{}
			for pass := range 2 {
				for i := range m.Chunks {
					p, src, err := c.Chunk(t.Context(), m, i)
					if err != nil {
						t.Fatalf("chunk %d: %v", i, err)
					}
					want := SourceCache
					if !seen[m.Chunks[i]] {
						want = SourceOrigin
					}
					seen[m.Chunks[i]] = true
					if src != want {
						t.Errorf("pass %d: chunk %d from %v, want %v", pass, i, src, want)
					}
					if pass == 0 {
						got = append(got, p...)
					}
				}
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
			m2, err := wire.ParseManifest(j)
			if err != nil {
				t.Fatalf("wire.ParseManifest(%s): %v", j, err)
			}
			if err := equalManifests(m, m2); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestManifestChunkSizes(t *testing.T) {
	for _, cs := range []int{1, 7, 1000, wire.MaxChunkSize - 1} {
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
func equalManifests(a, b *wire.Manifest) error {
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

func dump(m *wire.Manifest) string {
	j, err := json.Marshal(m)
	if err != nil {
		return err.Error()
	}
	return string(j)
}
