package main

import (
	"errors"
	"io/fs"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// originServer is the bench's origin: a plain net/http file server on
// 127.0.0.1 that counts what it sends. Its counts are the ground truth for
// the origin offload.
type originServer struct {
	ln       net.Listener
	srv      *http.Server
	requests atomic.Int64
	bytes    atomic.Int64 // body bytes written
}

// originCount is a snapshot of the origin's counters.
type originCount struct {
	Requests int64 `json:"requests"`
	Bytes    int64 `json:"bytes"`
}

func (c originCount) sub(d originCount) originCount {
	return originCount{Requests: c.Requests - d.Requests, Bytes: c.Bytes - d.Bytes}
}

func startOrigin(fsys fs.FS) (*originServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	o := &originServer{ln: ln}
	files := http.FileServerFS(fsys)
	o.srv = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			o.requests.Add(1)
			files.ServeHTTP(&countingWriter{ResponseWriter: w, n: &o.bytes}, r)
		}),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	go func() {
		if err := o.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			panic(err)
		}
	}()
	return o, nil
}

// URL is the origin's base URL, ending in a slash.
func (o *originServer) URL() string { return "http://" + o.ln.Addr().String() + "/" }

func (o *originServer) Addr() string { return o.ln.Addr().String() }

func (o *originServer) count() originCount {
	return originCount{Requests: o.requests.Load(), Bytes: o.bytes.Load()}
}

func (o *originServer) Close() error { return o.srv.Close() }

// countingWriter counts body bytes.
type countingWriter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (w *countingWriter) Write(b []byte) (int, error) {
	n, err := w.ResponseWriter.Write(b)
	w.n.Add(int64(n))
	return n, err
}
