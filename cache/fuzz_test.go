package cache

import (
	"encoding/json"
	"errors"
	"io/fs"
	"net/url"
	"strings"
	"testing"
	"time"
)

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

func FuzzCleanPath(f *testing.F) {
	for _, s := range []string{
		"/images/a.png", "a b/c.jpg", "", "/", "..", "a/../b", "a//b", "./a", "a\\b", "%2e%2e",
		"http://x/y", "a?b", "a#b", "a\x00b", "ünï/cödé", "a\xffb", "x/a:b", ":a", "//a", "a/", "/..", "a/.b",
		strings.Repeat("ab/", 400),
	} {
		f.Add(s)
	}
	base, err := NewHTTPOrigin("https://cdn.example/static/", HTTPOriginConfig{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := CleanPath(in)
		if err != nil {
			if out != "" {
				t.Fatalf("CleanPath(%q) = %q with error %v", in, out, err)
			}
			if !errors.Is(err, ErrBadPath) {
				t.Fatalf("CleanPath(%q) error %v does not wrap ErrBadPath", in, err)
			}
			return
		}
		switch {
		case out == "" || len(out) > MaxPathLen:
			t.Fatalf("CleanPath(%q) = %q: empty or too long", in, out)
		case strings.HasPrefix(out, "/"):
			t.Fatalf("CleanPath(%q) = %q starts with /", in, out)
		case out != strings.TrimPrefix(in, "/"):
			t.Fatalf("CleanPath(%q) = %q repaired the path instead of refusing", in, out)
		case !fs.ValidPath(out):
			t.Fatalf("CleanPath(%q) = %q is not an fs.ValidPath", in, out)
		case strings.ContainsAny(out, "\\%?#\x00"):
			t.Fatalf("CleanPath(%q) = %q holds a refused byte", in, out)
		}
		for _, seg := range strings.Split(out, "/") {
			if seg == ".." || seg == "." || seg == "" {
				t.Fatalf("CleanPath(%q) = %q has segment %q", in, out, seg)
			}
		}
		if again, err := CleanPath(out); err != nil || again != out {
			t.Fatalf("CleanPath(CleanPath(%q)) = %q, %v; want %q", in, again, err, out)
		}
		// The HTTP origin asks for exactly this file, below its base.
		u, err := url.Parse(base.URL(out))
		if err != nil {
			t.Fatalf("URL(%q) = %q does not parse: %v", out, base.URL(out), err)
		}
		if u.Host != "cdn.example" || u.Path != "/static/"+out || u.RawQuery != "" || u.Fragment != "" {
			t.Fatalf("URL(%q) = %q names host %q path %q", out, base.URL(out), u.Host, u.Path)
		}
	})
}
