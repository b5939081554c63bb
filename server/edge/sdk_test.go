package edge

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"

	clientjs "github.com/p2pcache/p2pcache/client-js"
)

// TestSDKServing: the SDK files are served with a strong ETag of their
// bytes' SHA-256, 304 on a match, brotli or gzip as Accept-Encoding allows,
// and under an immutable versioned URL that refuses any other version.
func TestSDKServing(t *testing.T) {
	e, _ := newTestEdge(t, Config{})
	for _, f := range sdkFiles {
		raw, err := fs.ReadFile(clientjs.FS, f.name)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(raw)
		ver := hex.EncodeToString(sum[:])[:16]
		plain, versioned := "/"+f.name, "/v/"+ver+"/"+f.name
		if got := SDKPath(f.name); got != versioned {
			t.Fatalf("SDKPath(%s) = %q, want %q", f.name, got, versioned)
		}
		gunzip := func(b []byte) []byte {
			zr, err := gzip.NewReader(bytes.NewReader(b))
			if err != nil {
				t.Fatalf("gunzip: %v", err)
			}
			out, err := io.ReadAll(zr)
			if err != nil {
				t.Fatalf("gunzip: %v", err)
			}
			return out
		}
		unbrotli := func(b []byte) []byte {
			out, err := io.ReadAll(brotli.NewReader(bytes.NewReader(b)))
			if err != nil {
				t.Fatalf("unbrotli: %v", err)
			}
			return out
		}
		identity := func(b []byte) []byte { return b }
		cacheControl := map[string]string{plain: "no-cache", versioned: "public, max-age=31536000, immutable"}
		tests := []struct {
			name     string
			method   string
			path     string
			hdr      map[string]string
			status   int
			encoding string // Content-Encoding
			etag     string
			decode   func([]byte) []byte // nil: no body
		}{
			{"identity", "GET", plain, nil, 200, "", `"` + ver + `"`, identity},
			{"gzip", "GET", plain, map[string]string{"Accept-Encoding": "gzip, deflate"}, 200, "gzip", `"` + ver + `-gzip"`, gunzip},
			{"br preferred", "GET", plain, map[string]string{"Accept-Encoding": "gzip, deflate, br, zstd"}, 200, "br", `"` + ver + `-br"`, unbrotli},
			{"br refused", "GET", plain, map[string]string{"Accept-Encoding": "br;q=0, gzip;q=0.5"}, 200, "gzip", `"` + ver + `-gzip"`, gunzip},
			{"star", "GET", plain, map[string]string{"Accept-Encoding": "*"}, 200, "br", `"` + ver + `-br"`, unbrotli},
			{"star but br", "GET", plain, map[string]string{"Accept-Encoding": "br;q=0, *;q=0.1"}, 200, "gzip", `"` + ver + `-gzip"`, gunzip},
			{"all refused", "GET", plain, map[string]string{"Accept-Encoding": "gzip;q=0, br;q=0"}, 200, "", `"` + ver + `"`, identity},
			{"head", "HEAD", plain, nil, 200, "", `"` + ver + `"`, nil},
			{"not modified", "GET", plain, map[string]string{"If-None-Match": `"` + ver + `"`}, 304, "", `"` + ver + `"`, nil},
			{"not modified, other encoding", "GET", plain, map[string]string{"If-None-Match": `"x", "` + ver + `-gzip"`, "Accept-Encoding": "br"}, 304, "", `"` + ver + `-br"`, nil},
			{"modified", "GET", plain, map[string]string{"If-None-Match": `"0000000000000000"`}, 200, "", `"` + ver + `"`, identity},
			{"versioned", "GET", versioned, nil, 200, "", `"` + ver + `"`, identity},
			{"versioned br", "GET", versioned, map[string]string{"Accept-Encoding": "br"}, 200, "br", `"` + ver + `-br"`, unbrotli},
			{"versioned not modified", "GET", versioned, map[string]string{"If-None-Match": `"` + ver + `"`}, 304, "", `"` + ver + `"`, nil},
		}
		for _, tt := range tests {
			t.Run(f.name+"/"+tt.name, func(t *testing.T) {
				req := httptest.NewRequest(tt.method, tt.path, nil)
				req.Header.Set("Origin", "https://site.example")
				for k, v := range tt.hdr {
					req.Header.Set(k, v)
				}
				resp, body := do(t, e, req)
				if resp.StatusCode != tt.status {
					t.Fatalf("%s %s: %d %.200q, want %d", tt.method, tt.path, resp.StatusCode, body, tt.status)
				}
				want := map[string]string{
					"ETag":                        tt.etag,
					"Content-Encoding":            tt.encoding,
					"Cache-Control":               cacheControl[tt.path],
					"Vary":                        "Accept-Encoding",
					"X-Content-Type-Options":      "nosniff",
					"Access-Control-Allow-Origin": "*",
				}
				if tt.status == 200 {
					want["Content-Type"] = f.contentType
				}
				if tt.path == plain {
					want["Link"] = "<" + versioned + `>; rel="canonical"`
				}
				for k, v := range want {
					if got := resp.Header.Get(k); got != v {
						t.Errorf("%s = %q, want %q", k, got, v)
					}
				}
				if tt.decode == nil {
					if body != "" {
						t.Errorf("body of %d bytes, want none", len(body))
					}
					return
				}
				if got := tt.decode([]byte(body)); !bytes.Equal(got, raw) {
					t.Errorf("body decodes to %d bytes, want the embedded %d", len(got), len(raw))
				}
			})
		}
	}
	for _, path := range []string{
		"/v/0000000000000000/p2pcache.js",
		"/v/0000000000000000/p2pcache-sw.js",
		"/v/" + strings.TrimPrefix(SDKPath("p2pcache.js"), "/v/")[:16] + "/p2pcache-sw.js", // the SDK's version is not the worker's
		"/v/" + strings.ToUpper(strings.TrimPrefix(SDKPath("p2pcache.js"), "/v/")[:16]) + "/p2pcache.js",
		"/v/latest/p2pcache.js",
	} {
		resp, body := do(t, e, httptest.NewRequest("GET", path, nil))
		if resp.StatusCode != 404 || resp.Header.Get("Cache-Control") == immutable || !strings.Contains(body, `"error"`) {
			t.Errorf("GET %s: %d %q (Cache-Control %q), want a 404 error, not cached for good", path, resp.StatusCode, body, resp.Header.Get("Cache-Control"))
		}
	}
}

// TestPreferredEncoding: br over gzip, q-values honoured, q=0 and malformed
// weights refuse a coding, * covers what is not listed.
func TestPreferredEncoding(t *testing.T) {
	for _, tt := range []struct{ accept, want string }{
		{"", ""},
		{"identity", ""},
		{"gzip", "gzip"},
		{"GZIP", "gzip"},
		{"br", "br"},
		{"gzip, br", "br"},
		{"gzip;q=1, br;q=0.5", "gzip"},
		{"br;q=0", ""},
		{"br;q=0, gzip", "gzip"},
		{"br; q=0.9, gzip; q=0.9", "br"},
		{"*", "br"},
		{"*;q=0", ""},
		{"br;q=0, *", "gzip"},
		{"gzip;level=1;q=0.4, br;q=0.3", "gzip"},
		{"br;q=abc, gzip", "gzip"},
		{"br;q=2, gzip", "gzip"},
		{"deflate, zstd", ""},
		{" , ;q=1, gzip ", "gzip"},
	} {
		if got := preferredEncoding(tt.accept); got != tt.want {
			t.Errorf("preferredEncoding(%q) = %q, want %q", tt.accept, got, tt.want)
		}
	}
}

// FuzzPreferredEncoding: any Accept-Encoding picks br, gzip or identity,
// and never a coding the header neither names nor covers with *.
func FuzzPreferredEncoding(f *testing.F) {
	for _, s := range []string{"", "gzip, deflate, br, zstd", "br;q=0", "*;q=0.5, gzip;q=0.4", "gzip;q=1.5", "GZIP;Q=0.1", ";;,", "br;q=nan"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, accept string) {
		got := preferredEncoding(accept)
		switch got {
		case "":
		case "br", "gzip":
			lower := strings.ToLower(accept)
			if !strings.Contains(lower, got) && !strings.Contains(lower, "*") {
				t.Fatalf("%q: picked %q, which it does not name", accept, got)
			}
		default:
			t.Fatalf("%q: picked %q", accept, got)
		}
		if again := preferredEncoding(accept); again != got {
			t.Fatalf("%q: %q then %q", accept, got, again)
		}
	})
}
