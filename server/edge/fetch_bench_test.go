package edge_test

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/p2pcache/p2pcache/relay/peer"
)

// BenchmarkFetch compares, in one run against one warm relay, fetching demo
// images over WebRTC (Go peer, ICE-TCP data channel) with fetching them over
// plain HTTP/1.1 keep-alive from /files/. Compare the ns/op (and MB/s) of
// the webrtc and http sub-benchmarks of each size: the ratio is the figure.
func BenchmarkFetch(b *testing.B) {
	base := startServer(b, "")
	ctx := context.Background()
	p, err := peer.Dial(ctx, base, peer.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1, DisableCompression: true}}
	defer client.CloseIdleConnections()
	for _, f := range []struct{ name, path string }{
		{"1MB", "images/aurora.jpg"},
		{"5MB", "images/nebula.png"},
	} {
		warm, err := p.Fetch(ctx, f.path)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(f.name+"/webrtc", func(b *testing.B) {
			b.SetBytes(int64(len(warm)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := p.Fetch(ctx, f.path); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(f.name+"/http", func(b *testing.B) {
			b.SetBytes(int64(len(warm)))
			b.ReportAllocs()
			for b.Loop() {
				resp, err := client.Get(base + "/files/" + f.path)
				if err != nil {
					b.Fatal(err)
				}
				n, err := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err != nil || n != int64(len(warm)) {
					b.Fatalf("read %d of %d: %v", n, len(warm), err)
				}
			}
		})
	}
}

// BenchmarkConnect measures WebSocket open → data channel open.
func BenchmarkConnect(b *testing.B) {
	base := startServer(b, "")
	ctx := context.Background()
	var total time.Duration
	for b.Loop() {
		p, err := peer.Dial(ctx, base, peer.Options{})
		if err != nil {
			b.Fatal(err)
		}
		total += p.Timings().DataChannel - p.Timings().WebSocket
		p.Close()
	}
	b.ReportMetric(float64(total.Microseconds())/float64(b.N)/1000, "ms-ws-to-dc/op")
}
