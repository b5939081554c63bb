package testcert

import (
	"crypto/tls"
	"net/http"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
)

// WS is a WSS WebSocket to the relay's /ws, open for the rest of a test,
// that a test pings to show the connection is still up (for example
// across a certificate reload).
type WS struct {
	conn   *websocket.Conn
	pongs  chan string
	closed chan error // the read loop's error, once the connection is gone
}

// DialWSS opens a WebSocket to wss://addr/ws with the Origin
// https://addr, trusting any certificate. A reader drains the connection
// so control frames are handled; tb.Cleanup closes the connection and
// waits for the reader.
func DialWSS(tb testing.TB, addr string) *WS {
	tb.Helper()
	d := websocket.Dialer{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, HandshakeTimeout: 5 * time.Second}
	conn, _, err := d.Dial("wss://"+addr+"/ws", http.Header{"Origin": {"https://" + addr}})
	if err != nil {
		tb.Fatal(err)
	}
	w := &WS{conn: conn, pongs: make(chan string, 4), closed: make(chan error, 1)}
	conn.SetPongHandler(func(data string) error { w.pongs <- data; return nil })
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			if _, _, err := conn.ReadMessage(); err != nil {
				w.closed <- err
				return
			}
		}
	}()
	tb.Cleanup(func() {
		conn.Close()
		<-done
	})
	return w
}

// Ping sends a ping carrying data and returns the payload of the pong
// that answers it; it fails the test if the ping cannot be sent, the
// connection closes, or no pong comes within 5s.
func (w *WS) Ping(tb testing.TB, data string) string {
	tb.Helper()
	if err := w.conn.WriteControl(websocket.PingMessage, []byte(data), time.Now().Add(2*time.Second)); err != nil {
		tb.Fatalf("ping %s: %v", data, err)
	}
	select {
	case got := <-w.pongs:
		return got
	case err := <-w.closed:
		tb.Fatalf("the WebSocket closed: %v", err)
	case <-time.After(5 * time.Second):
		tb.Fatalf("no pong for %s", data)
	}
	return ""
}
