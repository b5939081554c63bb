package edge

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
	"github.com/prometheus/client_golang/prometheus"

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
	case errors.Is(err, cache.ErrMemoryBudget): // before DeadlineExceeded: a wait for memory that timed out wraps both
		return http.StatusServiceUnavailable
	case errors.Is(err, cache.ErrOrigin), errors.Is(err, cache.ErrStale), errors.Is(err, context.DeadlineExceeded):
		return http.StatusBadGateway
	}
	return http.StatusInternalServerError
}

// cacheError answers a cache error with its status; a 503 (the memory
// budget) says when to retry.
func cacheError(c *fiber.Ctx, err error) error {
	status := statusFor(err)
	if status == http.StatusServiceUnavailable {
		retryAfter(c, overloadRetry)
	}
	return jsonError(c, status, err.Error())
}

// limitHTTP refuses a client over its request rate (Config.HTTPRate) on
// /files and /manifest with 429 and Retry-After.
func (e *Edge) limitHTTP(c *fiber.Ctx) error {
	if ok, wait := e.httpLimit.allow(e.clientOf(c).identity(), time.Now()); !ok {
		retryAfter(c, wait)
		return e.reject(c, "http_rate_limited", http.StatusTooManyRequests, "too many requests from this address; slow down")
	}
	return c.Next()
}

// jsonError writes {"error": msg, "status": status} with status.
func jsonError(c *fiber.Ctx, status int, msg string) error {
	return c.Status(status).JSON(fiber.Map{"error": msg, "status": status})
}

func (e *Edge) manifestFor(c *fiber.Ctx) (*wire.Manifest, error) {
	p, err := requestPath(c)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), e.cfg.RequestTimeout)
	defer cancel()
	return e.cache.Manifest(ctx, p)
}

// handleManifest serves GET /manifest/<path>.
func (e *Edge) handleManifest(c *fiber.Ctx) error {
	m, err := e.manifestFor(c)
	if err != nil {
		return cacheError(c, err)
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
func (e *Edge) handleFile(c *fiber.Ctx) error {
	m, err := e.manifestFor(c)
	if err != nil {
		return cacheError(c, err)
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
	setContentPolicy(c, m.ContentType)
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
	ctx, cancel := context.WithTimeout(context.Background(), e.cfg.RequestTimeout+time.Minute)
	body := &chunkReader{ctx: ctx, cancel: cancel, c: e.cache, m: m, off: start, end: end, sent: e.httpStats.bytes.WithLabelValues("files")}
	c.Context().SetBodyStream(body, int(end-start))
	return nil
}

// chunkReader reads bytes [off, end) of a file chunk by chunk from the
// cache (which verifies what it fetches). fasthttp reads it after the
// handler returns, to write it, and closes it when done; sent counts what
// it read.
type chunkReader struct {
	ctx      context.Context
	cancel   context.CancelFunc
	c        *cache.Cache
	m        *wire.Manifest
	off, end int64
	cur      []byte
	sent     prometheus.Counter
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
	r.sent.Add(float64(n))
	return n, nil
}

func (r *chunkReader) Close() error {
	r.cancel()
	return nil
}
