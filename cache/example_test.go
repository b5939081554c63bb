package cache_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"testing/fstest"

	"github.com/p2pcache/p2pcache/cache"
	"github.com/p2pcache/p2pcache/relay/wire"
)

func ExampleCache() {
	// An origin of one 150,000-byte file, in memory.
	files := fstest.MapFS{"img/cat.png": {Data: bytes.Repeat([]byte("meow"), 150_000/4)}}
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
	for i := range m.Chunks {
		b, src, err := c.Chunk(ctx, m, i)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(i, len(b), src, wire.Sum(b) == m.Chunks[i])
	}
	// Output:
	// img/cat.png 150000 image/png 3 chunks
	// 0 65536 cache true
	// 1 65536 cache true
	// 2 18928 cache true
}
