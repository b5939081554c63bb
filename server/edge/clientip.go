package edge

import (
	"net/netip"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/p2pcache/p2pcache/relay"
)

// Who a request comes from. The edge keys its per-client limits (WebSocket
// connects, concurrent peers, HTTP requests) and, without a token subject,
// the relay's bans by the client's address, IPv6 grouped by /64
// (relay.IdentityOf). That is the socket peer's address unless the peer is
// a trusted proxy (Config.TrustedProxies): X-Forwarded-For, Forwarded and
// X-Forwarded-Host are anyone's to write, so from anyone else they are
// ignored.
//
// From a trusted proxy the client is the right-most address of
// X-Forwarded-For that is not itself a trusted proxy: each proxy appends
// the address it got the request from, so the entries left of the first
// untrusted one are the client's to forge. A request with no
// X-Forwarded-For is read the same way from the for= parameters of
// Forwarded (RFC 7239). An entry that is no address ("unknown", an
// obfuscated identifier, garbage) stops the walk: the client is then the
// trusted hop it reached last (the proxy: its clients share one identity,
// which is safe). If every hop is trusted, the left-most is the client.

// proxyRanges are the trusted proxies' address ranges.
type proxyRanges []netip.Prefix

func (p proxyRanges) trusts(a netip.Addr) bool {
	a = a.Unmap()
	for _, r := range p {
		if r.Contains(a) {
			return true
		}
	}
	return false
}

// client is who sent a request, as far as the edge can tell.
type client struct {
	addr    netip.Addr // the client: forwarded by a trusted proxy, else the socket peer
	peer    string     // the socket peer, host:port
	trusted bool       // the socket peer is a trusted proxy
}

// identity keys the client's limits and, without a token subject, its bans.
func (c client) identity() string { return relay.IdentityOf(c.addr) }

// String is the client for logs: "203.0.113.9 via 10.0.0.2:41234" when a
// trusted proxy forwarded it, else the socket peer.
func (c client) String() string {
	if c.trusted {
		return c.addr.String() + " via " + c.peer
	}
	return c.peer
}

// clientOf tells who sent the request.
func (e *Edge) clientOf(c *fiber.Ctx) client {
	ctx := c.Context()
	peer, _ := netip.AddrFromSlice(ctx.RemoteIP())
	cl := client{addr: peer.Unmap(), peer: ctx.RemoteAddr().String()}
	if !e.proxies.trusts(cl.addr) {
		return cl
	}
	cl.trusted = true
	h := &ctx.Request.Header
	var hops []netip.Addr
	if xff := h.PeekAll(fiber.HeaderXForwardedFor); len(xff) > 0 {
		hops = parseXForwardedFor(xff)
	} else if fwd := h.PeekAll("Forwarded"); len(fwd) > 0 {
		hops, _ = parseForwarded(fwd)
	}
	cl.addr = rightmostUntrusted(hops, cl.addr, e.proxies)
	return cl
}

// hostOf is the host the client asked for, to compare with its Origin: the
// Host header; from a trusted proxy, the right-most X-Forwarded-Host (or,
// without one, the host= of Forwarded's last element) when it set one.
func (e *Edge) hostOf(c *fiber.Ctx, cl client) string {
	if cl.trusted {
		h := &c.Context().Request.Header
		if xfh := h.PeekAll(fiber.HeaderXForwardedHost); len(xfh) > 0 {
			vals := strings.Split(string(xfh[len(xfh)-1]), ",")
			if v := strings.TrimSpace(vals[len(vals)-1]); v != "" {
				return v
			}
		} else if fwd := h.PeekAll("Forwarded"); len(fwd) > 0 {
			if _, host := parseForwarded(fwd); host != "" {
				return host
			}
		}
	}
	return string(c.Context().Host())
}

// rightmostUntrusted walks hops from the right (the nearest) past the
// trusted proxies and returns the first hop that is not one. An invalid hop
// stops the walk at the last trusted address seen; start is the socket
// peer, itself trusted.
func rightmostUntrusted(hops []netip.Addr, start netip.Addr, trusted proxyRanges) netip.Addr {
	last := start
	for i := len(hops) - 1; i >= 0; i-- {
		h := hops[i]
		if !h.IsValid() {
			return last
		}
		if !trusted.trusts(h) {
			return h
		}
		last = h
	}
	return last
}

// parseXForwardedFor reads X-Forwarded-For values (all the headers, in
// order) into hops, left (the farthest) to right; an entry that is not an
// address is an invalid hop.
func parseXForwardedFor(values [][]byte) []netip.Addr {
	var hops []netip.Addr
	for _, v := range values {
		for _, e := range strings.Split(string(v), ",") {
			hops = append(hops, parseHop(strings.TrimSpace(e)))
		}
	}
	return hops
}

// parseForwarded reads Forwarded values (RFC 7239 §4: elements separated
// by commas, each pairs separated by semicolons, values tokens or quoted
// strings) into the for= hops, left to right (an element without a usable
// for= is an invalid hop), and the host= of the last element.
func parseForwarded(values [][]byte) (hops []netip.Addr, host string) {
	for _, v := range values {
		for _, elem := range splitQuoted(string(v), ',') {
			hop := netip.Addr{}
			host = ""
			for _, pair := range splitQuoted(elem, ';') {
				k, val, ok := strings.Cut(pair, "=")
				if !ok {
					continue
				}
				switch strings.ToLower(strings.TrimSpace(k)) {
				case "for":
					hop = parseHop(unquote(strings.TrimSpace(val)))
				case "host":
					host = unquote(strings.TrimSpace(val))
				}
			}
			hops = append(hops, hop)
		}
	}
	return hops, host
}

// parseHop reads one hop: an IP address, with or without a port, an IPv6
// one possibly in brackets. Anything else is the zero (invalid) Addr.
func parseHop(s string) netip.Addr {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap()
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap()
	}
	if inner, ok := strings.CutPrefix(s, "["); ok {
		if inner, _, ok = strings.Cut(inner, "]"); ok {
			if a, err := netip.ParseAddr(inner); err == nil && a.Is6() {
				return a
			}
		}
	}
	return netip.Addr{}
}

// splitQuoted splits s at sep outside double-quoted strings (in which a
// backslash escapes the next byte).
func splitQuoted(s string, sep byte) []string {
	var parts []string
	start, quoted := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case !quoted && c == sep:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}

// unquote reads a token or a quoted string (RFC 9110 §5.6.4).
func unquote(s string) string {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return s
	}
	var b strings.Builder
	for i := 1; i < len(s)-1; i++ {
		if s[i] == '\\' && i+1 < len(s)-1 {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
