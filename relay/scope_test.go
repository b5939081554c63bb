package relay_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/p2pcache/p2pcache/cache"
	"github.com/p2pcache/p2pcache/relay/peer"
	"github.com/p2pcache/p2pcache/relay/wire"
)

// TestScopedGrantNoHashFallback: a peer whose grant covers one file names
// that file's path with the hash of a cached chunk of another file (at a
// wrong index, or past the file's end). It gets ERROR stale, never the
// other file's bytes: with a scope, a chunk is served only as
// m.Chunks[index] of a path the grant covers. Unscoped, the hash of an older
// version is still served (the fallback the scope turns off).
func TestScopedGrantNoHashFallback(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	pub := randomBytes(21, 3*wire.MaxChunkSize)
	secret := randomBytes(22, 2*wire.MaxChunkSize)
	tr := startRelay(t, map[string][]byte{"pub/a.bin": pub, "private/s.bin": secret}, cache.Config{})

	// Someone entitled reads the secret file: its chunks are cached now.
	owner := dialWS(t, tr, nil)
	sm := owner.manifest(1, "private/s.bin")
	for i := range sm.Chunks {
		if _, code := owner.chunk(uint32(2+i), sm.Path, uint32(i), sm.Chunks[i]); code != 0 {
			t.Fatalf("owner: chunk %d: %s", i, code)
		}
	}

	scoped := dialWS(t, tr, http.Header{"X-Test-Allow": {"pub/"}})
	pm := scoped.manifest(1, "pub/a.bin")
	id := uint32(10)
	for _, tt := range []struct {
		name  string
		index uint32
		hash  wire.Hash
		want  wire.ErrorCode
	}{
		{"other file's chunk at a wrong index", 1, sm.Chunks[0], wire.CodeStale},
		{"other file's chunk past the end", uint32(len(pm.Chunks)) + 5, sm.Chunks[1], wire.CodeStale},
		{"other file's path", 0, sm.Chunks[0], wire.CodeForbidden},
	} {
		path := pm.Path
		if tt.want == wire.CodeForbidden {
			path = sm.Path
		}
		id++
		b, code := scoped.chunk(id, path, tt.index, tt.hash)
		if code != tt.want {
			t.Errorf("%s: answered %d bytes, code %s; want ERROR %s", tt.name, len(b), code, tt.want)
		}
		if b != nil && wire.Sum(b) == tt.hash {
			t.Errorf("%s: a token scoped to pub/ read a chunk of %s", tt.name, sm.Path)
		}
	}
	// Its own file's chunks, by path and index, are served.
	if b, code := scoped.chunk(20, pm.Path, 2, pm.Chunks[2]); code != 0 || wire.Sum(b) != pm.Chunks[2] {
		t.Errorf("own chunk: code %s", code)
	}
	// Unscoped, a cached chunk named by hash is still served whatever the
	// index (an older version's chunk, say).
	if b, code := owner.chunk(30, pm.Path, 0, sm.Chunks[1]); code != 0 || wire.Sum(b) != sm.Chunks[1] {
		t.Errorf("unscoped peer: code %s, want the cached chunk", code)
	}
}

// TestScopedGrantNoHashFallbackDC is TestScopedGrantNoHashFallback over the
// data channel: the Go peer asks for a chunk of its file with a manifest
// doctored to list another file's chunk.
func TestScopedGrantNoHashFallbackDC(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	pub := randomBytes(23, 3*wire.MaxChunkSize)
	secret := randomBytes(24, 2*wire.MaxChunkSize)
	tr := startRelay(t, map[string][]byte{"pub/a.bin": pub, "private/s.bin": secret}, cache.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	owner := dial(t, ctx, tr, "owner", peer.Options{NoServe: true})
	if got, err := owner.Fetch(ctx, "private/s.bin"); err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("owner: %v", err)
	}
	scoped, err := peer.Dial(ctx, tr.url, peer.Options{NoServe: true, Header: http.Header{"X-Test-Allow": {"pub/"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer scoped.Close()
	pm, err := scoped.FetchManifest(ctx, "pub/a.bin")
	if err != nil {
		t.Fatal(err)
	}
	sm, err := owner.FetchManifest(ctx, "private/s.bin")
	if err != nil {
		t.Fatal(err)
	}
	doctored := *pm
	doctored.Chunks = append([]wire.Hash(nil), pm.Chunks...)
	doctored.Chunks[1] = sm.Chunks[0] // same length: both are whole chunks
	b, err := scoped.FetchChunk(ctx, &doctored, 1)
	var re *wire.RemoteError
	if !errors.As(err, &re) || re.Code != wire.CodeStale {
		t.Errorf("doctored chunk: %d bytes, %v; want ERROR stale", len(b), err)
	}
	if b != nil {
		t.Errorf("a token scoped to pub/ read chunk 0 of %s", sm.Path)
	}
	if b, err := scoped.FetchChunk(ctx, pm, 1); err != nil || wire.Sum(b) != pm.Chunks[1] {
		t.Errorf("own chunk: %v", err)
	}
}
