package relay_test

import (
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"go.uber.org/goleak"

	"github.com/p2pcache/p2pcache/cache"
	"github.com/p2pcache/p2pcache/relay/wire"
)

// TestTokenExpiry: a session ends when its token expires (Meta.Expires),
// after a signaling error token_expired that tells the SDK to reconnect with
// a fresh token; a token expired already is refused so at once.
func TestTokenExpiry(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	tr := startRelay(t, map[string][]byte{"a.bin": randomBytes(61, 1000)}, cache.Config{})
	url := "ws" + strings.TrimPrefix(tr.url, "http") + "/ws"

	const ttl = 700 * time.Millisecond
	c, _, err := websocket.DefaultDialer.Dial(url, map[string][]string{"X-Test-Expires-In": {ttl.String()}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	c.SetReadDeadline(start.Add(10 * time.Second))
	var code string
	for {
		typ, b, err := c.ReadMessage()
		if err != nil {
			break
		}
		if typ != websocket.TextMessage {
			if f, err := wire.DecodeFrame(b); err == nil && f.Type == wire.TypePing {
				pong, _ := wire.AppendFrame(nil, &wire.Frame{Type: wire.TypePong, ID: f.ID, Data: f.Data})
				c.WriteMessage(websocket.BinaryMessage, pong)
			}
			continue
		}
		sig, err := wire.ParseSignal(b)
		if err != nil {
			t.Fatal(err)
		}
		if sig.Type == wire.SignalError {
			code = sig.Code
		}
	}
	took := time.Since(start)
	t.Logf("session ended %v after connect, last error code %q", took.Round(time.Millisecond), code)
	if code != "token_expired" {
		t.Errorf("the session ended with error code %q, want token_expired", code)
	}
	if took < ttl-50*time.Millisecond || took > ttl+5*time.Second {
		t.Errorf("the session ended %v after connect, its token %v", took, ttl)
	}
	if n := tr.relay.Stats().Expired; n != 1 {
		t.Errorf("%d sessions counted expired, want 1", n)
	}

	c2, _, err := websocket.DefaultDialer.Dial(url, map[string][]string{"X-Test-Expires-In": {"-1s"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	c2.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, b, err := c2.ReadMessage()
	if err != nil || !strings.Contains(string(b), `"token_expired"`) {
		t.Errorf("an expired token: first message %s, %v; want an error token_expired", b, err)
	}
	if _, _, err := c2.ReadMessage(); err == nil {
		t.Error("an expired token's connection stayed open")
	}
}
