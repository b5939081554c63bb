package peer_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"go.uber.org/goleak"

	"github.com/p2pcache/p2pcache/cache"
	"github.com/p2pcache/p2pcache/relay/peer"
	"github.com/p2pcache/p2pcache/relay/wire"
)

func mustRelay(t *testing.T, files map[string][]byte, cacheBytes int64) *loopRelay {
	t.Helper()
	lr, err := startRelay(files, cacheBytes)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(lr.stop)
	return lr
}

func mustDial(t *testing.T, ctx context.Context, url string, opts peer.Options) *peer.Peer {
	t.Helper()
	p, err := peer.Dial(ctx, url, opts)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// TestFetch: a file, its manifest and single chunks (by path and index, and
// by hash alone) arrive verified and equal to the origin's bytes.
func TestFetch(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) }) // registered first: runs after the relay's cleanup
	img := noise(1, 3*wire.MaxChunkSize+123)
	lr := mustRelay(t, map[string][]byte{"img/a.png": img}, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	p := mustDial(t, ctx, lr.url, peer.Options{PingInterval: 20 * time.Millisecond})
	if !strings.HasPrefix(p.ID(), "p-") {
		t.Errorf("peer id %q", p.ID())
	}
	if tm := p.Timings(); tm.WebSocket <= 0 || tm.Hello < tm.WebSocket || tm.Answer < tm.Hello || tm.DataChannel < tm.Answer {
		t.Errorf("timings out of order: %+v", tm)
	}
	if pair, err := p.SelectedCandidatePair(); err != nil || pair.Remote.Protocol.String() != "tcp" {
		t.Errorf("candidate pair %v, %v; want TCP", pair, err)
	}

	f, err := p.FetchFile(ctx, "/img/a.png")
	if err != nil || !bytes.Equal(f.Data, img) {
		t.Fatalf("FetchFile: %v", err)
	}
	if m := f.Manifest; m.Path != "img/a.png" || m.Size != int64(len(img)) || len(m.Chunks) != 4 || m.SHA256 != wire.Sum(img) {
		t.Errorf("manifest %s: %d bytes, %d chunks", m.Path, m.Size, len(m.Chunks))
	}
	if f.FirstByte <= 0 || f.Elapsed < f.FirstByte {
		t.Errorf("first byte %v, elapsed %v", f.FirstByte, f.Elapsed)
	}
	m, err := p.FetchManifest(ctx, "img/a.png")
	if err != nil || m.SHA256 != f.Manifest.SHA256 {
		t.Fatalf("FetchManifest: %v", err)
	}
	byHash := *m
	byHash.Path = ""
	for _, tt := range []struct {
		name string
		m    *wire.Manifest
		i    int
	}{
		{"by path", m, 1},
		{"last, by path", m, 3},
		{"by hash", &byHash, 2},
	} {
		b, err := p.FetchChunk(ctx, tt.m, tt.i)
		if off := m.ChunkOffset(tt.i); err != nil || !bytes.Equal(b, img[off:off+int64(m.ChunkLen(tt.i))]) {
			t.Errorf("FetchChunk %s, chunk %d: %v", tt.name, tt.i, err)
		}
	}
	if _, err := p.FetchChunk(ctx, m, 4); err == nil {
		t.Error("FetchChunk past the last chunk: no error")
	}
	if p.BytesIn() < uint64(len(img)) || p.BytesReceived() != p.BytesIn() {
		t.Errorf("bytes in %d, received %d; want ≥ %d", p.BytesIn(), p.BytesReceived(), len(img))
	}
	deadline := time.Now().Add(5 * time.Second)
	for p.RTT().Samples == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if rtt := p.RTT(); rtt.Samples == 0 || rtt.SRTT <= 0 {
		t.Errorf("no RTT measured: %+v", rtt)
	}
}

// TestFetchErrors: the relay's ERROR answers come back as wire.RemoteError
// with their code; a bad path is refused before anything is sent.
func TestFetchErrors(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	lr := mustRelay(t, map[string][]byte{"a.txt": []byte("a"), "b.txt": []byte("bb")}, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	p := mustDial(t, ctx, lr.url, peer.Options{})
	var re *wire.RemoteError
	if _, err := p.Fetch(ctx, "missing.txt"); !errors.As(err, &re) || re.Code != wire.CodeNotFound {
		t.Errorf("missing file: %v, want ERROR %s", err, wire.CodeNotFound)
	}
	if _, err := p.FetchManifest(ctx, "../etc/passwd"); !errors.Is(err, wire.ErrBadPath) {
		t.Errorf("bad path: %v, want %v", err, wire.ErrBadPath)
	}
	m := &wire.Manifest{Path: "a.txt", Size: 1, ChunkSize: wire.MaxChunkSize, Chunks: []wire.Hash{wire.Sum([]byte("b"))}}
	if _, err := p.FetchChunk(ctx, m, 0); !errors.As(err, &re) || re.Code != wire.CodeStale {
		t.Errorf("chunk of another version: %v, want ERROR %s", err, wire.CodeStale)
	}
	// MaxFileSize refuses the manifest of a larger file.
	small := mustDial(t, ctx, lr.url, peer.Options{MaxFileSize: 1})
	if _, err := small.Fetch(ctx, "a.txt"); err != nil {
		t.Errorf("1-byte file with MaxFileSize 1: %v", err)
	}
	if _, err := small.Fetch(ctx, "b.txt"); !errors.Is(err, cache.ErrTooLarge) {
		t.Errorf("2-byte file with MaxFileSize 1: %v, want %v", err, cache.ErrTooLarge)
	}
}

// TestServe: a peer that fetched a file serves its chunks to the relay when
// the relay no longer holds them, and another peer gets them verified.
func TestServe(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	img := noise(2, 8*wire.MaxChunkSize)
	lr := mustRelay(t, map[string][]byte{"s.bin": img}, wire.MaxChunkSize) // the relay keeps one chunk
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	holder := mustDial(t, ctx, lr.url, peer.Options{})
	if _, err := holder.Fetch(ctx, "s.bin"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for lr.relay.Stats().HolderIndex < 8 && time.Now().Before(deadline) { // HAVE travels on its own
		time.Sleep(5 * time.Millisecond)
	}
	other := mustDial(t, ctx, lr.url, peer.Options{NoServe: true})
	got, err := other.Fetch(ctx, "s.bin")
	if err != nil || !bytes.Equal(got, img) {
		t.Fatalf("fetch: %v", err)
	}
	fromPeer := lr.relay.Stats().ChunksBySource["peer"]
	if holder.Served() == 0 || holder.Served() != fromPeer || other.Served() != 0 {
		t.Errorf("holder served %d, other %d; relay got %d chunks from peers", holder.Served(), other.Served(), fromPeer)
	}
}

// TestClose: Close ends the connection (the relay sees the peer leave),
// fails what comes after with ErrClosed, and is idempotent.
func TestClose(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	lr := mustRelay(t, map[string][]byte{"a.txt": []byte("a")}, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	p, err := peer.Dial(ctx, lr.url, peer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Err() != nil {
		t.Fatalf("Err while connected: %v", p.Err())
	}
	for i := range 2 {
		if err := p.Close(); err != nil {
			t.Fatalf("Close #%d: %v", i+1, err)
		}
	}
	if !errors.Is(p.Err(), peer.ErrClosed) {
		t.Errorf("Err after Close: %v", p.Err())
	}
	if _, err := p.Fetch(ctx, "a.txt"); !errors.Is(err, peer.ErrClosed) {
		t.Errorf("Fetch after Close: %v, want ErrClosed", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for lr.relay.PeerCount() != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := lr.relay.PeerCount(); n != 0 {
		t.Errorf("relay still has %d peers", n)
	}
}

// TestDialErrors: every way Dial fails is ErrConnect, and leaves nothing
// running.
func TestDialErrors(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedURL := "http://" + closed.Addr().String()
	closed.Close()
	// fake answers the WebSocket with first, then waits for the peer to go.
	fake := func(first string) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			up := websocket.Upgrader{}
			c, err := up.Upgrade(w, r, nil)
			if err != nil {
				return
			}
			defer c.Close()
			c.WriteMessage(websocket.TextMessage, []byte(first))
			c.ReadMessage()
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	tests := []struct {
		name, url, want string
	}{
		{"bad scheme", "ftp://127.0.0.1/", "want http"},
		{"bad URL", "http://[::1", "relay URL"},
		{"nothing listening", closedURL, "websocket"},
		{"not a WebSocket", fake404(t), "404"},
		{"refused", fake(`{"v":1,"type":"error","code":"banned","message":"go away"}`), "banned"},
		{"no hello", fake(`{"v":1,"type":"bye"}`), "want hello"},
		{"junk", fake(`{"v":1,"type":"bye"}}`), "trailing data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			p, err := peer.Dial(ctx, tt.url, peer.Options{})
			if err == nil {
				p.Close()
				t.Fatal("Dial succeeded")
			}
			if !errors.Is(err, peer.ErrConnect) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Dial: %v, want ErrConnect mentioning %q", err, tt.want)
			}
		})
	}
}

func fake404(t *testing.T) string {
	srv := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(srv.Close)
	return srv.URL
}
