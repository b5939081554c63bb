package edge_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/p2pcache/p2pcache/relay/peer"
	"github.com/p2pcache/p2pcache/relay/wire"
	"github.com/p2pcache/p2pcache/server/demo"
)

func TestFilesEndpoint(t *testing.T) {
	defer http.DefaultClient.CloseIdleConnections()
	dir := t.TempDir()
	body := make([]byte, 200_000)
	for i := range body {
		body[i] = byte(i * 7)
	}
	os.MkdirAll(filepath.Join(dir, "img"), 0o755)
	os.WriteFile(filepath.Join(dir, "img", "a b.png"), body, 0o644)
	base := startServer(t, dir, chunkSize(16<<10))
	wantETag := `"` + wire.Sum(body).String() + `"`

	tests := []struct {
		name       string
		path       string
		hdr        map[string]string
		status     int
		want       []byte // nil: don't compare
		header     map[string]string
		bodySubstr string
	}{
		{name: "whole", path: "/files/img/a%20b.png", hdr: map[string]string{"Origin": "https://site.example"}, status: 200, want: body,
			header: map[string]string{"Content-Type": "image/png", "Etag": wantETag, "Content-Length": "200000", "Accept-Ranges": "bytes", "Access-Control-Allow-Origin": "*"}},
		{name: "range across chunks", path: "/files/img/a%20b.png", hdr: map[string]string{"Range": "bytes=16000-40000"}, status: 206, want: body[16000:40001],
			header: map[string]string{"Content-Range": "bytes 16000-40000/200000", "Content-Length": "24001"}},
		{name: "open range", path: "/files/img/a%20b.png", hdr: map[string]string{"Range": "bytes=199990-"}, status: 206, want: body[199990:]},
		{name: "suffix range", path: "/files/img/a%20b.png", hdr: map[string]string{"Range": "bytes=-10"}, status: 206, want: body[len(body)-10:]},
		{name: "range past end", path: "/files/img/a%20b.png", hdr: map[string]string{"Range": "bytes=300000-"}, status: 416,
			header: map[string]string{"Content-Range": "bytes */200000"}},
		{name: "multi range ignored", path: "/files/img/a%20b.png", hdr: map[string]string{"Range": "bytes=0-1,5-6"}, status: 200, want: body},
		{name: "if-range mismatch", path: "/files/img/a%20b.png", hdr: map[string]string{"Range": "bytes=0-9", "If-Range": `"other"`}, status: 200, want: body},
		{name: "if-range match", path: "/files/img/a%20b.png", hdr: map[string]string{"Range": "bytes=0-9", "If-Range": wantETag}, status: 206, want: body[:10]},
		{name: "not modified", path: "/files/img/a%20b.png", hdr: map[string]string{"If-None-Match": wantETag}, status: 304},
		{name: "missing", path: "/files/img/nope.png", status: 404, bodySubstr: `"error":"not found: img/nope.png"`},
		{name: "traversal", path: "/files/img/../../etc/passwd", status: 400, bodySubstr: "bad path"},
		{name: "encoded traversal", path: "/files/img/%2e%2e/%2e%2e/etc/passwd", status: 400, bodySubstr: "bad path"},
		{name: "double encoded", path: "/files/img/%252e%252e/x", status: 400, bodySubstr: "percent-escape"},
		{name: "absolute url", path: "/files/http://evil.example/x", status: 400, bodySubstr: "bad path"},
		{name: "manifest", path: "/manifest/img/a%20b.png", status: 200, bodySubstr: `"chunkSize":16384`},
		{name: "unknown endpoint", path: "/nope", status: 404, bodySubstr: "no such endpoint"},
		{name: "ws without upgrade", path: "/ws", status: 426},
		{name: "healthz", path: "/healthz", status: 200, bodySubstr: `"status":"ok"`},
		{name: "metrics", path: "/metrics", status: 200, bodySubstr: `p2pcache_origin_fetches_total 1`},
		{name: "metrics runtime", path: "/metrics", status: 200, bodySubstr: `go_goroutines`},
		{name: "metrics peers", path: "/metrics", status: 200, bodySubstr: `p2pcache_peer_fetches_total{result="hash_mismatch"} 0`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, b := get(t, base+tt.path, tt.hdr)
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d; body %.200s", resp.StatusCode, tt.status, b)
			}
			if tt.want != nil && !bytes.Equal(b, tt.want) {
				t.Errorf("body: %d bytes, want %d (equal=%v)", len(b), len(tt.want), bytes.Equal(b, tt.want))
			}
			for k, v := range tt.header {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			if tt.bodySubstr != "" && !strings.Contains(string(b), tt.bodySubstr) {
				t.Errorf("body %.300s does not contain %s", b, tt.bodySubstr)
			}
		})
	}
	t.Run("manifest matches file", func(t *testing.T) {
		_, b := get(t, base+"/manifest/img/a%20b.png", nil)
		m, err := wire.ParseManifest(b)
		if err != nil {
			t.Fatal(err)
		}
		if m.SHA256 != sha256.Sum256(body) || m.Size != int64(len(body)) || len(m.Chunks) != 13 || m.Path != "img/a b.png" {
			t.Errorf("manifest = %+v", m)
		}
	})
}

func TestWebSocketOrigin(t *testing.T) {
	base := startServer(t, "")
	wsURL := "ws" + strings.TrimPrefix(base, "http") + "/ws"
	tests := []struct {
		origin string
		ok     bool
	}{
		{"", true},
		{"http://localhost:3000", true},
		{"http://127.0.0.1:5173", true},
		{base, true},
		{"https://evil.example", false},
		{"null", false},
	}
	for _, tt := range tests {
		t.Run(tt.origin, func(t *testing.T) {
			h := http.Header{}
			if tt.origin != "" {
				h.Set("Origin", tt.origin)
			}
			c, resp, err := websocket.DefaultDialer.Dial(wsURL, h)
			if tt.ok {
				if err != nil {
					t.Fatalf("dial: %v", err)
				}
				_, hello, err := c.ReadMessage()
				c.Close()
				if err != nil || !strings.Contains(string(hello), `"type":"hello"`) {
					t.Fatalf("first message %s, %v; want hello", hello, err)
				}
				return
			}
			if err == nil {
				c.Close()
				t.Fatal("foreign origin was allowed")
			}
			if resp == nil || resp.StatusCode != http.StatusForbidden {
				t.Fatalf("resp = %v, want 403", resp)
			}
		})
	}
}

// TestDemoLargestImageOverICETCP is what `make run` promises: the built-in
// demo origin serves its largest image to a Go peer over ICE-TCP, verified.
func TestDemoLargestImageOverICETCP(t *testing.T) {
	base := startServer(t, "")
	var largest string
	var size int64
	fs.WalkDir(demo.FS(), "images", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil && info.Size() > size {
				largest, size = p, info.Size()
			}
		}
		return err
	})
	want, err := fs.ReadFile(demo.FS(), largest)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := peer.Dial(ctx, base, peer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	f, err := p.FetchFile(ctx, largest)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(f.Data, want) {
		t.Fatalf("%s: bytes differ", largest)
	}
	pair, err := p.SelectedCandidatePair()
	if err != nil || pair.Local.Protocol.String() != "tcp" {
		t.Fatalf("candidate pair %v, %v; want TCP", pair, err)
	}
	var m wire.Manifest
	_, b := get(t, base+"/manifest/"+largest, nil)
	if err := json.Unmarshal(b, &m); err != nil || m.SHA256 != f.Manifest.SHA256 {
		t.Fatalf("HTTP manifest %+v differs from the peer's (%v)", m.SHA256, err)
	}
	t.Logf("%s: %d bytes in %v (first byte %v), connect %+v", largest, len(f.Data), f.Elapsed, f.FirstByte, p.Timings())
	http.DefaultClient.CloseIdleConnections()
}

// TestFilesConcurrentPaths: many keep-alive clients asking for different
// files at once each get the file they asked for (fasthttp reuses request
// buffers; a path kept past its handler would turn into another request's).
func TestFilesConcurrentPaths(t *testing.T) {
	dir := t.TempDir()
	files := map[string][]byte{}
	for i := range 6 {
		name := fmt.Sprintf("f%d-%s.bin", i, strings.Repeat("x", i*7))
		b := bytes.Repeat([]byte{byte('a' + i)}, 100_000+i*70_000)
		files[name] = b
		os.WriteFile(filepath.Join(dir, name), b, 0o644)
	}
	base := startServer(t, dir, cacheSize(300<<10), httpRate(1e6)) // misses keep the origin busy; 800 requests from one client
	var wg sync.WaitGroup
	var bad atomic.Int64
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
			defer client.CloseIdleConnections()
			names := make([]string, 0, len(files))
			for n := range files {
				names = append(names, n)
			}
			for i := range 100 {
				name := names[(i+w)%len(names)]
				resp, err := client.Get(base + "/files/" + name)
				if err != nil {
					t.Error(err)
					return
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || !bytes.Equal(b, files[name]) {
					bad.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if n := bad.Load(); n > 0 {
		t.Fatalf("%d of 800 responses were not the file asked for", n)
	}
}
