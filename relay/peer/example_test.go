package peer_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/p2pcache/p2pcache/relay/peer"
)

func ExampleDial() {
	// A relay on loopback (see relay's ExampleNew for the wiring).
	lr, err := startRelay(map[string][]byte{"img/logo.svg": []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`)}, 0)
	if err != nil {
		log.Fatal(err)
	}
	defer lr.stop()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, err := peer.Dial(ctx, lr.url, peer.Options{NoServe: true})
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	pair, err := p.SelectedCandidatePair()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("data channel over", pair.Local.Protocol) // ICE-TCP: the relay opens no UDP port

	// FetchFile returns only bytes verified against the manifest, chunk by
	// chunk and whole, and says where the relay got each chunk. The relay
	// read the file from the origin to build its manifest and kept its one
	// chunk, so it answers from its cache.
	f, err := p.FetchFile(ctx, "/img/logo.svg")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s\n", f.Data)
	fmt.Println("chunk sources:", f.Sources)
	// Output:
	// data channel over tcp
	// <svg xmlns="http://www.w3.org/2000/svg"/>
	// chunk sources: [origin]
}
