package relay_test

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/p2pcache/p2pcache/cache"
	"github.com/p2pcache/p2pcache/relay"
	"github.com/p2pcache/p2pcache/relay/peer"
)

// cpuTime is this process's user+system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkFetchWarm fetches a cached file over WebRTC from an in-process
// relay, with the relay's ICE-TCP write coalescing on and off, in one run:
// compare MB/s and cpu-ms/MB (this process: relay and peer together) of the
// two. The 64KiB case is one chunk request → answer (its ns/op is the
// round trip).
func BenchmarkFetchWarm(b *testing.B) {
	files := map[string][]byte{"64k.bin": randomBytes(7, 64<<10), "4m.bin": randomBytes(8, 4<<20)}
	for _, coalesce := range []bool{true, false} {
		opt := func(*relay.Config) {}
		if !coalesce {
			opt = relay.NoWriteCoalescing
		}
		tr := startRelay(b, files, cache.Config{}, opt)
		ctx := context.Background()
		p, err := peer.Dial(ctx, tr.url, peer.Options{NoServe: true})
		if err != nil {
			b.Fatal(err)
		}
		for _, name := range []string{"64k.bin", "4m.bin"} {
			if _, err := p.Fetch(ctx, name); err != nil { // warm the cache
				b.Fatal(err)
			}
			b.Run(fmt.Sprintf("%s/coalesce=%v", name, coalesce), func(b *testing.B) {
				b.SetBytes(int64(len(files[name])))
				b.ReportAllocs()
				cpu0 := cpuTime()
				for b.Loop() {
					if _, err := p.Fetch(ctx, name); err != nil {
						b.Fatal(err)
					}
				}
				mb := float64(b.N) * float64(len(files[name])) / 1e6
				b.ReportMetric(float64(cpuTime()-cpu0)/float64(time.Millisecond)/mb, "cpu-ms/MB")
			})
		}
		p.Close()
	}
}
