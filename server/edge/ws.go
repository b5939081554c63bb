package edge

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"

	"github.com/p2pcache/p2pcache/relay"
	"github.com/p2pcache/p2pcache/relay/wire"
)

// overloadRetry is the Retry-After of a 503 for want of memory: a few
// transfers finishing free it.
const overloadRetry = 2 * time.Second

// reject answers status with a JSON error and counts it under reason in
// p2pcache_edge_rejected_total.
func (e *Edge) reject(c *fiber.Ctx, reason string, status int, msg string) error {
	e.rejected.WithLabelValues(reason).Inc()
	return jsonError(c, status, msg)
}

// retryAfter sets Retry-After to d in whole seconds, at least one.
func retryAfter(c *fiber.Ctx, d time.Duration) {
	c.Set(fiber.HeaderRetryAfter, strconv.Itoa(max(1, int((d+time.Second-1)/time.Second))))
}

// upgrade refuses, before any WebRTC state exists, what must not reach the
// relay: a non-WebSocket request, a foreign Origin, a flood from one
// client, a bad token, a banned identity, a peer past the limits (in all,
// per client), a peer the relay's memory budget cannot take. The rest
// upgrade holding a slot (slots.go) and the relay's admission, with their
// relay.Meta in the request's locals.
func (e *Edge) upgrade(c *fiber.Ctx) error {
	if !websocket.IsWebSocketUpgrade(c) {
		return e.reject(c, "not_websocket", http.StatusUpgradeRequired, "GET /ws is a WebSocket endpoint")
	}
	if e.draining.Load() {
		return e.reject(c, "shutting_down", http.StatusServiceUnavailable, "relay is shutting down; try again shortly")
	}
	cl := e.clientOf(c)
	if origin := c.Get(fiber.HeaderOrigin); !e.origins.allowed(origin, e.hostOf(c, cl)) {
		e.cfg.Logger.Info("websocket origin refused", "origin", origin, "client", cl)
		return e.reject(c, "origin", http.StatusForbidden, "origin "+origin+" is not allowed (see --allowed-origins)")
	}
	netID := cl.identity()
	if ok, wait := e.wsLimit.allow(netID, time.Now()); !ok {
		retryAfter(c, wait)
		return e.reject(c, "rate_limited", http.StatusTooManyRequests, "too many WebSocket connects from this address; slow down")
	}
	g := grant{}
	if e.auth != nil {
		var err error
		if g, err = e.auth.verify(c.Query("access_token")); err != nil {
			return e.reject(c, "unauthorized", http.StatusUnauthorized, err.Error())
		}
	}
	identity := g.subject
	if identity == "" {
		identity = netID
	}
	if e.relay.Banned(identity) {
		return e.reject(c, "banned", http.StatusForbidden, "banned for sending bad data; try again later")
	}
	sl, why := e.slots.reserve(netID)
	switch why {
	case slotFull:
		return e.reject(c, "full", http.StatusServiceUnavailable, "relay is full; try again later")
	case slotPerClient:
		return e.reject(c, "too_many_from_client", http.StatusServiceUnavailable, "too many connections from this address (see --max-peers-per-ip)")
	}
	adm, err := e.relay.Admit()
	if err != nil {
		sl.release()
		if errors.Is(err, relay.ErrOverloaded) {
			retryAfter(c, overloadRetry)
			return e.reject(c, "overloaded", http.StatusServiceUnavailable, "relay is out of memory for another peer; try again shortly")
		}
		return e.reject(c, "shutting_down", http.StatusServiceUnavailable, "relay is shutting down; try again shortly")
	}
	sl.hold(adm)
	meta := relay.Meta{Remote: cl.String(), Identity: identity, Admission: adm, Expires: g.expires}
	if len(g.prefixes) > 0 {
		meta.Allow = g.allows
	}
	c.Locals("meta", meta)
	c.Locals("slot", sl)
	err = c.Next()
	if !c.Context().Hijacked() { // no WebSocket: no handler will release it
		sl.release()
	}
	return err
}

// handleWS hands an upgraded WebSocket to the relay for the peer's life.
func (e *Edge) handleWS(c *websocket.Conn) {
	sl, _ := c.Locals("slot").(*slot)
	if sl == nil || !sl.start() { // expired: the peer would be over the limits
		c.Close()
		return
	}
	defer sl.release()
	c.SetReadLimit(wire.MaxSignalSize + wire.MaxMessageSize)
	meta, _ := c.Locals("meta").(relay.Meta)
	if err := e.relay.Accept(context.Background(), c, meta); err != nil {
		e.cfg.Logger.Debug("peer session ended", "remote", meta.Remote, "err", err)
	}
}
