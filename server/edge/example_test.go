package edge_test

import (
	"fmt"
	"io"
	"log"
	"net"
	"net/http/httptest"
	"testing/fstest"
	"time"

	"github.com/p2pcache/p2pcache/cache"
	"github.com/p2pcache/p2pcache/relay"
	"github.com/p2pcache/p2pcache/server/edge"
)

// The edge in front of a relay and its cache, driven in memory. A program
// serves it with e.Serve(ln), or mounts e.App() in its own Fiber app.
func ExampleNew() {
	c, err := cache.New(cache.NewFSOrigin(fstest.MapFS{
		"hello.txt": {Data: []byte("hello, p2pcache\n")},
	}, cache.FSOriginConfig{}), cache.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	iceLn, err := net.Listen("tcp", "127.0.0.1:0") // ICE-TCP: the relay takes it over
	if err != nil {
		log.Fatal(err)
	}
	r, err := relay.New(c, iceLn, relay.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	c.SetPeers(r) // fill the cache's misses from peers
	defer c.SetPeers(nil)

	e, err := edge.New(r, c, edge.Config{MaxPeers: 100})
	if err != nil {
		log.Fatal(err)
	}
	defer e.Close()

	resp, err := e.App().Test(httptest.NewRequest("GET", "/files/hello.txt", nil))
	if err != nil {
		log.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	fmt.Print(resp.StatusCode, " ", resp.Header.Get("Content-Type"), "\n", string(body))
	// Output:
	// 200 text/plain; charset=utf-8
	// hello, p2pcache
}

// A token for a relay whose edge has an AuthSecret: for peer "alice",
// covering /images/ only, valid for an hour.
func ExampleMintToken() {
	const secret = "0123456789abcdef0123456789abcdef"
	tok, err := edge.MintToken(secret, "alice", []string{"/images/"}, time.Hour)
	if err != nil {
		log.Fatal(err)
	}
	e, stop := exampleEdge(edge.Config{AuthSecret: secret}, fstest.MapFS{
		"images/a.png": {Data: []byte("PNG")},
		"notes.txt":    {Data: []byte("text")},
	})
	defer stop()
	for _, path := range []string{"/files/images/a.png", "/files/notes.txt"} {
		req := httptest.NewRequest("GET", path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := e.App().Test(req)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(path, resp.StatusCode)
	}
	// Output:
	// /files/images/a.png 200
	// /files/notes.txt 401
}

// exampleEdge is ExampleNew's wiring, for the other examples.
func exampleEdge(cfg edge.Config, files fstest.MapFS) (*edge.Edge, func()) {
	c, err := cache.New(cache.NewFSOrigin(files, cache.FSOriginConfig{}), cache.Config{})
	if err != nil {
		log.Fatal(err)
	}
	iceLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	r, err := relay.New(c, iceLn, relay.Config{})
	if err != nil {
		log.Fatal(err)
	}
	e, err := edge.New(r, c, cfg)
	if err != nil {
		log.Fatal(err)
	}
	return e, func() {
		e.Close()
		r.Close()
		c.Close()
	}
}

// A page pins the SDK of a relay at its versioned URL: cached for good by
// browsers and CDNs, and never another SDK under that URL. GET /p2pcache.js
// names the same path in its Link header.
func ExampleSDKPath() {
	e, stop := exampleEdge(edge.Config{}, fstest.MapFS{})
	defer stop()
	pinned := edge.SDKPath("p2pcache.js") // /v/<16 hex digits>/p2pcache.js
	resp, err := e.App().Test(httptest.NewRequest("GET", "/p2pcache.js", nil))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Header.Get("Link") == "<"+pinned+`>; rel="canonical"`, resp.Header.Get("Cache-Control"))
	resp, err = e.App().Test(httptest.NewRequest("GET", pinned, nil))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.StatusCode, resp.Header.Get("Cache-Control"))
	// Output:
	// true no-cache
	// 200 public, max-age=31536000, immutable
}
