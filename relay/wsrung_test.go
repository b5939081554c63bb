package relay_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"go.uber.org/goleak"

	"github.com/p2pcache/p2pcache/cache"
	"github.com/p2pcache/p2pcache/relay/wire"
)

// TestWebSocketRung fetches a file with wire frames over the signaling
// WebSocket alone, as the SDK does where the ICE port is blocked.
func TestWebSocketRung(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	img := randomBytes(2, 300_001)
	tr := startRelay(t, map[string][]byte{"a/img.webp": img}, cache.Config{ChunkSize: 64 << 10})

	c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(tr.url, "http")+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, hello, err := c.ReadMessage(); err != nil || !strings.Contains(string(hello), `"hello"`) {
		t.Fatalf("hello = %s, %v", hello, err)
	}
	send := func(f *wire.Frame) {
		b, err := wire.AppendFrame(nil, f)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.WriteMessage(websocket.BinaryMessage, b); err != nil {
			t.Fatal(err)
		}
	}
	// next returns the next frame answering id, answering PINGs on the way.
	next := func(id uint32) wire.Frame {
		t.Helper()
		for {
			typ, b, err := c.ReadMessage()
			if err != nil {
				t.Fatal(err)
			}
			if typ != websocket.BinaryMessage {
				t.Fatalf("text message %s during transfer", b)
			}
			f, err := wire.DecodeFrame(b)
			if err != nil {
				t.Fatal(err)
			}
			if f.Type == wire.TypePing {
				send(&wire.Frame{Type: wire.TypePong, ID: f.ID, Data: f.Data})
				continue
			}
			if f.ID != id {
				t.Fatalf("frame for request %d, want %d", f.ID, id)
			}
			f.Data = bytes.Clone(f.Data)
			return f
		}
	}

	send(&wire.Frame{Type: wire.TypeGetFile, ID: 1, Path: "a/img.webp"})
	mf := next(1)
	if mf.Type != wire.TypeManifest || int(mf.Total) != len(mf.Data) {
		t.Fatalf("first answer %s total %d len %d, want one MANIFEST frame", mf.Type, mf.Total, len(mf.Data))
	}
	m, err := wire.ParseManifest(mf.Data)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]byte, m.Size)
	filled := 0
	fragments := make([]int, len(m.Chunks))
	for filled < len(got) {
		f := next(1)
		if f.Type != wire.TypeChunk {
			t.Fatalf("got %s, want CHUNK", f.Type)
		}
		if len(f.Data) > wire.MaxChunkData {
			t.Fatalf("CHUNK frame carries %d bytes, over %d", len(f.Data), wire.MaxChunkData)
		}
		// The manifest build kept every chunk (the cache has room), read
		// from the origin for this first fetch: each fragment of each says
		// the origin.
		if f.Source != wire.SourceOrigin {
			t.Errorf("chunk %d fragment at %d: source %s, want origin", f.Index, f.Offset, f.Source)
		}
		fragments[f.Index]++
		filled += copy(got[m.ChunkOffset(int(f.Index))+int64(f.Offset):], f.Data)
	}
	for i, n := range fragments {
		if want := (m.ChunkLen(i) + wire.MaxChunkData - 1) / wire.MaxChunkData; n != want {
			t.Errorf("chunk %d came in %d fragments, want %d", i, n, want)
		}
	}
	if !bytes.Equal(got, img) {
		t.Fatal("bytes over the WebSocket differ from the origin file")
	}

	// Errors come back as ERROR frames with the request's id.
	for _, tt := range []struct {
		f    wire.Frame
		code wire.ErrorCode
	}{
		{wire.Frame{Type: wire.TypeGetFile, ID: 2, Path: "a/missing.png"}, wire.CodeNotFound},
		{wire.Frame{Type: wire.TypeGetManifest, ID: 3, Path: "a/../../etc/passwd"}, wire.CodeBadPath},
		{wire.Frame{Type: wire.TypeGetChunk, ID: 4, Index: 0, Hash: wire.Sum([]byte("x")), Path: "a/img.webp"}, wire.CodeStale},
		{wire.Frame{Type: wire.TypeGetChunk, ID: 5, Hash: wire.Sum([]byte("x"))}, wire.CodeUnknown},
	} {
		send(&tt.f)
		f := next(tt.f.ID)
		if f.Type != wire.TypeError || f.Code != tt.code {
			t.Errorf("request %d: got %s code %s (%s), want ERROR %s", tt.f.ID, f.Type, f.Code, f.Message, tt.code)
		}
	}
	// A chunk by hash alone, once its manifest is known.
	send(&wire.Frame{Type: wire.TypeGetChunk, ID: 6, Hash: m.Chunks[2]})
	chunk := make([]byte, m.ChunkLen(2))
	for n := 0; n < len(chunk); {
		f := next(6)
		if f.Type != wire.TypeChunk || f.Total != uint32(len(chunk)) || f.Source != wire.SourceRelayCache {
			t.Fatalf("got %s index %d total %d source %s", f.Type, f.Index, f.Total, f.Source)
		}
		n += copy(chunk[f.Offset:], f.Data)
	}
	if wire.Sum(chunk) != m.Chunks[2] {
		t.Fatal("chunk by hash: wrong bytes")
	}
	// Garbage gets an ERROR, and the connection keeps serving.
	if err := c.WriteMessage(websocket.BinaryMessage, []byte{1, 0x7e, 0, 0, 0, 0, 0, 9}); err != nil {
		t.Fatal(err)
	}
	if f := next(9); f.Type != wire.TypeError || f.Code != wire.CodeUnsupported {
		t.Fatalf("unknown type answered with %s %s", f.Type, f.Code)
	}
	if err := c.WriteMessage(websocket.TextMessage, []byte(`{"v":1,"type":"nonsense"}`)); err != nil {
		t.Fatal(err)
	}
	_, b, err := c.ReadMessage()
	if err != nil || !strings.Contains(string(b), `"bad_message"`) {
		t.Fatalf("junk signal answered with %s, %v", b, err)
	}
	c.WriteMessage(websocket.TextMessage, []byte(`{"v":1,"type":"bye"}`))
	if _, _, err := c.ReadMessage(); err == nil {
		t.Fatal("connection still open after bye")
	} else if !errors.Is(err, websocket.ErrCloseSent) && !websocket.IsCloseError(err, websocket.CloseAbnormalClosure) && !strings.Contains(err.Error(), "EOF") && !strings.Contains(err.Error(), "reset") {
		t.Logf("after bye: %v", err)
	}
}
