package cache

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/p2pcache/p2pcache/relay/wire"
)

// TestFSOriginDotfiles: by default a directory origin answers "not found"
// for any path with a segment starting with "." (.git/config, .env), exactly
// as for a missing file, so a probe cannot tell the two apart; AllowDotfiles
// serves them.
func TestFSOriginDotfiles(t *testing.T) {
	secret := []byte("AWS_SECRET=hunter2")
	plain := []byte("public")
	names := []string{".env", ".git/config", ".git/objects/ab/cdef", "sub/.htpasswd", "sub/.ssh/id_ed25519", ".well-known/security.txt"}
	served := []string{"index.html", "sub/a.b.txt", "sub/x..y", "sub/trailing."}
	mapFS := fstest.MapFS{}
	dir := t.TempDir()
	for _, n := range names {
		mapFS[n] = &fstest.MapFile{Data: secret}
		writeFile(t, dir, n, secret)
	}
	for _, n := range served {
		mapFS[n] = &fstest.MapFile{Data: plain}
		writeFile(t, dir, n, plain)
	}
	origins := map[string]func(t *testing.T, cfg FSOriginConfig) Origin{
		"FS": func(t *testing.T, cfg FSOriginConfig) Origin { return NewFSOrigin(mapFS, cfg) },
		"Dir": func(t *testing.T, cfg FSOriginConfig) Origin {
			o, closeRoot, err := DirOrigin(dir, cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { closeRoot() })
			return o
		},
	}
	for name, open := range origins {
		t.Run(name+"/default", func(t *testing.T) {
			o := open(t, FSOriginConfig{})
			c := newCache(t, o, Config{})
			_, missing := c.Manifest(t.Context(), "sub/.nope")
			for _, p := range names {
				for _, req := range []Request{{Path: p}, {Path: p, Length: 4}, {Path: p, Cond: Validators{ETag: `"x"`}}} {
					resp, err := o.Fetch(t.Context(), req)
					if err == nil {
						resp.Body.Close()
						t.Errorf("Fetch(%+v) served a dotfile (%d bytes)", req, resp.Length)
						continue
					}
					if !errors.Is(err, ErrNotFound) {
						t.Errorf("Fetch(%+v): %v, want ErrNotFound", req, err)
					}
				}
				m, err := c.Manifest(t.Context(), p)
				if err == nil {
					t.Errorf("Manifest(%q) served a dotfile: sha256 %s, secret %t", p, m.SHA256, m.SHA256 == wire.Sum(secret))
					continue
				}
				if !errors.Is(err, ErrNotFound) {
					t.Errorf("Manifest(%q): %v, want ErrNotFound", p, err)
				}
				// Existence does not show: same error as a missing dotfile.
				if got, want := strings.ReplaceAll(err.Error(), p, "P"), strings.ReplaceAll(missing.Error(), "sub/.nope", "P"); got != want {
					t.Errorf("Manifest(%q): %q; a missing dotfile gives %q", p, got, want)
				}
			}
			for _, p := range served {
				if m := mustManifest(t, c, p); m.SHA256 != wire.Sum(plain) {
					t.Errorf("%s: wrong content", p)
				}
			}
		})
		t.Run(name+"/AllowDotfiles", func(t *testing.T) {
			c := newCache(t, open(t, FSOriginConfig{AllowDotfiles: true}), Config{})
			for _, p := range names {
				if m := mustManifest(t, c, p); m.SHA256 != wire.Sum(secret) {
					t.Errorf("%s: wrong content", p)
				}
			}
			for _, p := range served {
				if m := mustManifest(t, c, p); m.SHA256 != wire.Sum(plain) {
					t.Errorf("%s: wrong content", p)
				}
			}
		})
	}
}
