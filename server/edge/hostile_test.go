package edge_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/p2pcache/p2pcache/relay/peer"
	"github.com/p2pcache/p2pcache/relay/wire"
	"github.com/p2pcache/p2pcache/server/edge"
)

const testSecret = "0123456789abcdef0123456789abcdef-test"

// hostileRelay is a relay under attack: an HTTP origin whose every request is
// counted, a secret next to the origin that must never leak, and an "evil"
// host that must never be contacted.
type hostileRelay struct {
	base, ice  string
	body       []byte // /img/a.bin at the origin
	evilHits   *atomic.Int64
	originHits *atomic.Int64
}

func startHostile(t *testing.T, opts ...func(*setup)) *hostileRelay {
	t.Helper()
	h := &hostileRelay{evilHits: new(atomic.Int64), originHits: new(atomic.Int64)}
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.evilHits.Add(1)
		w.Write([]byte("EVIL"))
	}))
	t.Cleanup(evil.Close)
	root := t.TempDir()
	pub := filepath.Join(root, "public")
	os.MkdirAll(filepath.Join(pub, "img"), 0o755)
	h.body = bytes.Repeat([]byte("p2pcache-hostile-"), 8000) // 136 KB, 3 chunks
	os.WriteFile(filepath.Join(pub, "img", "a.bin"), h.body, 0o644)
	os.MkdirAll(filepath.Join(pub, "img-private"), 0o755)
	os.WriteFile(filepath.Join(pub, "img-private", "b.bin"), []byte("PRIVATE-NEIGHBOUR"), 0o644)
	os.WriteFile(filepath.Join(pub, "img", "x.svg"), []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.domain)</script></svg>`), 0o644)
	os.WriteFile(filepath.Join(pub, "img", "p.png"), []byte("\x89PNG\r\n\x1a\n not really"), 0o644)
	os.WriteFile(filepath.Join(pub, "page"), []byte("<!doctype html><html><script>alert(document.cookie)</script></html>"), 0o644)
	os.WriteFile(filepath.Join(root, "secret.txt"), []byte("TOP-SECRET"), 0o644)
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.originHits.Add(1)
		if strings.Contains(r.URL.Path, "redirect") {
			http.Redirect(w, r, evil.URL+"/x", http.StatusFound)
			return
		}
		http.FileServer(http.Dir(pub)).ServeHTTP(w, r)
	}))
	t.Cleanup(origin.Close)
	h.base, h.ice = startServerAddrs(t, origin.URL, append([]func(*setup){authSecret(testSecret)}, opts...)...)
	return h
}

// token mints a token valid for ttl (negative: already expired).
func token(t *testing.T, secret string, ttl time.Duration, paths ...string) string {
	t.Helper()
	tok, err := edge.MintToken(secret, "", paths, ttl)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// stillServes proves the relay still serves a normal, authorized peer over
// WebRTC and plain HTTP.
func (h *hostileRelay) stillServes(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	p, err := peer.Dial(ctx, h.base+"/ws", peer.Options{Token: token(t, testSecret, time.Minute)})
	if err != nil {
		t.Fatalf("normal peer refused afterwards: %v", err)
	}
	defer p.Close()
	b, err := p.Fetch(ctx, "/img/a.bin")
	if err != nil || !bytes.Equal(b, h.body) {
		t.Fatalf("normal peer fetch afterwards: %d bytes, %v", len(b), err)
	}
	resp, body := get(t, h.base+"/files/img/a.bin", map[string]string{"Authorization": "Bearer " + token(t, testSecret, time.Minute)})
	if resp.StatusCode != 200 || !bytes.Equal(body, h.body) {
		t.Fatalf("normal HTTP fetch afterwards: %d, %d bytes", resp.StatusCode, len(body))
	}
}

// wsDial opens a raw signaling WebSocket.
func wsDial(base, query string, hdr http.Header) (*websocket.Conn, *http.Response, error) {
	u := "ws" + strings.TrimPrefix(base, "http") + "/ws"
	if query != "" {
		u += "?" + query
	}
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	return d.Dial(u, hdr)
}

// mustWS opens a signaling WebSocket with token, closed when t ends.
func mustWS(t *testing.T, base, token string) *websocket.Conn {
	t.Helper()
	c, _, err := wsDial(base, "access_token="+token, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// readUntilClosed reads and discards messages until the connection ends (or
// 10 s pass) and returns the error that ended it.
func readUntilClosed(c *websocket.Conn) error {
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		if _, _, err := c.ReadMessage(); err != nil {
			return err
		}
	}
}

// readSignals reads text messages until one of type typ arrives whose
// message contains substr, or the connection ends.
func readSignal(t *testing.T, c *websocket.Conn, typ, substr string) (*wire.Signal, error) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		mt, b, err := c.ReadMessage()
		if err != nil {
			return nil, err
		}
		if mt != websocket.TextMessage {
			continue
		}
		var s wire.Signal
		if err := json.Unmarshal(b, &s); err != nil {
			return nil, fmt.Errorf("relay sent bad JSON %q: %w", b, err)
		}
		if s.Type == typ && strings.Contains(s.Message, substr) {
			return &s, nil
		}
	}
}

// TestHostileInputs drives a table of attacks at one running relay; each
// asserts the exact rejection and that a normal peer is served afterwards.
func TestHostileInputs(t *testing.T) {
	defer http.DefaultClient.CloseIdleConnections()
	const perIP = 6
	h := startHostile(t, wsRate(1000), maxPeersPerIP(perIP))
	good := token(t, testSecret, time.Minute)

	// A half-open connection on the ICE-TCP port, started first: the relay
	// must close it by itself (first-STUN timeout) while the rest runs.
	halfOpen, err := net.Dial("tcp", h.ice)
	if err != nil {
		t.Fatal(err)
	}
	defer halfOpen.Close()
	halfOpenStart := time.Now()

	httpCase := func(path string, hdr map[string]string, status int, substr string) func(t *testing.T) {
		return func(t *testing.T) {
			resp, body := get(t, h.base+path, hdr)
			if resp.StatusCode != status {
				t.Fatalf("GET %s: status %d, want %d (body %q)", path, resp.StatusCode, status, body)
			}
			if !strings.Contains(string(body), substr) {
				t.Fatalf("GET %s: body %q, want it to contain %q", path, body, substr)
			}
			for _, leak := range []string{"TOP-SECRET", "EVIL", "root:"} {
				if strings.Contains(string(body), leak) {
					t.Fatalf("GET %s leaked %q", path, leak)
				}
			}
		}
	}
	upgradeCase := func(query string, hdr http.Header, status int, substr string) func(t *testing.T) {
		return func(t *testing.T) {
			c, resp, err := wsDial(h.base, query, hdr)
			if err == nil {
				c.Close()
				t.Fatal("upgrade accepted")
			}
			if resp == nil {
				t.Fatalf("no HTTP answer: %v", err)
			}
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != status || !strings.Contains(string(body), substr) {
				t.Fatalf("upgrade: %d %q, want %d containing %q", resp.StatusCode, body, status, substr)
			}
		}
	}
	headerCase := func(path string, hdr map[string]string, status int, want map[string]string) func(t *testing.T) {
		return func(t *testing.T) {
			resp, body := get(t, h.base+path, hdr)
			if resp.StatusCode != status {
				t.Fatalf("GET %s: status %d, want %d (body %.200q)", path, resp.StatusCode, status, body)
			}
			for k, v := range want {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("GET %s: %s = %q, want %q", path, k, got, v)
				}
			}
		}
	}
	bearer := map[string]string{"Authorization": "Bearer " + good}
	inert := map[string]string{"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox", "Content-Disposition": "attachment"}
	tests := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"foreign Origin", upgradeCase("access_token="+good, http.Header{"Origin": {"https://evil.example"}}, 403, "origin https://evil.example is not allowed")},
		{"ws no token", upgradeCase("", nil, 401, "no token")},
		{"ws expired token", upgradeCase("access_token="+token(t, testSecret, -time.Hour), nil, 401, "token expired")},
		{"ws forged token", upgradeCase("access_token="+token(t, "another-secret-another-secret-xx", time.Minute), nil, 401, "bad token signature")},
		{"ws garbage token", upgradeCase("access_token=not.a.jwt", nil, 401, "invalid token")},
		{"files no token", httpCase("/files/img/a.bin", nil, 401, "no token")},
		{"files expired token", httpCase("/files/img/a.bin", map[string]string{"Authorization": "Bearer " + token(t, testSecret, -time.Hour)}, 401, "token expired")},
		{"files forged token", httpCase("/files/img/a.bin?access_token="+token(t, "another-secret-another-secret-xx", time.Minute), nil, 401, "bad token signature")},
		{"files wrong scope", httpCase("/files/img/a.bin", map[string]string{"Authorization": "Bearer " + token(t, testSecret, time.Minute, "/css/")}, 401, "does not cover img/a.bin")},
		{"manifest basic auth", httpCase("/manifest/img/a.bin", map[string]string{"Authorization": "Basic Zm9vOmJhcg=="}, 401, "Bearer")},
		{"traversal", httpCase("/files/../../secret.txt", bearer, 400, "")},
		{"traversal encoded", httpCase("/files/%2e%2e/%2e%2e/secret.txt", bearer, 400, "")},
		{"traversal encoded slash", httpCase("/files/img%2f..%2f..%2fsecret.txt", bearer, 400, "")},
		{"traversal double encoded", httpCase("/files/%252e%252e/secret.txt", bearer, 400, "percent-escape")},
		{"traversal backslash", httpCase("/files/img\\..\\..\\secret.txt", bearer, 400, "")},
		{"etc passwd", httpCase("/files/../../../../etc/passwd", bearer, 400, "")},
		{"NUL byte", httpCase("/files/img/a.bin%00.png", bearer, 400, "")},
		{"absolute URL", httpCase("/files/http://127.0.0.1:1/x", bearer, 400, "")},
		{"scheme-relative URL", httpCase("/files//evil.example/x", bearer, 404, "")},
		{"manifest absolute URL", httpCase("/manifest/https:%2f%2fevil.example%2fx", bearer, 400, "")},
		{"redirect off origin", httpCase("/files/redirect", bearer, 502, "")},
		{"foreign Origin with X-Forwarded-Host", upgradeCase("access_token="+good, http.Header{"Origin": {"https://evil.example"}, "X-Forwarded-Host": {"evil.example"}}, 403, "origin https://evil.example is not allowed")},
		{"foreign Origin with Forwarded host", upgradeCase("access_token="+good, http.Header{"Origin": {"https://evil.example"}, "Forwarded": {"host=evil.example"}}, 403, "origin https://evil.example is not allowed")},
		{"scope prefix is whole segments", httpCase("/files/img-private/b.bin", map[string]string{"Authorization": "Bearer " + token(t, testSecret, time.Minute, "/img")}, 401, "does not cover img-private/b.bin")},
		{"scope prefix is whole segments over WebRTC", func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			p, err := peer.Dial(ctx, h.base+"/ws", peer.Options{Token: token(t, testSecret, time.Minute, "/img")})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			if b, err := p.Fetch(ctx, "/img-private/b.bin"); err == nil || !strings.Contains(err.Error(), "forbidden") {
				t.Fatalf("a token for /img fetched img-private/b.bin: %q, %v; want forbidden", b, err)
			}
			if b, err := p.Fetch(ctx, "/img/a.bin"); err != nil || !bytes.Equal(b, h.body) {
				t.Fatalf("a token for /img could not fetch img/a.bin: %v", err)
			}
		}},
		{"SVG is inert", headerCase("/files/img/x.svg", bearer, 200, inert)},
		{"extension-less HTML is inert", headerCase("/files/page", bearer, 200, inert)},
		{"HEAD of HTML is inert", func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodHead, h.base+"/files/page", nil)
			req.Header.Set("Authorization", "Bearer "+good)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			for k, v := range inert {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("HEAD: %s = %q, want %q", k, got, v)
				}
			}
		}},
		{"PNG stays inline", headerCase("/files/img/p.png", bearer, 200, map[string]string{"Content-Type": "image/png", "X-Content-Type-Options": "nosniff", "Content-Security-Policy": "", "Content-Disposition": ""})},
		{"manifest is nosniff JSON", headerCase("/manifest/img/a.bin", bearer, 200, map[string]string{"Content-Type": "application/json", "X-Content-Type-Options": "nosniff"})},
		{"refusal is nosniff", headerCase("/files/img/a.bin", nil, 401, map[string]string{"X-Content-Type-Options": "nosniff"})},
		{"spoofed X-Forwarded-For is no new client", func(t *testing.T) {
			// No proxy is trusted: whatever X-Forwarded-For or Forwarded a
			// client sends, its sockets all count against its own address.
			var open []*websocket.Conn
			defer func() {
				for _, c := range open {
					c.Close()
				}
			}()
			// The earlier subtests' sessions end asynchronously: until the
			// last has, one of the address's slots may still be taken (CI
			// saw connection 6 of 6 refused once). A refused connection is
			// retried, under the connect rate limit (10/s), for up to 10 s.
			deadline := time.Now().Add(10 * time.Second)
			for len(open) < perIP {
				i := len(open)
				c, resp, err := wsDial(h.base, "access_token="+good, http.Header{"X-Forwarded-For": {fmt.Sprintf("198.51.100.%d", i+1)}})
				if err == nil {
					open = append(open, c)
					continue
				}
				if resp == nil || resp.StatusCode != http.StatusServiceUnavailable || time.Now().After(deadline) {
					t.Fatalf("connection %d of %d: %v", i+1, perIP, err)
				}
				time.Sleep(150 * time.Millisecond)
			}
			for _, hdr := range []http.Header{
				{"X-Forwarded-For": {"203.0.113.77"}},
				{"Forwarded": {"for=203.0.113.78"}},
				{"X-Real-Ip": {"203.0.113.79"}},
			} {
				upgradeCase("access_token="+good, hdr, 503, "too many connections from this address")(t)
			}
			for _, c := range open {
				c.Close()
			}
			open = nil
			waitAccepted(t, h.base, good) // the slots come back as the sessions end
		}},
		{"token expiry ends the session", func(t *testing.T) {
			// exp was 4 s ago: accepted within the 5 s leeway, and ended
			// when the leeway runs out.
			c := mustWS(t, h.base, token(t, testSecret, -4*time.Second))
			start := time.Now()
			var s *wire.Signal
			var err error
			for s == nil || s.Code != "token_expired" {
				if s, err = readSignal(t, c, wire.SignalError, ""); err != nil {
					t.Fatalf("the session outlived its token: %v after %v", err, time.Since(start).Round(time.Millisecond))
				}
			}
			t.Logf("session ended %v after connect: %s", time.Since(start).Round(time.Millisecond), s.Message)
		}},
		{"oversize WS frame", func(t *testing.T) {
			c := mustWS(t, h.base, good)
			c.WriteMessage(websocket.TextMessage, bytes.Repeat([]byte("x"), 4<<20))
			err := readUntilClosed(c)
			if !websocket.IsCloseError(err, websocket.CloseMessageTooBig) && !isConnGone(err) {
				t.Fatalf("after a 4 MiB frame: %v, want the relay to close the connection", err)
			}
		}},
		{"junk JSON", func(t *testing.T) {
			c := mustWS(t, h.base, good)
			c.WriteMessage(websocket.TextMessage, []byte(`{"type":"offer","sdp":`))
			if _, err := readSignal(t, c, wire.SignalError, "signal"); err != nil {
				t.Fatalf("no error for junk JSON: %v", err)
			}
			// Enough junk gets the peer dropped.
			for range 100 {
				if c.WriteMessage(websocket.TextMessage, []byte("\x00\xff{{{")) != nil {
					break
				}
			}
			err := readUntilClosed(c)
			if !isConnGone(err) && !websocket.IsCloseError(err, websocket.ClosePolicyViolation, websocket.CloseNormalClosure, websocket.CloseProtocolError) {
				t.Fatalf("a peer sending only junk was not dropped: %v", err)
			}
		}},
		{"junk SDP", func(t *testing.T) {
			c := mustWS(t, h.base, good)
			c.WriteMessage(websocket.TextMessage, []byte(`{"v":1,"type":"offer","sdp":"v=0\r\no=garbage\r\nm=nonsense"}`))
			s, err := readSignal(t, c, wire.SignalError, "")
			if err != nil || s.Code != "webrtc_failed" {
				t.Fatalf("junk SDP: %+v, %v; want error webrtc_failed", s, err)
			}
		}},
		{"10000 ICE candidates", func(t *testing.T) {
			c := mustWS(t, h.base, good)
			go func() {
				for i := range 10000 {
					cand := fmt.Sprintf(`{"v":1,"type":"candidate","candidate":{"candidate":"candidate:%d 1 tcp 1 10.%d.%d.%d 9 typ host tcptype active","sdpMid":"0"}}`, i, i>>16&255, i>>8&255, i&255)
					if c.WriteMessage(websocket.TextMessage, []byte(cand)) != nil {
						return
					}
				}
			}()
			if _, err := readSignal(t, c, wire.SignalError, "over 64 candidates"); err != nil {
				t.Fatalf("no limit on candidates: %v", err)
			}
		}},
		{"garbage on ICE port", func(t *testing.T) {
			c, err := net.Dial("tcp", h.ice)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			junk := bytes.Repeat([]byte("GET / HTTP/1.1\r\n\xff\x00"), 4096)
			c.Write(junk)
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			_, err = io.Copy(io.Discard, c)
			if err != nil && !isConnGone(err) {
				t.Fatalf("relay kept a garbage ICE-TCP connection open: %v", err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t)
			h.stillServes(t)
		})
	}
	if n := h.evilHits.Load(); n != 0 {
		t.Errorf("the evil host was contacted %d times", n)
	}

	t.Run("half-open ICE connection", func(t *testing.T) {
		halfOpen.SetReadDeadline(time.Now().Add(15 * time.Second))
		_, err := halfOpen.Read(make([]byte, 1))
		if err == nil || !isConnGone(err) {
			t.Fatalf("half-open connection still open after %v: %v", time.Since(halfOpenStart), err)
		}
		t.Logf("half-open ICE-TCP connection closed by the relay after %v", time.Since(halfOpenStart).Round(100*time.Millisecond))
	})

	t.Run("rejections are counted", func(t *testing.T) {
		_, body := get(t, h.base+"/metrics", nil)
		for _, want := range []string{
			`p2pcache_edge_rejected_total{reason="origin"} 3`,
			`p2pcache_edge_rejected_total{reason="unauthorized"}`,
			`p2pcache_edge_rejected_total{reason="out_of_scope"} 2`,
			`p2pcache_edge_rejected_total{reason="too_many_from_client"}`,
			`p2pcache_rejected_total{reason="bad_signal"}`,
		} {
			if !strings.Contains(string(body), want) {
				t.Errorf("/metrics lacks %s", want)
			}
		}
	})
}

// waitAccepted dials until an upgrade is accepted (for 10 s): slots come
// back once the relay sees their sessions end.
func waitAccepted(t *testing.T, base, token string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, resp, err := wsDial(base, "access_token="+token, nil)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			status := 0
			if resp != nil {
				status = resp.StatusCode
			}
			t.Fatalf("no upgrade accepted in 10 s: %d %v", status, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// isConnGone reports whether err means the far end closed or reset the
// connection (not a timeout of ours).
func isConnGone(err error) bool {
	if err == nil {
		return false
	}
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		return false
	}
	return err == io.EOF || websocket.IsUnexpectedCloseError(err) || websocket.IsCloseError(err, websocket.CloseMessageTooBig, websocket.CloseNormalClosure, websocket.ClosePolicyViolation, websocket.CloseGoingAway) ||
		strings.Contains(err.Error(), "reset by peer") || strings.Contains(err.Error(), "broken pipe") || strings.Contains(err.Error(), "EOF")
}

// TestConnectFlood: 1000 WebSocket connects from one IP are cut off by the
// per-IP rate limit (429; those the bucket lets through past the per-IP
// peer cap of 32 get 503), and the relay serves normally once the bucket
// refills. The bucket refills while the loop runs (10/s), so what gets
// through is bounded by the burst plus the refill over the loop's time: on
// a loaded machine the loop took seconds and a 503 appeared.
func TestConnectFlood(t *testing.T) {
	defer http.DefaultClient.CloseIdleConnections()
	h := startHostile(t) // default WSRate 10, burst 20; MaxPeersPerIP 32
	good := token(t, testSecret, time.Minute)
	var ok, limited, capped, other int
	var open []*websocket.Conn
	start := time.Now()
	for range 1000 {
		c, resp, err := wsDial(h.base, "access_token="+good, nil)
		switch {
		case err == nil:
			ok++
			open = append(open, c)
		case resp != nil && resp.StatusCode == http.StatusTooManyRequests:
			limited++
		case resp != nil && resp.StatusCode == http.StatusServiceUnavailable:
			capped++
		default:
			other++
		}
	}
	elapsed := time.Since(start)
	for _, c := range open {
		c.Close()
	}
	allowed := 20 + int(10*elapsed.Seconds()) + 5 // burst, refill, slack
	t.Logf("1000 connects in %v: %d accepted, %d refused 429, %d refused 503 (peer cap), %d other; the bucket allows ~%d", elapsed.Round(time.Millisecond), ok, limited, capped, other, allowed)
	if other != 0 || ok > 32 || ok+capped > allowed || limited < 1000-allowed {
		t.Fatalf("1000 connects in %v: %d accepted, %d refused 429, %d refused 503, %d other; want at most %d through the bucket (32 accepted), the rest 429", elapsed, ok, limited, capped, other, allowed)
	}
	time.Sleep(300 * time.Millisecond) // the bucket refills at 10/s
	h.stillServes(t)
	_, body := get(t, h.base+"/metrics", nil)
	if want := fmt.Sprintf(`p2pcache_edge_rejected_total{reason="rate_limited"} %d`, limited); !strings.Contains(string(body), want) {
		t.Errorf("/metrics lacks %s", want)
	}
}

// TestFilesFlood: /files and /manifest requests from one client past its
// rate (HTTPRate, burst twice that) are refused with 429 and Retry-After,
// and counted; another client is not affected, and the client is served
// again once its bucket refills.
func TestFilesFlood(t *testing.T) {
	defer http.DefaultClient.CloseIdleConnections()
	h := startHostile(t, httpRate(5), trustProxies("127.0.0.1/32")) // burst 10
	bearer := map[string]string{"Authorization": "Bearer " + token(t, testSecret, time.Minute)}
	var ok, limited int
	retry := ""
	start := time.Now()
	for i := range 100 {
		path := "/files/img/a.bin"
		if i%2 == 1 {
			path = "/manifest/img/a.bin"
		}
		resp, _ := get(t, h.base+path, bearer)
		switch resp.StatusCode {
		case http.StatusOK:
			ok++
		case http.StatusTooManyRequests:
			limited++
			retry = resp.Header.Get("Retry-After")
		default:
			t.Fatalf("GET %s: %d", path, resp.StatusCode)
		}
	}
	elapsed := time.Since(start)
	most := 10 + int(5*elapsed.Seconds()) + 1 // the burst and what refilled meanwhile
	t.Logf("100 requests in %v: %d served, %d refused 429 (Retry-After %q)", elapsed.Round(time.Millisecond), ok, limited, retry)
	if ok > most || ok+limited != 100 || retry != "1" {
		t.Fatalf("100 requests at HTTPRate 5 in %v: %d served, %d refused 429, Retry-After %q; want ≤ %d served, the rest 429 with Retry-After 1", elapsed, ok, limited, retry, most)
	}
	// Another client (behind the trusted proxy) has a bucket of its own.
	other := map[string]string{"Authorization": bearer["Authorization"], "X-Forwarded-For": "198.51.100.9"}
	if resp, _ := get(t, h.base+"/files/img/a.bin", other); resp.StatusCode != 200 {
		t.Fatalf("another client: %d, want 200", resp.StatusCode)
	}
	_, body := get(t, h.base+"/metrics", nil)
	if want := fmt.Sprintf(`p2pcache_edge_rejected_total{reason="http_rate_limited"} %d`, limited); !strings.Contains(string(body), want) {
		t.Errorf("/metrics lacks %s", want)
	}
	time.Sleep(300 * time.Millisecond) // a token back at 5/s
	h.stillServes(t)
}

// TestHostileDirOrigin: a directory origin does not serve dotfiles (a
// checkout's .git, an .env next to the site) unless told to.
func TestHostileDirOrigin(t *testing.T) {
	defer http.DefaultClient.CloseIdleConnections()
	dir := t.TempDir()
	for name, body := range map[string]string{
		".env": "SECRET=TOP-SECRET", ".git/config": "[remote] url = TOP-SECRET",
		"img/.hidden": "TOP-SECRET", "img/a.txt": "public",
	} {
		os.MkdirAll(filepath.Join(dir, filepath.Dir(name)), 0o755)
		os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644)
	}
	base := startServer(t, dir)
	for _, tc := range []struct {
		path   string
		status int
	}{
		{"/files/.env", 404},
		{"/files/%2eenv", 404},
		{"/files/.git/config", 404},
		{"/manifest/.git/config", 404},
		{"/files/img/.hidden", 404},
		{"/files/img/a.txt", 200},
	} {
		resp, body := get(t, base+tc.path, nil)
		if resp.StatusCode != tc.status || strings.Contains(string(body), "TOP-SECRET") {
			t.Errorf("GET %s: %d %q, want %d and no secret", tc.path, resp.StatusCode, body, tc.status)
		}
	}
}
