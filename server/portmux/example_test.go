package portmux_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/p2pcache/p2pcache/server/portmux"
)

// One port for HTTP and ICE-TCP: the HTTP server takes the HTTP listener,
// and an ICE-TCP mux (pion's ice.NewTCPMuxDefault) would take the STUN one.
func Example() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	m := portmux.New(ln, portmux.Config{PeekTimeout: 5 * time.Second})
	iceLn := m.Listener(portmux.STUN) // ice.TCPMuxParams{Listener: iceLn, ...}
	defer iceLn.Close()
	srv := &http.Server{
		Handler:           http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello over one port") }),
		ReadHeaderTimeout: 5 * time.Second,
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		srv.Serve(m.Listener(portmux.HTTP))
	}()
	muxed := make(chan struct{})
	go func() {
		defer close(muxed)
		m.Serve()
	}()

	resp, err := http.Get("http://" + m.Addr().String() + "/")
	if err != nil {
		panic(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(string(b))

	srv.Close()
	m.Close()
	<-served
	<-muxed
	http.DefaultClient.CloseIdleConnections()
	// Output: hello over one port
}

// Classify needs at most MaxPeek bytes, fewer for TLS and HTTP.
func ExampleClassify() {
	for _, first := range [][]byte{
		[]byte("GET /"),
		{0x16, 0x03, 0x01},
		{0x00, 0x54, 0x00, 0x01, 0x00, 0x40, 0x21, 0x12, 0xa4, 0x42},
		[]byte("SSH-2.0-"),
		[]byte("GE"),
	} {
		p, done := portmux.Classify(first)
		fmt.Println(p, done)
	}
	// Output:
	// http true
	// tls true
	// stun true
	// unknown true
	// unknown false
}
