package mesh

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/p2pcache/p2pcache/cache"
	"github.com/p2pcache/p2pcache/relay/wire"
)

func TestRequestRoundTrip(t *testing.T) {
	h, f := wire.Sum([]byte("chunk")), wire.Sum([]byte("file"))
	for _, tt := range []struct {
		kind string
		r    request
	}{
		{kindManifest, request{V: 1, From: "r1", Path: "a/b.js"}},
		{kindChunk, request{V: 1, From: "r-2_x", Path: "img/cat.png", File: f, I: 7, Hash: h}},
		{kindChunk, request{V: 1, From: "r3", Path: "x", File: f, I: 0, Hash: h, Peek: true}},
	} {
		b := tt.r.encode()
		if len(b) > 400 {
			t.Errorf("%s request is %d bytes", tt.kind, len(b))
		}
		got, err := decodeRequest(tt.kind, b)
		if err != nil || got != tt.r {
			t.Errorf("decode(%s) = %+v, %v; want %+v", b, got, err, tt.r)
		}
	}
}

func TestRequestRejects(t *testing.T) {
	h := wire.Sum(nil).String()
	for _, tt := range []struct {
		name, kind, json string
	}{
		{"not json", kindManifest, `{`},
		{"version", kindManifest, `{"v":2,"from":"r1","path":"a"}`},
		{"no from", kindManifest, `{"v":1,"path":"a"}`},
		{"from with a dot", kindManifest, `{"v":1,"from":"r.1","path":"a"}`},
		{"unclean path", kindManifest, `{"v":1,"from":"r1","path":"/a"}`},
		{"dot-dot", kindManifest, `{"v":1,"from":"r1","path":"a/../b"}`},
		{"chunk fields in a manifest request", kindManifest, `{"v":1,"from":"r1","path":"a","i":1}`},
		{"chunk without hash", kindChunk, `{"v":1,"from":"r1","path":"a","file":"` + h + `","i":1}`},
		{"chunk without file", kindChunk, `{"v":1,"from":"r1","path":"a","hash":"` + h + `"}`},
		{"negative index", kindChunk, `{"v":1,"from":"r1","path":"a","file":"` + h + `","hash":"` + h + `","i":-1}`},
		{"short hash", kindChunk, `{"v":1,"from":"r1","path":"a","file":"` + h + `","hash":"abcd"}`},
		{"unknown kind", "peek", `{"v":1,"from":"r1","path":"a"}`},
		{"too long", kindManifest, `{"v":1,"from":"r1","path":"` + strings.Repeat("a", maxRequest) + `"}`},
	} {
		if _, err := decodeRequest(tt.kind, []byte(tt.json)); !errors.Is(err, ErrBadMessage) {
			t.Errorf("%s: err %v, want ErrBadMessage", tt.name, err)
		}
	}
}

func TestReplyFrames(t *testing.T) {
	big := bytes.Repeat([]byte{7}, MaxPart)
	for _, tt := range []struct {
		name string
		b    []byte
		kind replyKind
		body []byte
		ok   bool
	}{
		{"ack", encodeReply(replyAck, nil), replyAck, nil, true},
		{"working", encodeReply(replyWorking, nil), replyWorking, nil, true},
		{"a full chunk", encodeReply(replyData, big), replyData, big, true},
		{"part", encodeReply(replyPart, []byte("xy")), replyPart, []byte("xy"), true},
		{"miss", encodeText(replyMiss, "busy"), replyMiss, []byte("busy"), true},
		{"not found", encodeReply(replyNotFound, nil), replyNotFound, nil, true},
		{"error cut to the limit", encodeText(replyError, strings.Repeat("é", maxReason)), replyError, []byte(strings.Repeat("é", maxReason/2)), true},
		{"empty", nil, 0, nil, false},
		{"version 2", []byte{2, byte(replyAck)}, 0, nil, false},
		{"unknown kind", []byte{1, 99}, 0, nil, false},
		{"ack with a body", []byte{1, byte(replyAck), 0}, 0, nil, false},
		{"data over MaxPart", encodeReply(replyData, append(big, 0)), 0, nil, false},
		{"miss not UTF-8", []byte{1, byte(replyMiss), 0xff}, 0, nil, false},
	} {
		k, body, err := decodeReply(tt.b)
		if tt.ok != (err == nil) || (tt.ok && (k != tt.kind || !bytes.Equal(body, tt.body))) {
			t.Errorf("%s: %v %q %v", tt.name, k, body, err)
		}
		if !tt.ok && !errors.Is(err, ErrBadMessage) {
			t.Errorf("%s: err %v, want ErrBadMessage", tt.name, err)
		}
	}
}

func testManifest(t testing.TB, path string, data []byte, cs int) *wire.Manifest {
	t.Helper()
	m := &wire.Manifest{Version: wire.ManifestVersion, Path: path, Size: int64(len(data)), ChunkSize: cs, ContentType: "text/plain", SHA256: wire.Sum(data)}
	m.ETag = wire.ETagFor(m.SHA256)
	for off := 0; off < len(data); off += cs {
		m.Chunks = append(m.Chunks, wire.Sum(data[off:min(off+cs, len(data))]))
	}
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestManifestAnswer(t *testing.T) {
	m := testManifest(t, "docs/a.txt", bytes.Repeat([]byte("abc"), 1000), 256)
	lm := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	in := cache.TierManifest{Manifest: m, Validators: cache.Validators{ETag: `W/"x1"`, LastModified: lm}, MaxAge: 90 * time.Second}
	b, err := encodeManifestAnswer(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := decodeManifestAnswer("docs/a.txt", b)
	if err != nil {
		t.Fatal(err)
	}
	if out.MaxAge != in.MaxAge || out.Validators != in.Validators || out.Manifest.SHA256 != m.SHA256 || !slicesEqual(out.Manifest.Chunks, m.Chunks) {
		t.Errorf("round trip: %+v, want %+v", out, in)
	}
	if _, err := decodeManifestAnswer("docs/b.txt", b); !errors.Is(err, ErrBadMessage) {
		t.Errorf("another path's manifest: %v", err)
	}
	bad := *m
	bad.Chunks = bad.Chunks[1:]
	b2, _ := encodeManifestAnswer(cache.TierManifest{Manifest: &bad})
	if _, err := decodeManifestAnswer("docs/a.txt", b2); !errors.Is(err, ErrBadMessage) || !errors.Is(err, wire.ErrBadManifest) {
		t.Errorf("invalid manifest: %v", err)
	}
	for _, s := range []string{`{"v":1,"maxAgeMs":-1,"manifest":{}}`, `{"v":2}`, `[]`, `{"v":1,"maxAgeMs":1,"manifest":null}`} {
		if _, err := decodeManifestAnswer("docs/a.txt", []byte(s)); !errors.Is(err, ErrBadMessage) {
			t.Errorf("%s: %v", s, err)
		}
	}
}

func slicesEqual(a, b []wire.Hash) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestAnnouncement(t *testing.T) {
	a := announcement{V: 1, ID: "r1", Instance: "abc", State: stateUp, URL: "https://r1.example", Region: "eu", Peers: 3, Egress: 1 << 40, Started: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)}
	b := a.encode()
	if len(b) > 300 {
		t.Errorf("announcement is %d bytes", len(b))
	}
	got, err := decodeAnnouncement(b)
	if err != nil || got != a {
		t.Errorf("round trip: %+v, %v", got, err)
	}
	for _, s := range []string{
		`{"v":2,"id":"r1","instance":"i","state":"up"}`,
		`{"v":1,"id":"r 1","instance":"i","state":"up"}`,
		`{"v":1,"id":"r1","instance":"","state":"up"}`,
		`{"v":1,"id":"r1","instance":"i","state":"gone"}`,
		`{"v":1,"id":"r1","instance":"i","state":"up","peers":-1}`,
		`{"v":1,"id":"r1","instance":"i","state":"up","region":"` + strings.Repeat("x", 65) + `"}`,
		`not json`,
	} {
		if _, err := decodeAnnouncement([]byte(s)); !errors.Is(err, ErrBadMessage) {
			t.Errorf("%s: %v", s, err)
		}
	}
}

func FuzzDecodeRequest(f *testing.F) {
	h := wire.Sum(nil)
	f.Add(kindManifest, (&request{V: 1, From: "r1", Path: "a"}).encode())
	f.Add(kindChunk, (&request{V: 1, From: "r1", Path: "a", File: h, Hash: h, I: 3}).encode())
	f.Fuzz(func(t *testing.T, kind string, b []byte) {
		r, err := decodeRequest(kind, b)
		if err != nil {
			return
		}
		// What decodes re-encodes to a request that decodes the same.
		r2, err := decodeRequest(kind, r.encode())
		if err != nil || r2 != r {
			t.Fatalf("re-decode: %+v, %v; want %+v", r2, err, r)
		}
	})
}

func FuzzDecodeReply(f *testing.F) {
	f.Add(encodeReply(replyData, []byte("abc")))
	f.Add(encodeText(replyMiss, "busy"))
	f.Add([]byte{1, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		k, body, err := decodeReply(b)
		if err != nil {
			return
		}
		if got := encodeReply(k, body); !bytes.Equal(got, b) {
			t.Fatalf("re-encode: %x, want %x", got, b)
		}
	})
}

func FuzzDecodeAnnouncement(f *testing.F) {
	f.Add((&announcement{V: 1, ID: "r1", Instance: "i", State: stateJoin}).encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := decodeAnnouncement(b)
		if err != nil {
			return
		}
		if validID(a.ID) != nil || a.Peers < 0 {
			t.Fatalf("accepted %+v", a)
		}
	})
}

func FuzzDecodeManifestAnswer(f *testing.F) {
	m := &wire.Manifest{Version: 1, Path: "a", Size: 3, ChunkSize: 2, SHA256: wire.Sum([]byte("abc")), Chunks: []wire.Hash{wire.Sum([]byte("ab")), wire.Sum([]byte("c"))}}
	m.ETag = wire.ETagFor(m.SHA256)
	b, _ := encodeManifestAnswer(cache.TierManifest{Manifest: m, MaxAge: time.Second})
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		tm, err := decodeManifestAnswer("a", b)
		if err != nil {
			return
		}
		if tm.Manifest.Validate() != nil || tm.Manifest.Path != "a" || tm.MaxAge < 0 {
			t.Fatalf("accepted %+v", tm)
		}
	})
}
