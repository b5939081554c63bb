package edge

import (
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"
)

// TestClientOf: who a request comes from, for a socket peer, the headers it
// sent and the proxies trusted.
func TestClientOf(t *testing.T) {
	trusted := []string{"127.0.0.1/32", "10.0.0.0/8", "fd00::/8"}
	tests := []struct {
		name    string
		peer    string
		trust   []string
		hdr     [][2]string
		want    string // identity
		wantSrc string // client.String()
		host    string // hostOf
	}{
		{"direct", "198.51.100.7:4000", trusted, nil, "198.51.100.7", "198.51.100.7:4000", "relay.example"},
		{"direct spoof ignored", "198.51.100.7:4000", trusted, [][2]string{{"X-Forwarded-For", "203.0.113.1"}, {"Forwarded", "for=203.0.113.2"}, {"X-Forwarded-Host", "evil.example"}}, "198.51.100.7", "198.51.100.7:4000", "relay.example"},
		{"no trust at all", "127.0.0.1:4000", nil, [][2]string{{"X-Forwarded-For", "203.0.113.1"}, {"X-Forwarded-Host", "evil.example"}}, "127.0.0.1", "127.0.0.1:4000", "relay.example"},
		{"one proxy", "127.0.0.1:4000", trusted, [][2]string{{"X-Forwarded-For", "203.0.113.1"}}, "203.0.113.1", "203.0.113.1 via 127.0.0.1:4000", "relay.example"},
		{"client forged the left", "127.0.0.1:4000", trusted, [][2]string{{"X-Forwarded-For", "192.0.2.66, 203.0.113.1"}}, "203.0.113.1", "", ""},
		{"two proxies", "127.0.0.1:4000", trusted, [][2]string{{"X-Forwarded-For", "192.0.2.66, 203.0.113.1, 10.1.2.3"}}, "203.0.113.1", "", ""},
		{"headers repeated", "127.0.0.1:4000", trusted, [][2]string{{"X-Forwarded-For", "192.0.2.66"}, {"X-Forwarded-For", "203.0.113.1, 10.1.2.3"}}, "203.0.113.1", "", ""},
		{"all trusted", "127.0.0.1:4000", trusted, [][2]string{{"X-Forwarded-For", "10.9.9.9, 10.1.2.3"}}, "10.9.9.9", "", ""},
		{"garbage hop", "127.0.0.1:4000", trusted, [][2]string{{"X-Forwarded-For", "203.0.113.1, unknown, 10.1.2.3"}}, "10.1.2.3", "", ""},
		{"garbage nearest", "127.0.0.1:4000", trusted, [][2]string{{"X-Forwarded-For", "203.0.113.1, garbage"}}, "127.0.0.1", "", ""},
		{"empty header", "127.0.0.1:4000", trusted, [][2]string{{"X-Forwarded-For", ""}}, "127.0.0.1", "", ""},
		{"port and brackets", "127.0.0.1:4000", trusted, [][2]string{{"X-Forwarded-For", "[2001:db8:1:2::5]:443"}}, "2001:db8:1:2::/64", "", ""},
		{"ipv4 with port", "127.0.0.1:4000", trusted, [][2]string{{"X-Forwarded-For", "203.0.113.1:5555"}}, "203.0.113.1", "", ""},
		{"mapped", "127.0.0.1:4000", trusted, [][2]string{{"X-Forwarded-For", "::ffff:203.0.113.1"}}, "203.0.113.1", "", ""},
		{"ipv6 /64", "127.0.0.1:4000", trusted, [][2]string{{"X-Forwarded-For", "2001:db8:1:2:aaaa::1"}}, "2001:db8:1:2::/64", "", ""},
		{"forwarded", "127.0.0.1:4000", trusted, [][2]string{{"Forwarded", `for=192.0.2.66, for="[2001:db8::9]:80";proto=https;by=10.0.0.1, for=10.1.2.3`}}, "2001:db8::/64", "", ""},
		{"forwarded case and spaces", "127.0.0.1:4000", trusted, [][2]string{{"Forwarded", `For = 203.0.113.4 ; Proto=http`}}, "203.0.113.4", "", ""},
		{"forwarded unknown", "127.0.0.1:4000", trusted, [][2]string{{"Forwarded", `for=203.0.113.4, for=unknown`}}, "127.0.0.1", "", ""},
		{"forwarded obfuscated", "127.0.0.1:4000", trusted, [][2]string{{"Forwarded", `for=_hidden;by=_proxy`}}, "127.0.0.1", "", ""},
		{"forwarded quoted comma", "127.0.0.1:4000", trusted, [][2]string{{"Forwarded", `for=203.0.113.4;x="a,b;c", for=10.1.2.3`}}, "203.0.113.4", "", ""},
		{"x-forwarded-for wins", "127.0.0.1:4000", trusted, [][2]string{{"Forwarded", "for=192.0.2.66"}, {"X-Forwarded-For", "203.0.113.1"}}, "203.0.113.1", "", ""},
		{"trusted host", "127.0.0.1:4000", trusted, [][2]string{{"X-Forwarded-Host", "a.example, cdn.example"}}, "127.0.0.1", "", "cdn.example"},
		{"forwarded host", "127.0.0.1:4000", trusted, [][2]string{{"Forwarded", `for=203.0.113.4;host=a.example, for=10.0.0.2;host="site.example:8443"`}}, "203.0.113.4", "", "site.example:8443"},
		{"ipv6 peer", "[fd00::1]:4000", trusted, [][2]string{{"X-Forwarded-For", "203.0.113.1"}}, "203.0.113.1", "203.0.113.1 via [fd00::1]:4000", ""},
		{"ipv6 peer untrusted", "[2001:db8:5:6::1]:4000", trusted, [][2]string{{"X-Forwarded-For", "203.0.113.1"}}, "2001:db8:5:6::/64", "[2001:db8:5:6::1]:4000", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ranges proxyRanges
			for _, r := range tt.trust {
				ranges = append(ranges, netip.MustParsePrefix(r))
			}
			e := &Edge{proxies: ranges}
			app := fiber.New()
			fctx := new(fasthttp.RequestCtx)
			var req fasthttp.Request
			req.SetRequestURI("/ws")
			req.Header.SetHost("relay.example")
			for _, h := range tt.hdr {
				req.Header.Add(h[0], h[1])
			}
			fctx.Init(&req, net.TCPAddrFromAddrPort(netip.MustParseAddrPort(tt.peer)), nil)
			c := app.AcquireCtx(fctx)
			defer app.ReleaseCtx(c)
			cl := e.clientOf(c)
			if got := cl.identity(); got != tt.want {
				t.Errorf("identity %q, want %q", got, tt.want)
			}
			if tt.wantSrc != "" && cl.String() != tt.wantSrc {
				t.Errorf("client %q, want %q", cl.String(), tt.wantSrc)
			}
			if tt.host != "" {
				if got := e.hostOf(c, cl); got != tt.host {
					t.Errorf("host %q, want %q", got, tt.host)
				}
			}
		})
	}
}

// FuzzForwardedHeaders: the header parsers take anything without
// panicking, and the client found is the socket peer or one of the hops.
func FuzzForwardedHeaders(f *testing.F) {
	for _, s := range []string{
		"203.0.113.1", "192.0.2.66, 203.0.113.1, 10.1.2.3", "[2001:db8::1]:80", "unknown, ,",
		`for=192.0.2.66, for="[2001:db8::9]:80";proto=https`, `for="\"x\\";host="a,b"`, `"`, `for=`, "::ffff:1.2.3.4%eth0",
	} {
		f.Add(s)
	}
	trusted := proxyRanges{netip.MustParsePrefix("10.0.0.0/8")}
	peer := netip.MustParseAddr("10.0.0.1")
	f.Fuzz(func(t *testing.T, s string) {
		for _, hops := range [][]netip.Addr{parseXForwardedFor([][]byte{[]byte(s)}), first(parseForwarded([][]byte{[]byte(s), []byte(s)}))} {
			got := rightmostUntrusted(hops, peer, trusted)
			if !got.IsValid() {
				t.Fatalf("%q: an invalid client", s)
			}
			found := got == peer
			for _, h := range hops {
				found = found || h == got
			}
			if !found {
				t.Fatalf("%q: client %v is neither the peer nor a hop %v", s, got, hops)
			}
		}
		if strings.Count(s, ",") < 1000 && len(splitQuoted(s, ',')) > strings.Count(s, ",")+1 {
			t.Fatalf("%q: more parts than separators", s)
		}
	})
}

func first[T, U any](a T, _ U) T { return a }
