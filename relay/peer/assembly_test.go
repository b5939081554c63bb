package peer

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/p2pcache/p2pcache/cache"
	"github.com/p2pcache/p2pcache/relay/wire"
)

// testManifest describes data as path, cut into chunks of cs bytes.
func testManifest(path string, data []byte, cs int) *wire.Manifest {
	m := &wire.Manifest{Version: wire.ManifestVersion, Path: path, Size: int64(len(data)), ChunkSize: cs, SHA256: sha256.Sum256(data)}
	m.ETag = wire.ETagFor(m.SHA256)
	for off := 0; off < len(data); off += cs {
		m.Chunks = append(m.Chunks, wire.Sum(data[off:min(off+cs, len(data))]))
	}
	return m
}

// TestAssemblyLyingRelay feeds an assembly what a broken or lying relay
// might send, through the wire encoding as the reader does: nothing
// unverified completes, and the assembly says what was wrong.
func TestAssemblyLyingRelay(t *testing.T) {
	const cs = 100
	data := bytes.Repeat([]byte("0123456789abcdefghij"), 13) // 260 bytes: chunks of 100, 100, 60
	m := testManifest("f.bin", data, cs)
	mjs, err := m.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	manifest := func(js []byte) []wire.Frame { // in two fragments
		h := len(js) / 2
		return []wire.Frame{
			{Type: wire.TypeManifest, Total: uint32(len(js)), Data: js[:h]},
			{Type: wire.TypeManifest, Total: uint32(len(js)), Offset: uint32(h), Data: js[h:]},
		}
	}
	chunk := func(i int, b []byte) wire.Frame {
		return wire.Frame{Type: wire.TypeChunk, Index: uint32(i), Total: uint32(len(b)), Data: b}
	}
	part := func(i int) []byte { return data[i*cs : min((i+1)*cs, len(data))] }
	other := testManifest("other.bin", data, cs)
	ojs, _ := other.MarshalJSON()
	wrongWhole := testManifest("f.bin", data, cs)
	wrongWhole.SHA256[0] ^= 1
	wrongWhole.ETag = wire.ETagFor(wrongWhole.SHA256)
	wjs, _ := wrongWhole.MarshalJSON()
	flipped := bytes.Clone(part(1))
	flipped[0] ^= 1
	tests := []struct {
		name   string
		frames []wire.Frame
		want   error // nil: the file completes
	}{
		{"good, chunks in any order", append(manifest(mjs), chunk(2, part(2)), chunk(0, part(0)), chunk(1, part(1))), nil},
		{"good, a chunk in two fragments", append(manifest(mjs), chunk(0, part(0)),
			wire.Frame{Type: wire.TypeChunk, Index: 1, Total: cs, Data: part(1)[:30]},
			wire.Frame{Type: wire.TypeChunk, Index: 1, Total: cs, Offset: 30, Data: part(1)[30:]},
			chunk(2, part(2))), nil},
		{"ERROR", []wire.Frame{{Type: wire.TypeError, Code: wire.CodeNotFound, Message: "no"}}, wire.ErrRemote},
		{"chunk before manifest", []wire.Frame{chunk(0, part(0))}, wire.ErrBadFrame},
		{"a second manifest", append(manifest(mjs), manifest(mjs)[0]), wire.ErrBadFrame},
		{"manifest length changes", []wire.Frame{manifest(mjs)[0], {Type: wire.TypeManifest, Total: uint32(len(mjs) + 1), Offset: 1, Data: mjs[:1]}}, wire.ErrBadFrame},
		{"manifest of another path", manifest(ojs), wire.ErrBadFrame},
		{"manifest not JSON", manifest([]byte("{not json}")), wire.ErrBadManifest},
		{"chunk index past the end", append(manifest(mjs), chunk(3, part(2))), wire.ErrBadFrame},
		{"chunk length not the manifest's", append(manifest(mjs), chunk(2, part(1))), wire.ErrVerify},
		{"chunk bytes wrong", append(manifest(mjs), chunk(1, flipped)), wire.ErrVerify},
		{"a fragment twice", append(manifest(mjs),
			wire.Frame{Type: wire.TypeChunk, Index: 1, Total: cs, Data: part(1)[:60]},
			wire.Frame{Type: wire.TypeChunk, Index: 1, Total: cs, Data: part(1)[:60]}), wire.ErrVerify},
		{"whole-file hash wrong", append(manifest(wjs), chunk(0, part(0)), chunk(1, part(1)), chunk(2, part(2))), wire.ErrVerify},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &assembly{path: "f.bin", maxSize: 1 << 20, start: time.Now()}
			done, err := feed(t, a, tt.frames)
			switch {
			case tt.want == nil && (!done || err != nil || !bytes.Equal(a.data, data)):
				t.Fatalf("done %v, %v; want the verified file", done, err)
			case tt.want != nil && !errors.Is(err, tt.want):
				t.Fatalf("done %v, %v; want %v", done, err, tt.want)
			}
		})
	}

	t.Run("over MaxFileSize", func(t *testing.T) {
		a := &assembly{path: "f.bin", maxSize: int64(len(data)) - 1}
		if _, err := feed(t, a, manifest(mjs)); !errors.Is(err, cache.ErrTooLarge) {
			t.Fatalf("%v, want %v", err, cache.ErrTooLarge)
		}
	})
	t.Run("single chunk, another index", func(t *testing.T) {
		a := &assembly{m: m, single: true, one: 1, data: make([]byte, cs), got: make([]int, len(m.Chunks)), remaining: 1}
		if _, err := feed(t, a, []wire.Frame{chunk(0, part(0))}); !errors.Is(err, wire.ErrBadFrame) {
			t.Fatalf("%v, want %v", err, wire.ErrBadFrame)
		}
	})
}

// TestAssemblySources: each chunk's source is what its first fragment said
// (the relay sends one source for all of a chunk's fragments), reserved
// values included; a relay that says nothing leaves it unspecified.
func TestAssemblySources(t *testing.T) {
	const cs = 100
	data := bytes.Repeat([]byte("0123456789"), 26) // chunks of 100, 100, 60
	m := testManifest("f.bin", data, cs)
	mjs, err := m.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	part := func(i int) []byte { return data[i*cs : min((i+1)*cs, len(data))] }
	frames := []wire.Frame{
		{Type: wire.TypeManifest, Total: uint32(len(mjs)), Data: mjs},
		{Type: wire.TypeChunk, Index: 2, Total: 60, Data: part(2), Source: wire.SourceOrigin},
		{Type: wire.TypeChunk, Index: 0, Total: cs, Data: part(0)[:40], Source: wire.SourcePeer},
		{Type: wire.TypeChunk, Index: 0, Total: cs, Offset: 40, Data: part(0)[40:], Source: wire.SourceRelay},
		{Type: wire.TypeChunk, Index: 1, Total: cs, Data: part(1)},
	}
	a := &assembly{path: "f.bin", maxSize: 1 << 20, start: time.Now()}
	if done, err := feed(t, a, frames); !done || err != nil {
		t.Fatalf("done %v, %v", done, err)
	}
	want := []wire.ChunkSource{wire.SourcePeer, wire.SourceUnspecified, wire.SourceOrigin}
	if !slices.Equal(a.sources, want) {
		t.Fatalf("sources %v, want %v", a.sources, want)
	}
	var p Peer
	p.countSources(a.sources)
	p.countSources([]wire.ChunkSource{6, wire.SourceOrigin}) // 6: reserved, counted as unspecified
	got := p.ChunksBySource()
	if w := map[wire.ChunkSource]uint64{wire.SourcePeer: 1, wire.SourceUnspecified: 2, wire.SourceOrigin: 2}; !maps.Equal(got, w) {
		t.Fatalf("ChunksBySource = %v, want %v", got, w)
	}
}

// feed passes frames to a through the wire encoding, as readDC does, until
// it is done; frames the decoder refuses are dropped, as readDC drops them.
func feed(t *testing.T, a *assembly, frames []wire.Frame) (bool, error) {
	t.Helper()
	for i := range frames {
		b, err := wire.AppendFrame(nil, &frames[i])
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		f, err := wire.DecodeFrame(b)
		if err != nil {
			continue
		}
		if done, err := a.onFrame(&f); done || err != nil {
			if i != len(frames)-1 {
				t.Errorf("done after frame %d of %d", i+1, len(frames))
			}
			return done, err
		}
	}
	return false, nil
}

func TestSignalingURL(t *testing.T) {
	tests := []struct {
		in, token, want string
	}{
		{"http://h:1", "", "ws://h:1/ws"},
		{"https://h", "", "wss://h/ws"},
		{"ws://h/", "", "ws://h/ws"},
		{"wss://h/relay/ws", "", "wss://h/relay/ws"},
		{"http://h", "t k", "ws://h/ws?access_token=t+k"},
		{"ftp://h", "", ""},
		{"h:1", "", ""},
	}
	for _, tt := range tests {
		got, err := signalingURL(tt.in, tt.token)
		if got != tt.want || (err != nil) != (tt.want == "") {
			t.Errorf("signalingURL(%q, %q) = %q, %v; want %q", tt.in, tt.token, got, err, tt.want)
		}
		if err != nil && !errors.Is(err, ErrConnect) {
			t.Errorf("signalingURL(%q): %v is not ErrConnect", tt.in, err)
		}
	}
}
