package relay_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/p2pcache/p2pcache/relay/wire"
)

// wsClient is a peer of the WebSocket rung alone, speaking raw frames: for
// tests that need a peer to send what the Go peer never would.
type wsClient struct {
	t *testing.T
	c *websocket.Conn
}

// dialWS connects to tr's signaling WebSocket with header and reads the
// relay's hello.
func dialWS(t *testing.T, tr *testRelay, header http.Header) *wsClient {
	t.Helper()
	c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(tr.url, "http")+"/ws", header)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	if _, hello, err := c.ReadMessage(); err != nil || !strings.Contains(string(hello), `"hello"`) {
		t.Fatalf("hello = %s, %v", hello, err)
	}
	return &wsClient{t: t, c: c}
}

func (w *wsClient) send(f *wire.Frame) {
	w.t.Helper()
	b, err := wire.AppendFrame(nil, f)
	if err != nil {
		w.t.Fatal(err)
	}
	if err := w.c.WriteMessage(websocket.BinaryMessage, b); err != nil {
		w.t.Fatal(err)
	}
}

// next returns the next frame answering id, answering PINGs on the way.
func (w *wsClient) next(id uint32) wire.Frame {
	w.t.Helper()
	for {
		typ, b, err := w.c.ReadMessage()
		if err != nil {
			w.t.Fatal(err)
		}
		if typ != websocket.BinaryMessage {
			continue // signaling: not what these tests wait for
		}
		f, err := wire.DecodeFrame(b)
		if err != nil {
			w.t.Fatal(err)
		}
		if f.Type == wire.TypePing {
			w.send(&wire.Frame{Type: wire.TypePong, ID: f.ID, Data: f.Data})
			continue
		}
		if f.ID != id {
			w.t.Fatalf("frame %s for request %d, want %d", f.Type, f.ID, id)
		}
		f.Data = bytes.Clone(f.Data)
		return f
	}
}

// manifest asks for path's manifest with request id.
func (w *wsClient) manifest(id uint32, path string) *wire.Manifest {
	w.t.Helper()
	w.send(&wire.Frame{Type: wire.TypeGetManifest, ID: id, Path: path})
	var js []byte
	for {
		f := w.next(id)
		if f.Type != wire.TypeManifest {
			w.t.Fatalf("manifest %s: got %s %s %s", path, f.Type, f.Code, f.Message)
		}
		if js == nil {
			js = make([]byte, f.Total)
		}
		copy(js[f.Offset:], f.Data)
		if int(f.Offset)+len(f.Data) == len(js) {
			break
		}
	}
	m, err := wire.ParseManifest(js)
	if err != nil {
		w.t.Fatal(err)
	}
	return m
}

// chunk asks for a chunk with GET_CHUNK and returns its bytes, or the ERROR
// code it was answered with.
func (w *wsClient) chunk(id uint32, path string, index uint32, h wire.Hash) ([]byte, wire.ErrorCode) {
	w.t.Helper()
	w.send(&wire.Frame{Type: wire.TypeGetChunk, ID: id, Path: path, Index: index, Hash: h})
	var b []byte
	got := 0
	for {
		f := w.next(id)
		switch f.Type {
		case wire.TypeError:
			return nil, f.Code
		case wire.TypeChunk:
			if b == nil {
				b = make([]byte, f.Total)
			}
			got += copy(b[f.Offset:], f.Data)
			if got >= len(b) {
				return b, 0
			}
		default:
			w.t.Fatalf("chunk: got %s", f.Type)
		}
	}
}

// have announces every chunk of m held (all), or none.
func (w *wsClient) have(m *wire.Manifest, all bool) {
	w.t.Helper()
	bitmap := make([]byte, (len(m.Chunks)+7)/8)
	if all {
		for i := range m.Chunks {
			bitmap[i/8] |= 1 << (i % 8)
		}
	}
	w.send(&wire.Frame{Type: wire.TypeHave, Hash: m.SHA256, Count: uint32(len(m.Chunks)), Bitmap: bitmap, Path: m.Path})
}
