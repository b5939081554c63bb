package edge

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/andybalholm/brotli"
	"github.com/gofiber/fiber/v2"

	clientjs "github.com/p2pcache/p2pcache/client-js"
)

// The SDK files (p2pcache.js, its service worker p2pcache-sw.js and the
// declarations p2pcache.d.ts) are served two ways:
//
//   - at /<name>: Cache-Control: no-cache, so a browser revalidates each
//     time and gets the relay's current SDK (a 304 when it has it);
//   - at /v/<version>/<name>: Cache-Control: public, max-age=31536000,
//     immutable, where version is the file's ETag hex. Any other version
//     is 404: a page that pinned an old SDK never gets a different one
//     under the URL it pinned. /<name> names its versioned URL in a
//     Link: <...>; rel="canonical" header.
//
// Each file is read, hashed and compressed once per process (sdkAssets,
// from New), never per request: the ETag is "<hex>", the first 16 hex
// digits of the SHA-256 of its bytes, and the body is sent brotli or gzip
// compressed when Accept-Encoding allows (Vary: Accept-Encoding). A
// compressed body is another representation, so its strong ETag gets a
// suffix ("<hex>-br", "<hex>-gzip"); If-None-Match with any of the three
// answers 304.

// sdkFiles are the embedded files served as the SDK, with their types.
var sdkFiles = []struct{ name, contentType string }{
	{"p2pcache.js", "text/javascript; charset=utf-8"},
	{"p2pcache-sw.js", "text/javascript; charset=utf-8"},
	{"p2pcache.d.ts", "text/plain; charset=utf-8"},
}

// sdkVersionLen is how many hex digits of the SHA-256 name a version.
const sdkVersionLen = 16

// immutable is the Cache-Control of a versioned SDK URL.
const immutable = "public, max-age=31536000, immutable"

// sdkAsset is one SDK file, read and compressed once.
type sdkAsset struct {
	name, contentType string
	version           string // sdkVersionLen hex digits of its SHA-256
	raw, gzip, br     []byte
}

// path is the file's versioned, immutable URL path.
func (a *sdkAsset) path() string { return "/v/" + a.version + "/" + a.name }

// sdkAssets holds the SDK files of this binary, built once (New calls it
// first, so no page load waits for the compression). A file missing from
// the embedded FS (a build without the bundles) is left out; its routes
// answer 404.
var sdkAssets = sync.OnceValue(func() map[string]*sdkAsset {
	out := make(map[string]*sdkAsset, len(sdkFiles))
	for _, f := range sdkFiles {
		b, err := fs.ReadFile(clientjs.FS, f.name)
		if err != nil {
			continue
		}
		sum := sha256.Sum256(b)
		out[f.name] = &sdkAsset{
			name:        f.name,
			contentType: f.contentType,
			version:     hex.EncodeToString(sum[:])[:sdkVersionLen],
			raw:         b,
			gzip:        compress(b, newGzip),
			br:          compress(b, newBrotli),
		}
	}
	return out
})

// sdkBrotliLevel is brotli's best: it costs a few hundred milliseconds once
// per process, and makes p2pcache.js about 8% smaller than level 9 does
// (at the time of writing: 152.5 KB raw, 41.8 KB gzip -9, 35.2 KB br).
const sdkBrotliLevel = brotli.BestCompression

func newGzip(w io.Writer) io.WriteCloser {
	z, _ := gzip.NewWriterLevel(w, gzip.BestCompression) // a valid level: no error
	return z
}

func newBrotli(w io.Writer) io.WriteCloser { return brotli.NewWriterLevel(w, sdkBrotliLevel) }

// compress returns b compressed by the writer newWriter makes. (Not
// fasthttp's helpers: they start worker goroutines that live forever.)
func compress(b []byte, newWriter func(io.Writer) io.WriteCloser) []byte {
	var buf bytes.Buffer
	w := newWriter(&buf)
	w.Write(b) // writes to a bytes.Buffer do not fail
	w.Close()
	return buf.Bytes()
}

// SDKPath returns the versioned, immutable URL path of an SDK file of this
// binary ("p2pcache.js", "p2pcache-sw.js" or "p2pcache.d.ts"), such as
// /v/3f9a0c1d2e4b5a69/p2pcache.js, for a page to pin; "" if the file is not
// built in.
func SDKPath(name string) string {
	if a := sdkAssets()[name]; a != nil {
		return a.path()
	}
	return ""
}

// serveSDK serves an SDK file at its plain URL (versioned false) or its
// versioned one.
func serveSDK(name string, versioned bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		a := sdkAssets()[name]
		if a == nil {
			return jsonError(c, http.StatusNotFound, name+" is not built into this relay")
		}
		if versioned && c.Params("version") != a.version {
			return jsonError(c, http.StatusNotFound, fmt.Sprintf("this relay serves %s version %s only, at %s", name, a.version, a.path()))
		}
		if versioned {
			c.Set(fiber.HeaderCacheControl, immutable)
		} else {
			c.Set(fiber.HeaderCacheControl, "no-cache")
			c.Set(fiber.HeaderLink, "<"+a.path()+`>; rel="canonical"`)
		}
		c.Vary(fiber.HeaderAcceptEncoding)
		body, encoding := a.raw, ""
		switch preferredEncoding(c.Get(fiber.HeaderAcceptEncoding)) {
		case "br":
			body, encoding = a.br, "br"
		case "gzip":
			body, encoding = a.gzip, "gzip"
		}
		etag := `"` + a.version + `"`
		if encoding != "" {
			etag = `"` + a.version + "-" + encoding + `"`
		}
		c.Set(fiber.HeaderETag, etag)
		if sdkETagMatch(c.Get(fiber.HeaderIfNoneMatch), a.version) {
			return c.SendStatus(http.StatusNotModified)
		}
		if encoding != "" {
			c.Set(fiber.HeaderContentEncoding, encoding)
		}
		c.Set(fiber.HeaderContentType, a.contentType)
		return c.Send(body)
	}
}

// sdkETagMatch reports whether an If-None-Match names version in any of
// its encodings (or is *).
func sdkETagMatch(header, version string) bool {
	for _, v := range []string{"", "-br", "-gzip"} {
		if etagMatch(header, `"`+version+v+`"`) {
			return true
		}
	}
	return false
}

// preferredEncoding picks br, then gzip, else "" (identity) from an
// Accept-Encoding header: a coding is acceptable when listed, or covered by
// *, with a q-value above 0.
func preferredEncoding(accept string) string {
	q := map[string]float64{}
	for _, part := range strings.Split(accept, ",") {
		fields := strings.Split(part, ";")
		coding := strings.ToLower(strings.TrimSpace(fields[0]))
		if coding == "" {
			continue
		}
		weight := 1.0
		for _, param := range fields[1:] {
			k, v, _ := strings.Cut(param, "=")
			if strings.EqualFold(strings.TrimSpace(k), "q") {
				f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				if err != nil || f < 0 || f > 1 {
					f = 0 // a malformed weight: not acceptable
				}
				weight = f
			}
		}
		q[coding] = weight
	}
	best, bestQ := "", 0.0
	for _, coding := range []string{"br", "gzip"} {
		w, ok := q[coding]
		if !ok {
			w, ok = q["*"]
		}
		if ok && w > bestQ {
			best, bestQ = coding, w
		}
	}
	return best
}
