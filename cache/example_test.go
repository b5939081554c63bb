package cache_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"testing/fstest"

	"github.com/p2pcache/p2pcache/cache"
	"github.com/p2pcache/p2pcache/relay/wire"
)

func ExampleCache() {
	// An origin of one 150,000-byte file, in memory.
	files := fstest.MapFS{"img/cat.png": {Data: bytes.Repeat([]byte("meow!"), 150_000/5)}}
	c, err := cache.New(cache.NewFSOrigin(files, cache.FSOriginConfig{}), cache.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	ctx := context.Background()
	m, err := c.Manifest(ctx, "/img/cat.png")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(m.Path, m.Size, m.ContentType, len(m.Chunks), "chunks")
	// Building the manifest read the file once and kept its chunks: the
	// first read of each reports that origin read, later ones the cache.
	for range 2 {
		for i := range m.Chunks {
			b, src, err := c.Chunk(ctx, m, i)
			if err != nil {
				log.Fatal(err)
			}
			fmt.Println(i, len(b), src, wire.Sum(b) == m.Chunks[i])
		}
	}
	// Output:
	// img/cat.png 150000 image/png 3 chunks
	// 0 65536 origin true
	// 1 65536 origin true
	// 2 18928 origin true
	// 0 65536 cache true
	// 1 65536 cache true
	// 2 18928 cache true
}

func ExampleCache_Manifest() {
	files := fstest.MapFS{"docs/readme.txt": {Data: bytes.Repeat([]byte("p2pcache "), 10_000)}}
	c, err := cache.New(cache.NewFSOrigin(files, cache.FSOriginConfig{}), cache.Config{ChunkSize: 32 << 10})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	// The first request builds the manifest from one read of the file;
	// later ones get the held manifest while it is fresh. Paths are
	// cleaned: a leading slash is dropped.
	m, err := c.Manifest(context.Background(), "/docs/readme.txt")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(m.Path, m.Size, m.ContentType)
	fmt.Println(len(m.Chunks), "chunks of", m.ChunkSize, "bytes, the last", m.ChunkLen(len(m.Chunks)-1))
	fmt.Println("etag", m.ETag == wire.ETagFor(m.SHA256))
	if _, err := c.Manifest(context.Background(), "docs/missing.txt"); errors.Is(err, cache.ErrNotFound) {
		fmt.Println("missing:", err)
	}
	// Output:
	// docs/readme.txt 90000 text/plain; charset=utf-8
	// 3 chunks of 32768 bytes, the last 24464
	// etag true
	// missing: not found: docs/missing.txt
}

// A peer source fills misses before the origin is asked. ChunkFrom says on
// whose behalf a chunk is wanted and the source is told, so that it never
// asks the asking peer for that chunk; Chunk asks on nobody's behalf.
func ExampleCache_ChunkFrom() {
	var file []byte
	for _, b := range "abc" { // three chunks of 1 KiB
		file = append(file, bytes.Repeat([]byte{byte(b)}, 1024)...)
	}
	files := fstest.MapFS{"a.bin": {Data: file}}
	c, err := cache.New(cache.NewFSOrigin(files, cache.FSOriginConfig{}), cache.Config{ChunkSize: 1024, MaxBytes: 1024})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	c.SetPeers(cache.PeerSourceFunc(func(ctx context.Context, m *wire.Manifest, i int, from string) ([]byte, error) {
		fmt.Printf("peer source asked on behalf of %q\n", from)
		return file[m.ChunkOffset(i) : m.ChunkOffset(i)+int64(m.ChunkLen(i))], nil
	}))
	ctx := context.Background()
	m, err := c.Manifest(ctx, "a.bin")
	if err != nil {
		log.Fatal(err)
	}
	// The cache holds one chunk: ask for one it does not hold.
	uncached := func() int {
		for i, h := range m.Chunks {
			if _, ok := c.Peek(h); !ok {
				return i
			}
		}
		return -1
	}
	_, src, err := c.ChunkFrom(ctx, m, uncached(), "p-1")
	fmt.Println(src, err)
	_, src, err = c.Chunk(ctx, m, uncached())
	fmt.Println(src, err)
	// Output:
	// peer source asked on behalf of "p-1"
	// peer <nil>
	// peer source asked on behalf of ""
	// peer <nil>
}
