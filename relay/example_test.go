package relay_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"testing/fstest"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/p2pcache/p2pcache/cache"
	"github.com/p2pcache/p2pcache/relay"
	"github.com/p2pcache/p2pcache/relay/peer"
)

// A relay wired up: a cache over an origin, the ICE-TCP listener the relay
// takes over, the relay installed as the cache's peer source, and an HTTP
// server of the caller's that upgrades /ws and hands the WebSocket to
// Accept. A Go peer then fetches a file over WebRTC.
func ExampleNew() {
	origin := fstest.MapFS{"hello.txt": {Data: []byte("hello over a data channel\n")}}
	c, err := cache.New(cache.NewFSOrigin(origin, cache.FSOriginConfig{}), cache.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	iceLn, err := net.Listen("tcp", "127.0.0.1:0") // every peer's ICE, DTLS and SCTP
	if err != nil {
		log.Fatal(err)
	}
	r, err := relay.New(c, iceLn, relay.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	c.SetPeers(r) // fill cache misses from peers that hold the chunk
	defer c.SetPeers(nil)

	upgrader := websocket.Upgrader{}
	mux := http.NewServeMux()
	mux.HandleFunc("/ws", func(w http.ResponseWriter, req *http.Request) {
		conn, err := upgrader.Upgrade(w, req, nil)
		if err != nil {
			return
		}
		r.Accept(req.Context(), conn, relay.Meta{Remote: req.RemoteAddr})
	})
	httpLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Handler: mux}
	go srv.Serve(httpLn)
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, err := peer.Dial(ctx, "http://"+httpLn.Addr().String(), peer.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	f, err := p.FetchFile(ctx, "hello.txt")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s: %d bytes, %s, %d chunk, verified\n", f.Manifest.Path, f.Manifest.Size, f.Manifest.ContentType, len(f.Manifest.Chunks))
	fmt.Print(string(f.Data))
	fmt.Println("peers connected:", r.PeerCount())
	// Output:
	// hello.txt: 26 bytes, text/plain; charset=utf-8, 1 chunk, verified
	// hello over a data channel
	// peers connected: 1
}

// The edge admits a peer before it upgrades the WebSocket: with a memory
// budget shared by the cache and the relay, a peer the budget cannot take
// gets HTTP 503 and never costs a WebRTC stack. Accept takes the Admission
// over; the deferred Release then does nothing (it only matters when the
// upgrade fails).
func ExampleRelay_Admit() {
	budget, err := cache.NewBudget(64 << 20) // shared: cache.Config{Budget: budget} too
	if err != nil {
		log.Fatal(err)
	}
	c, err := cache.New(cache.NewFSOrigin(fstest.MapFS{"a.txt": {Data: []byte("a")}}, cache.FSOriginConfig{}), cache.Config{Budget: budget})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	iceLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	r, err := relay.New(c, iceLn, relay.Config{Budget: budget, PeerMemory: 16 << 20})
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()

	upgrader := websocket.Upgrader{}
	handler := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		adm, err := r.Admit()
		if err != nil { // relay.ErrOverloaded, or relay.ErrClosed when shutting down
			http.Error(w, "relay is full; try again later", http.StatusServiceUnavailable)
			return
		}
		defer adm.Release()
		conn, err := upgrader.Upgrade(w, req, nil)
		if err != nil {
			return
		}
		r.Accept(req.Context(), conn, relay.Meta{Remote: req.RemoteAddr, Admission: adm})
	})
	_ = handler // served by the caller's HTTP server, as in ExampleNew

	var held []*relay.Admission
	for {
		adm, err := r.Admit()
		if errors.Is(err, relay.ErrOverloaded) {
			break
		}
		held = append(held, adm)
	}
	fmt.Println("peers the budget admits:", len(held))
	for _, adm := range held {
		adm.Release()
	}
	fmt.Println("in use after release:", budget.InUse())
	// Output:
	// peers the budget admits: 4
	// in use after release: 0
}
