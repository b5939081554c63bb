package edge

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/p2pcache/p2pcache/relay"
)

// accessLog is the access log (Config.AccessLog): one Info line "access"
// per request and WebSocket upgrade, after the handler, with the method,
// the path (never the query: it may hold an access token), the status, the
// body bytes sent, the handler's duration (a streamed body is still being
// written then; an upgraded WebSocket lives on, in the relay's logs), the
// client as the edge sees it (clientOf: "addr via proxy" when a trusted
// proxy forwarded it), and the peer identity of an upgrade (a token's
// subject, else the address).
//
// It runs the app's error handler itself, as Fiber's logger middleware
// does, so that the line has the status the client gets.
func (e *Edge) accessLog(c *fiber.Ctx) error {
	start := time.Now()
	nextHandled(c)
	resp := c.Response()
	var n int64
	switch {
	case c.Method() == fiber.MethodHead:
	case resp.IsBodyStream():
		n = max(0, int64(resp.Header.ContentLength())) // reading the stream here would consume it
	default:
		n = int64(len(resp.Body()))
	}
	attrs := []slog.Attr{
		slog.String("method", c.Method()),
		slog.String("path", c.Path()),
		slog.Int("status", resp.StatusCode()),
		slog.Int64("bytes", n),
		slog.Duration("dur", time.Since(start)),
		slog.String("client", e.clientOf(c).String()),
	}
	if meta, ok := c.Locals("meta").(relay.Meta); ok && meta.Identity != "" {
		attrs = append(attrs, slog.String("identity", meta.Identity))
	}
	e.cfg.Logger.LogAttrs(context.Background(), slog.LevelInfo, "access", attrs...)
	return nil
}

// nextHandled runs the rest of the chain and, if it fails, the app's error
// handler (a 500 if that fails too), as Fiber's logger middleware does: a
// middleware that reads the response afterwards then sees the status the
// client gets. The error is handled here, so the caller returns nil.
func nextHandled(c *fiber.Ctx) {
	if err := c.Next(); err != nil {
		if herr := c.App().Config().ErrorHandler(c, err); herr != nil {
			c.Status(http.StatusInternalServerError)
		}
	}
}
