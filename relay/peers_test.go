package relay_test

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/p2pcache/p2pcache/cache"
	"github.com/p2pcache/p2pcache/relay"
	"github.com/p2pcache/p2pcache/relay/peer"
	"github.com/p2pcache/p2pcache/relay/wire"
)

// patientPeers gives every try at a peer at least 5 s: these tests are about
// routing and verification, not timeouts, and run under -race on loaded
// machines where a 200 ms try can time out.
func patientPeers(c *relay.Config) { c.PeerTimeoutMin = 5 * time.Second }

func dial(t *testing.T, ctx context.Context, tr *testRelay, identity string, opts peer.Options) *peer.Peer {
	t.Helper()
	opts.Header = http.Header{"X-Test-Identity": {identity}}
	p, err := peer.Dial(ctx, tr.url, opts)
	if err != nil {
		t.Fatalf("%s: dial: %v", identity, err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// waitHolders waits until the relay has indexed at least n (chunk, peer)
// pairs: HAVE frames travel asynchronously.
func waitHolders(t *testing.T, tr *testRelay, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for tr.relay.Stats().HolderIndex < n {
		if time.Now().After(deadline) {
			t.Fatalf("holder index has %d entries, want %d", tr.relay.Stats().HolderIndex, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (c *countingOrigin) bodies() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, k := range c.ranges {
		n += k
	}
	return n
}

// TestPeerSourcedAfterEviction: with a relay cache smaller than the working
// set, chunks the relay evicted come from the peer that fetched them first,
// and the origin is not asked again.
func TestPeerSourcedAfterEviction(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	files := map[string][]byte{}
	for i := range 4 {
		files[fmt.Sprintf("set/f%d.png", i)] = randomBytes(uint64(10+i), 256<<10+1000*i)
	}
	tr := startRelay(t, files, cache.Config{MaxBytes: 512 << 10}, patientPeers)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	a := dial(t, ctx, tr, "peer-a", peer.Options{})
	chunks := 0
	for name, want := range files {
		got, err := a.Fetch(ctx, name)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("A: %s: %v", name, err)
		}
		chunks += wire.NumChunks(int64(len(want)), wire.MaxChunkSize)
	}
	waitHolders(t, tr, chunks)
	originBefore := tr.origin.bodies()
	statsBefore := tr.relay.Stats()

	b := dial(t, ctx, tr, "peer-b", peer.Options{})
	bSources := map[wire.ChunkSource]uint64{}
	for name, want := range files {
		f, err := b.FetchFile(ctx, name)
		if err != nil || !bytes.Equal(f.Data, want) {
			t.Fatalf("B: %s: %v", name, err)
		}
		for _, src := range f.Sources {
			bSources[src]++
		}
	}
	after := tr.relay.Stats()
	fromPeer := after.ChunksBySource["peer"] - statsBefore.ChunksBySource["peer"]
	fromOrigin := after.ChunksBySource["origin"] - statsBefore.ChunksBySource["origin"]
	t.Logf("B's %d chunks: %d from peer A, %d from the relay cache, %d from origin; A served %d",
		chunks, fromPeer, after.ChunksBySource["cache"]-statsBefore.ChunksBySource["cache"], fromOrigin, a.Served())
	if got := tr.origin.bodies(); got != originBefore {
		t.Errorf("origin fetches went from %d to %d; want no new fetch", originBefore, got)
	}
	if fromPeer == 0 || fromOrigin != 0 || a.Served() != fromPeer {
		t.Errorf("chunks from peer = %d (A served %d), from origin = %d; want all misses from A", fromPeer, a.Served(), fromOrigin)
	}
	// B's CHUNK frames said the same: each chunk A served as peer, the rest
	// as the relay's cache.
	fromCache := after.ChunksBySource["cache"] - statsBefore.ChunksBySource["cache"]
	want := map[wire.ChunkSource]uint64{wire.SourcePeer: fromPeer}
	if fromCache > 0 {
		want[wire.SourceRelayCache] = fromCache
	}
	if !maps.Equal(bSources, want) || !maps.Equal(b.ChunksBySource(), want) {
		t.Errorf("B's CHUNK sources %v (ChunksBySource %v), want %v", bSources, b.ChunksBySource(), want)
	}
	if cs := tr.cache.Stats(); cs.Bytes > 512<<10 || cs.PeerRejects != 0 {
		t.Errorf("cache stats %+v", cs)
	}
}

// TestRoutesToFastestHolder: three holders answer after 5, 40 and 120 ms;
// the relay sends nearly every request to the fastest, and when it leaves
// mid-file the fetch completes from the others.
func TestRoutesToFastestHolder(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	img := randomBytes(99, 40*wire.MaxChunkSize)
	// A relay cache of one chunk: every chunk a peer asks for is a miss.
	tr := startRelay(t, map[string][]byte{"big.png": img}, cache.Config{MaxBytes: wire.MaxChunkSize}, patientPeers)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	delays := []time.Duration{5 * time.Millisecond, 40 * time.Millisecond, 120 * time.Millisecond}
	var holders []*peer.Peer
	var fastestServes atomic.Int64
	var killFastest func()
	for i, d := range delays {
		opts := peer.Options{ServeDelay: d}
		if i == 0 {
			opts.Tamper = func(_ int, b []byte) []byte { // counts, and stops the fastest mid-file on cue
				if fastestServes.Add(1) == 10 && killFastest != nil {
					go killFastest()
				}
				return b
			}
		}
		h := dial(t, ctx, tr, fmt.Sprintf("holder-%d", i), opts)
		if _, err := h.Fetch(ctx, "big.png"); err != nil {
			t.Fatalf("holder %d: %v", i, err)
		}
		holders = append(holders, h)
	}
	waitHolders(t, tr, 3*40)
	time.Sleep(1200 * time.Millisecond) // a ping round so every holder has an RTT sample
	served := func() (s [3]uint64) {
		for i, h := range holders {
			s[i] = h.Served()
		}
		return
	}
	before := served()

	b := dial(t, ctx, tr, "fetcher", peer.Options{NoServe: true})
	got, err := b.Fetch(ctx, "big.png")
	if err != nil || !bytes.Equal(got, img) {
		t.Fatalf("fetch: %v", err)
	}
	after := served()
	var total uint64
	for i := range after {
		total += after[i] - before[i]
	}
	fast := after[0] - before[0]
	t.Logf("chunks served by holders (5/40/120 ms): %d / %d / %d", fast, after[1]-before[1], after[2]-before[2])
	if total < 40 || float64(fast) < 0.9*float64(total) {
		t.Errorf("fastest holder served %d of %d peer chunks, want ≥ 90%%; the ranking's inputs after:\n%s",
			fast, total, strings.Join(relay.RankStateForTest(tr.relay, wire.MaxChunkSize), "\n"))
	}

	// The fastest leaves after its 10th chunk of the next fetch.
	fastestServes.Store(0)
	killFastest = func() { holders[0].Close() }
	b2 := dial(t, ctx, tr, "fetcher-2", peer.Options{NoServe: true})
	got, err = b2.Fetch(ctx, "big.png")
	if err != nil || !bytes.Equal(got, img) {
		t.Fatalf("fetch with the fastest holder gone mid-file: %v", err)
	}
	t.Logf("second fetch: fastest served %d before leaving; peer fetch results %v", fastestServes.Load(), tr.relay.Stats().PeerFetches)
}

// TestLyingPeerBanned: a holder that answers with corrupted, truncated,
// oversized or wrong chunks never gets a byte into the cache or to another
// peer; after three strikes it is dropped and its identity refused.
func TestLyingPeerBanned(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	img := randomBytes(7, 12*wire.MaxChunkSize)
	other := randomBytes(8, wire.MaxChunkSize)
	tests := []struct {
		name   string
		tamper func(i int, b []byte) []byte
	}{
		{"corrupted", func(_ int, b []byte) []byte { b[100] ^= 0xff; return b }},
		{"truncated", func(_ int, b []byte) []byte { return b[:len(b)-1] }},
		{"oversized", func(_ int, b []byte) []byte { return append(b[:len(b)-10], make([]byte, 20)...) }},
		{"wrong chunk", func(_ int, b []byte) []byte { return other }},
		{"empty", func(_ int, b []byte) []byte { return nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := startRelay(t, map[string][]byte{"x.png": img}, cache.Config{MaxBytes: wire.MaxChunkSize}, patientPeers)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			liar := dial(t, ctx, tr, "liar", peer.Options{Tamper: tt.tamper})
			if _, err := liar.Fetch(ctx, "x.png"); err != nil {
				t.Fatal(err)
			}
			waitHolders(t, tr, 12)
			honest := dial(t, ctx, tr, "honest", peer.Options{NoServe: true})
			got, err := honest.Fetch(ctx, "x.png")
			if err != nil || !bytes.Equal(got, img) {
				t.Fatalf("honest peer: %v", err)
			}
			st := tr.relay.Stats()
			if st.Bans != 1 || st.PeerFetches["ok"] != 0 || st.PeerFetches["hash_mismatch"] != 3 {
				t.Errorf("bans = %d, peer fetches %v; want 1 ban after 3 mismatches, no ok", st.Bans, st.PeerFetches)
			}
			if cs := tr.cache.Stats(); cs.PeerFills != 0 || cs.PeerRejects != 0 {
				t.Errorf("cache took peer bytes: %+v", cs)
			}
			deadline := time.Now().Add(5 * time.Second)
			for liar.Err() == nil && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if liar.Err() == nil {
				t.Error("liar still connected")
			}
			_, err = peer.Dial(ctx, tr.url, peer.Options{Header: http.Header{"X-Test-Identity": {"liar"}}})
			if err == nil || !strings.Contains(err.Error(), "banned") {
				t.Errorf("liar redial: %v, want refused as banned", err)
			}
			if tr.relay.Banned("honest") {
				t.Error("honest peer banned")
			}
			// The honest peer is still served.
			if _, err := honest.Fetch(ctx, "x.png"); err != nil {
				t.Errorf("honest peer after the ban: %v", err)
			}
		})
	}
}

// TestDeclinedPeerNeverAsked: a peer that opted out of serving is never
// asked, even when it is the only one that fetched the file.
func TestDeclinedPeerNeverAsked(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	img := randomBytes(5, 6*wire.MaxChunkSize)
	tr := startRelay(t, map[string][]byte{"m.png": img}, cache.Config{MaxBytes: wire.MaxChunkSize})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	metered := dial(t, ctx, tr, "metered", peer.Options{NoServe: true})
	if _, err := metered.Fetch(ctx, "m.png"); err != nil {
		t.Fatal(err)
	}
	b := dial(t, ctx, tr, "b", peer.Options{})
	if _, err := b.Fetch(ctx, "m.png"); err != nil {
		t.Fatal(err)
	}
	if metered.Served() != 0 || tr.relay.Stats().ChunksBySource["peer"] != 0 {
		t.Errorf("metered peer served %d chunks", metered.Served())
	}
}

// TestPeerFetchDisabled: with DisablePeerFetch the origin serves misses.
func TestPeerFetchDisabled(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	img := randomBytes(6, 6*wire.MaxChunkSize)
	tr := startRelay(t, map[string][]byte{"d.png": img}, cache.Config{MaxBytes: wire.MaxChunkSize},
		func(c *relay.Config) { c.DisablePeerFetch = true })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a := dial(t, ctx, tr, "a", peer.Options{})
	if _, err := a.Fetch(ctx, "d.png"); err != nil {
		t.Fatal(err)
	}
	b := dial(t, ctx, tr, "b", peer.Options{})
	if _, err := b.Fetch(ctx, "d.png"); err != nil {
		t.Fatal(err)
	}
	if a.Served() != 0 {
		t.Errorf("peer A served %d chunks with peer fetch off", a.Served())
	}
}

// TestRequesterNeverAsked: a peer asking for a chunk the relay no longer
// holds is never asked for it itself, even when it is the only holder the
// relay knows: the miss goes to the origin.
func TestRequesterNeverAsked(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	img := randomBytes(11, 6*wire.MaxChunkSize)
	tr := startRelay(t, map[string][]byte{"r.png": img}, cache.Config{MaxBytes: wire.MaxChunkSize}, patientPeers)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a := dial(t, ctx, tr, "a", peer.Options{})
	if _, err := a.Fetch(ctx, "r.png"); err != nil {
		t.Fatal(err)
	}
	waitHolders(t, tr, 6)
	before := tr.relay.Stats()
	for _, get := range []func() error{
		func() error { _, err := a.Fetch(ctx, "r.png"); return err },
		func() error { // by hash alone: the cache finds the manifest that lists it
			m, err := a.FetchManifest(ctx, "r.png")
			if err != nil {
				return err
			}
			byHash := *m
			byHash.Path = ""
			_, err = a.FetchChunk(ctx, &byHash, 0)
			return err
		},
	} {
		if err := get(); err != nil {
			t.Fatal(err)
		}
	}
	after := tr.relay.Stats()
	if a.Served() != 0 || after.ChunksBySource["peer"] != before.ChunksBySource["peer"] {
		t.Errorf("the requester served %d chunks to itself", a.Served())
	}
	if n := after.PeerFetches["ok"] + after.PeerFetches["gone"] + after.PeerFetches["timeout"]; n != 0 {
		t.Errorf("the relay asked a peer %d times, want never: %v", n, after.PeerFetches)
	}
	if after.ChunksBySource["origin"] == before.ChunksBySource["origin"] {
		t.Error("no chunk came from the origin")
	}
}
