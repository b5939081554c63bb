package cache

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"
	"time"

	"github.com/p2pcache/p2pcache/relay/wire"
)

// TestDirOriginConfinement: a DirOrigin serves regular files inside its
// directory only, whatever symlinks and paths say.
func TestDirOriginConfinement(t *testing.T) {
	outside := t.TempDir()
	secret := writeFile(t, outside, "secret.txt", []byte("do not serve"))
	dir := t.TempDir()
	inside := []byte("inside")
	writeFile(t, dir, "in.txt", inside)
	writeFile(t, dir, "sub/deep.txt", inside)
	symlink := func(target, name string) {
		t.Helper()
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Skipf("symlinks unavailable: %v", err)
		}
	}
	symlink(secret, "abs-out.txt")
	symlink(filepath.Join("..", filepath.Base(outside), "secret.txt"), "rel-out.txt")
	symlink(outside, "dir-out")
	symlink("in.txt", "link-in.txt")
	symlink("sub", "link-sub")
	symlink("missing.txt", "dangling.txt")
	if filepath.Dir(outside) != filepath.Dir(dir) {
		t.Fatalf("temp dirs %s and %s are not siblings", outside, dir)
	}

	o, closeRoot, err := DirOrigin(dir, FSOriginConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer closeRoot()
	c := newCache(t, o, Config{})

	tests := []struct {
		path string
		want error // nil: served, with content inside
	}{
		{"in.txt", nil},
		{"sub/deep.txt", nil},
		{"link-in.txt", nil},       // a symlink that stays inside is fine
		{"link-sub/deep.txt", nil}, // so is a directory symlink that stays inside
		{"abs-out.txt", errAny},
		{"rel-out.txt", errAny},
		{"dir-out/secret.txt", errAny},
		{"../" + filepath.Base(outside) + "/secret.txt", ErrBadPath},
		{"sub/../../" + filepath.Base(outside) + "/secret.txt", ErrBadPath},
		{"sub", ErrNotFound},
		{"link-sub", ErrNotFound},
		{"missing.txt", ErrNotFound},
		{"dangling.txt", ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			m, err := c.Manifest(t.Context(), tt.path)
			if tt.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				if m.SHA256 != wire.Sum(inside) {
					t.Error("served other content")
				}
				return
			}
			if err == nil {
				t.Fatalf("served %s (%d bytes, sha256 %s)", tt.path, m.Size, m.SHA256)
			}
			if m != nil && m.SHA256 == wire.Sum([]byte("do not serve")) {
				t.Fatal("served the file outside the directory")
			}
			t.Logf("%s: %v", tt.path, err)
			if tt.want != errAny && !errors.Is(err, tt.want) {
				t.Errorf("error %v, want %v", err, tt.want)
			}
			if !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrOrigin) && !errors.Is(err, ErrBadPath) {
				t.Errorf("error %v wraps none of the origin errors", err)
			}
		})
	}
	// The origin itself refuses unclean paths, not only the cache.
	for _, p := range []string{"..", "../x", "/in.txt", "sub/../in.txt", "./in.txt", ""} {
		if _, err := o.Fetch(t.Context(), Request{Path: p}); !errors.Is(err, ErrBadPath) {
			t.Errorf("Fetch(%q): %v, want ErrBadPath", p, err)
		}
	}
}

// errAny stands for "some error".
var errAny = errors.New("any error")

func TestDirOriginMissing(t *testing.T) {
	if _, _, err := DirOrigin(filepath.Join(t.TempDir(), "nope"), FSOriginConfig{}); err == nil {
		t.Error("DirOrigin of a missing directory succeeded")
	}
	f := writeFile(t, t.TempDir(), "file", []byte("x"))
	if _, _, err := DirOrigin(f, FSOriginConfig{}); err == nil {
		t.Error("DirOrigin of a file succeeded")
	}
}

// hideFS hides its files' ReadAt and Seek, so sectionOf must skip by reading.
type hideFS struct{ fs.FS }

type plainFile struct{ f fs.File }

func (f plainFile) Stat() (fs.FileInfo, error) { return f.f.Stat() }
func (f plainFile) Read(p []byte) (int, error) { return f.f.Read(p) }
func (f plainFile) Close() error               { return f.f.Close() }

func (h hideFS) Open(name string) (fs.File, error) {
	f, err := h.FS.Open(name)
	if err != nil {
		return nil, err
	}
	return plainFile{f}, nil
}

// seekFS hides ReadAt only.
type seekFS struct{ fs.FS }

type seekFile struct {
	plainFile
	s io.Seeker
}

func (f seekFile) Seek(off int64, whence int) (int64, error) { return f.s.Seek(off, whence) }

func (h seekFS) Open(name string) (fs.File, error) {
	f, err := h.FS.Open(name)
	if err != nil {
		return nil, err
	}
	s, ok := f.(io.Seeker)
	if !ok { // a directory
		return plainFile{f}, nil
	}
	return seekFile{plainFile{f}, s}, nil
}

func TestFSOriginFetch(t *testing.T) {
	data := pattern(1000, 3)
	mtime := time.Date(2024, 1, 2, 3, 4, 5, 600, time.UTC)
	mapFS := fstest.MapFS{"d/f": {Data: data, ModTime: mtime}, "d/e": {Data: nil}}
	for name, fsys := range map[string]fs.FS{"ReaderAt": mapFS, "Seeker": seekFS{mapFS}, "Reader": hideFS{mapFS}} {
		t.Run(name, func(t *testing.T) {
			o := NewFSOrigin(fsys, FSOriginConfig{MaxAge: time.Minute})
			first, err := o.Fetch(t.Context(), Request{Path: "d/f"})
			if err != nil {
				t.Fatal(err)
			}
			first.Body.Close()
			v := first.Validators
			if v.ETag == "" || v.ETag[0] != '"' || !v.LastModified.Equal(mtime.Truncate(time.Second)) {
				t.Fatalf("validators %+v", v)
			}
			other := Validators{ETag: `"other"`}
			tests := []struct {
				name        string
				req         Request
				wantErr     error
				notModified bool
				partial     bool
				body        []byte
			}{
				{"whole", Request{Path: "d/f"}, nil, false, false, data},
				{"empty file", Request{Path: "d/e"}, nil, false, false, []byte{}},
				{"range", Request{Path: "d/f", Offset: 100, Length: 50}, nil, false, true, data[100:150]},
				{"first byte", Request{Path: "d/f", Length: 1}, nil, false, true, data[:1]},
				{"last bytes", Request{Path: "d/f", Offset: 990, Length: 10}, nil, false, true, data[990:]},
				{"range, If-Range matches", Request{Path: "d/f", Offset: 100, Length: 50, IfRange: v}, nil, false, true, data[100:150]},
				{"range, If-Range differs", Request{Path: "d/f", Offset: 100, Length: 50, IfRange: other}, nil, false, false, data},
				{"range past the end", Request{Path: "d/f", Offset: 990, Length: 11}, ErrOrigin, false, false, nil},
				{"negative offset", Request{Path: "d/f", Offset: -1, Length: 10}, ErrOrigin, false, false, nil},
				{"cond matches", Request{Path: "d/f", Cond: v}, nil, true, false, nil},
				{"cond differs", Request{Path: "d/f", Cond: other}, nil, false, false, data},
				{"missing", Request{Path: "d/nope"}, ErrNotFound, false, false, nil},
				{"directory", Request{Path: "d"}, ErrNotFound, false, false, nil},
				{"bad path", Request{Path: "d/../f"}, ErrBadPath, false, false, nil},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					resp, err := o.Fetch(t.Context(), tt.req)
					if tt.wantErr != nil {
						if !errors.Is(err, tt.wantErr) {
							t.Fatalf("Fetch: %v, want %v", err, tt.wantErr)
						}
						return
					}
					if err != nil {
						t.Fatal(err)
					}
					if resp.NotModified != tt.notModified || resp.Partial != tt.partial || resp.MaxAge != time.Minute {
						t.Fatalf("response %+v", resp)
					}
					if tt.notModified {
						if resp.Body != nil || resp.Validators != v {
							t.Errorf("304 with a body or other validators: %+v", resp)
						}
						return
					}
					defer resp.Body.Close()
					got, err := io.ReadAll(resp.Body)
					if err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(got, tt.body) || resp.Length != int64(len(tt.body)) {
						t.Errorf("body %d bytes, Length %d; want %d bytes", len(got), resp.Length, len(tt.body))
					}
					if tt.partial && (resp.Offset != tt.req.Offset || resp.Size != int64(len(data))) {
						t.Errorf("partial at %d of %d, want at %d of %d", resp.Offset, resp.Size, tt.req.Offset, len(data))
					}
				})
			}
		})
	}
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		o := NewFSOrigin(mapFS, FSOriginConfig{})
		if _, err := o.Fetch(ctx, Request{Path: "d/f"}); !errors.Is(err, ErrOrigin) || !errors.Is(err, context.Canceled) {
			t.Errorf("Fetch with a cancelled ctx: %v", err)
		}
	})
	t.Run("etag follows size and time", func(t *testing.T) {
		etag := func(f *fstest.MapFile) string {
			r, err := NewFSOrigin(fstest.MapFS{"f": f}, FSOriginConfig{}).Fetch(t.Context(), Request{Path: "f"})
			if err != nil {
				t.Fatal(err)
			}
			r.Body.Close()
			return r.Validators.ETag
		}
		base := etag(&fstest.MapFile{Data: data, ModTime: mtime})
		if etag(&fstest.MapFile{Data: data[1:], ModTime: mtime}) == base {
			t.Error("other size, same etag")
		}
		if etag(&fstest.MapFile{Data: data, ModTime: mtime.Add(time.Nanosecond)}) == base {
			t.Error("other modification time, same etag")
		}
	})
}

// TestDirOriginChange: editing a file in a DirOrigin yields a new manifest
// on the next use (MaxAge 0), and chunks of the old one are never mixed in.
func TestDirOriginChange(t *testing.T) {
	const cs = 100
	dir := t.TempDir()
	v1, v2 := pattern(5*cs, 1), pattern(5*cs, 2)
	p := writeFile(t, dir, "f.bin", v1)
	t1 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := os.Chtimes(p, t1, t1); err != nil {
		t.Fatal(err)
	}
	o, closeRoot, err := DirOrigin(dir, FSOriginConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer closeRoot()
	c := newCache(t, o, Config{ChunkSize: cs, MaxBytes: cs})
	m1 := mustManifest(t, c, "f.bin")
	if again := mustManifest(t, c, "f.bin"); again != m1 {
		t.Error("unchanged file: new manifest")
	}
	if st := c.Stats(); st.NotModified != 1 || st.ManifestBuilds != 1 {
		t.Errorf("unchanged file: %+v", st)
	}
	if err := os.WriteFile(p, v2, 0o644); err != nil {
		t.Fatal(err)
	}
	// Set the time explicitly: two writes can share a coarse file system tick.
	if err := os.Chtimes(p, t1.Add(time.Second), t1.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	// An old manifest's cold chunk: the origin answers with the new file
	// (If-Range fails), whose bytes do not verify.
	if b, _, err := c.Chunk(t.Context(), m1, 3); !errors.Is(err, ErrStale) || b != nil {
		t.Fatalf("old manifest's chunk after the change: %d bytes, %v; want ErrStale", len(b), err)
	}
	m2 := mustManifest(t, c, "f.bin")
	checkManifest(t, m2, "f.bin", v2, cs)
	for i := range m2.Chunks {
		if b, _ := mustChunk(t, c, m2, i); !bytes.Equal(b, chunkOf(v2, cs, i)) {
			t.Fatalf("chunk %d of the new manifest: wrong bytes", i)
		}
	}
}
