package peer_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"testing/fstest"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/p2pcache/p2pcache/cache"
	"github.com/p2pcache/p2pcache/relay"
)

// loopRelay is a relay on loopback serving files from memory, its
// signaling WebSocket at url.
type loopRelay struct {
	url   string
	relay *relay.Relay
	cache *cache.Cache
	stop  func()
}

// startRelay runs a relay on loopback over files (path → contents), with a
// chunk cache of cacheBytes (zero: the default), filling misses from peers.
// stop closes everything and waits for the relay's goroutines.
func startRelay(files map[string][]byte, cacheBytes int64) (*loopRelay, error) {
	fsys := fstest.MapFS{}
	for name, b := range files {
		fsys[name] = &fstest.MapFile{Data: b}
	}
	c, err := cache.New(cache.NewFSOrigin(fsys, cache.FSOriginConfig{}), cache.Config{MaxBytes: cacheBytes})
	if err != nil {
		return nil, err
	}
	iceLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, errors.Join(err, c.Close())
	}
	// Every try at a peer gets 5 s: the tests are about serving, not
	// timeouts, and run under -race on loaded machines.
	r, err := relay.New(c, iceLn, relay.Config{PeerTimeoutMin: 5 * time.Second})
	if err != nil {
		return nil, errors.Join(err, iceLn.Close(), c.Close())
	}
	c.SetPeers(r)
	httpLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, errors.Join(err, r.Close(), c.Close())
	}
	up := websocket.Upgrader{}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if conn, err := up.Upgrade(w, req, nil); err == nil {
			r.Accept(context.Background(), conn, relay.Meta{Remote: req.RemoteAddr})
		}
	})}
	served := make(chan struct{})
	go func() {
		defer close(served)
		srv.Serve(httpLn)
	}()
	return &loopRelay{url: "http://" + httpLn.Addr().String(), relay: r, cache: c, stop: func() {
		c.SetPeers(nil)
		r.Close() // ends every Accept
		srv.Close()
		<-served
		c.Close()
	}}, nil
}

// noise is n pseudo-random bytes from seed: every chunk differs.
func noise(seed byte, n int) []byte {
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{seed}).Read(b)
	return b
}
