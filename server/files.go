package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/p2pcache/p2pcache/cache"
	"github.com/p2pcache/p2pcache/relay/wire"
)

// requestPath takes the path after /files/ or /manifest/, percent-decoded
// once, as the cache names it.
func requestPath(c *fiber.Ctx) (string, error) {
	raw := strings.Clone(c.Params("*")) // fasthttp reuses the request's bytes
	p, err := url.PathUnescape(raw)
	if err != nil {
		return "", fmt.Errorf("%w: %v", cache.ErrBadPath, err)
	}
	return wire.CleanPath(p)
}

// statusFor maps cache errors to HTTP statuses.
func statusFor(err error) int {
	switch {
	case errors.Is(err, cache.ErrBadPath):
		return http.StatusBadRequest
	case errors.Is(err, cache.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, cache.ErrTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, cache.ErrOrigin), errors.Is(err, cache.ErrStale), errors.Is(err, context.DeadlineExceeded):
		return http.StatusBadGateway
	}
	return http.StatusInternalServerError
}

// jsonError writes {"error": msg} with status.
func jsonError(c *fiber.Ctx, status int, msg string) error {
	return c.Status(status).JSON(fiber.Map{"error": msg, "status": status})
}

func (s *relayServer) manifestFor(c *fiber.Ctx) (*wire.Manifest, error) {
	p, err := requestPath(c)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.originTimeout)
	defer cancel()
	return s.cache.Manifest(ctx, p)
}

// handleManifest serves GET /manifest/<path>.
func (s *relayServer) handleManifest(c *fiber.Ctx) error {
	m, err := s.manifestFor(c)
	if err != nil {
		return jsonError(c, statusFor(err), err.Error())
	}
	c.Set(fiber.HeaderETag, m.ETag)
	c.Set(fiber.HeaderCacheControl, "no-cache")
	if etagMatch(c.Get(fiber.HeaderIfNoneMatch), m.ETag) {
		return c.SendStatus(http.StatusNotModified)
	}
	b, err := m.MarshalJSON()
	if err != nil {
		return jsonError(c, http.StatusInternalServerError, "encoding manifest")
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.Send(b)
}

// handleFile serves GET and HEAD /files/<path> from the chunk cache: ETag,
// Last-Modified, conditional requests and a single byte range.
func (s *relayServer) handleFile(c *fiber.Ctx) error {
	m, err := s.manifestFor(c)
	if err != nil {
		return jsonError(c, statusFor(err), err.Error())
	}
	c.Set(fiber.HeaderETag, m.ETag)
	c.Set(fiber.HeaderAcceptRanges, "bytes")
	c.Set(fiber.HeaderCacheControl, "no-cache")
	if !m.LastModified.IsZero() {
		c.Set(fiber.HeaderLastModified, m.LastModified.UTC().Format(http.TimeFormat))
	}
	if etagMatch(c.Get(fiber.HeaderIfNoneMatch), m.ETag) {
		return c.SendStatus(http.StatusNotModified)
	}
	c.Set(fiber.HeaderContentType, m.ContentType)
	start, end := int64(0), m.Size // [start, end)
	status := http.StatusOK
	if rh := c.Get(fiber.HeaderRange); rh != "" && ifRangeHolds(c.Get(fiber.HeaderIfRange), m) {
		a, b, ok, satisfiable := parseRange(rh, m.Size)
		if !satisfiable {
			c.Set(fiber.HeaderContentRange, fmt.Sprintf("bytes */%d", m.Size))
			return jsonError(c, http.StatusRequestedRangeNotSatisfiable, fmt.Sprintf("range %q outside %d bytes", rh, m.Size))
		}
		if ok {
			start, end, status = a, b, http.StatusPartialContent
			c.Set(fiber.HeaderContentRange, fmt.Sprintf("bytes %d-%d/%d", a, b-1, m.Size))
		}
	}
	c.Status(status)
	if c.Method() == fiber.MethodHead {
		c.Set(fiber.HeaderContentLength, strconv.FormatInt(end-start, 10))
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.originTimeout+time.Minute)
	c.Context().SetBodyStream(&chunkReader{ctx: ctx, cancel: cancel, c: s.cache, m: m, off: start, end: end}, int(end-start))
	return nil
}

// chunkReader reads bytes [off, end) of a file chunk by chunk from the
// cache (which verifies what it fetches). fasthttp reads it after the
// handler returns and closes it when done.
type chunkReader struct {
	ctx      context.Context
	cancel   context.CancelFunc
	c        *cache.Cache
	m        *wire.Manifest
	off, end int64
	cur      []byte
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if r.off >= r.end {
		return 0, io.EOF
	}
	if len(r.cur) == 0 {
		i := r.off / int64(r.m.ChunkSize)
		b, _, err := r.c.Chunk(r.ctx, r.m, int(i))
		if err != nil {
			return 0, err
		}
		base := i * int64(r.m.ChunkSize)
		r.cur = b[r.off-base : min(int64(len(b)), r.end-base)]
	}
	n := copy(p, r.cur)
	r.cur = r.cur[n:]
	r.off += int64(n)
	return n, nil
}

func (r *chunkReader) Close() error {
	r.cancel()
	return nil
}

// etagMatch reports whether an If-None-Match header names etag (weak
// comparison, RFC 9110 §13.1.2).
func etagMatch(header, etag string) bool {
	if header == "" {
		return false
	}
	if strings.TrimSpace(header) == "*" {
		return true
	}
	for _, t := range strings.Split(header, ",") {
		if strings.TrimPrefix(strings.TrimSpace(t), "W/") == etag {
			return true
		}
	}
	return false
}

// ifRangeHolds reports whether a Range may be honored under If-Range: with
// no If-Range, or one naming the current strong ETag or a date not before
// Last-Modified.
func ifRangeHolds(ifRange string, m *wire.Manifest) bool {
	if ifRange == "" {
		return true
	}
	if strings.HasPrefix(ifRange, `"`) {
		return ifRange == m.ETag
	}
	t, err := http.ParseTime(ifRange)
	return err == nil && !m.LastModified.IsZero() && !m.LastModified.After(t)
}

// parseRange parses a single "bytes=" range against size into [start, end).
// ok is false for a header to ignore (multiple ranges, another unit, bad
// syntax: the whole file is sent, as RFC 9110 allows); satisfiable is false
// for a range that lies outside the file (416).
func parseRange(h string, size int64) (start, end int64, ok, satisfiable bool) {
	spec, found := strings.CutPrefix(h, "bytes=")
	if !found || strings.Contains(spec, ",") {
		return 0, 0, false, true
	}
	a, b, found := strings.Cut(strings.TrimSpace(spec), "-")
	if !found {
		return 0, 0, false, true
	}
	if a == "" { // suffix: the last b bytes
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n < 0 {
			return 0, 0, false, true
		}
		if n == 0 || size == 0 {
			return 0, 0, false, false
		}
		return max(0, size-n), size, true, true
	}
	first, err := strconv.ParseInt(a, 10, 64)
	if err != nil || first < 0 {
		return 0, 0, false, true
	}
	if first >= size {
		return 0, 0, false, false
	}
	last := size - 1
	if b != "" {
		if last, err = strconv.ParseInt(b, 10, 64); err != nil || last < first {
			return 0, 0, false, true
		}
		last = min(last, size-1)
	}
	return first, last + 1, true, true
}
