package edge

import (
	"mime"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// The relay serves bytes it did not write on its own origin: a file that a
// browser would run as a page (HTML, SVG, XML, a PDF with script) could
// read the relay's tokens, open its signaling socket as any visitor, and so
// on. So every response carries X-Content-Type-Options: nosniff (browsers
// take the Content-Type as given, never sniff a page out of a picture), and
// a file whose type is not on the passive allowlist below is sent with
// Content-Security-Policy: sandbox (opened anyway, it runs no script and
// gets a unique origin) and Content-Disposition: attachment (a navigation
// downloads it rather than rendering it). fetch(), <img>, <video> and the
// like ignore both headers, so pages using /files as a resource are not
// affected. SECURITY.md lists the policy.

// passiveTypes are media types a browser displays without running anything
// in the document's origin. Everything else, a type that does not parse and
// any +xml type, is active. (The SDK's list for blob: URLs, client-js
// passive.js, is narrower: a blob: URL carries no nosniff, so it leaves out
// the types a browser would sniff.)
var passiveTypes = map[string]bool{
	"image/png": true, "image/apng": true, "image/jpeg": true, "image/jpg": true, "image/pjpeg": true,
	"image/gif": true, "image/webp": true, "image/avif": true, "image/bmp": true, "image/x-icon": true,
	"image/vnd.microsoft.icon": true, "image/tiff": true, "image/jxl": true, "image/heic": true, "image/heif": true,
	"text/plain": true, "text/css": true, "text/csv": true, "text/vtt": true,
	"application/json": true, "application/octet-stream": true, "application/wasm": true,
	"application/zip": true, "application/gzip": true, "application/x-tar": true, "application/zstd": true,
}

// passivePrefixes are families of passive media types.
var passivePrefixes = []string{"audio/", "video/", "font/"}

// isPassive reports whether contentType is on the passive allowlist.
func isPassive(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil || strings.HasSuffix(mt, "+xml") {
		return false
	}
	if passiveTypes[mt] {
		return true
	}
	for _, p := range passivePrefixes {
		if strings.HasPrefix(mt, p) {
			return true
		}
	}
	return false
}

// noSniff sets X-Content-Type-Options: nosniff on every response.
func noSniff(c *fiber.Ctx) error {
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	return c.Next()
}

// setContentPolicy makes a served file of contentType inert when it is
// active: sandboxed and sent as a download.
func setContentPolicy(c *fiber.Ctx, contentType string) {
	if !isPassive(contentType) {
		c.Set(fiber.HeaderContentSecurityPolicy, "sandbox")
		c.Set(fiber.HeaderContentDisposition, "attachment")
	}
}
