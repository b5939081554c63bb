package mesh

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/sync/errgroup"

	"github.com/p2pcache/p2pcache/cache"
	"github.com/p2pcache/p2pcache/relay/wire"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// cs is the chunk size of the tests: small files, many chunks.
const cs = 1024

func testLogger() *slog.Logger {
	if os.Getenv("MESH_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// content returns n bytes in which every 1 KiB chunk is distinct: a
// SHA-256 stream of seed.
func content(seed string, n int) []byte {
	b := make([]byte, 0, n+sha256.Size)
	var ctr [8]byte
	for i := uint64(0); len(b) < n; i++ {
		binary.BigEndian.PutUint64(ctr[:], i)
		h := sha256.Sum256(append([]byte(seed), ctr[:]...))
		b = append(b, h[:]...)
	}
	return b[:n]
}

// fileSet is files with distinct chunks: sizes from one byte to a dozen
// chunks, with short last chunks.
func fileSet(prefix string) map[string][]byte {
	sizes := []int{1, cs, cs + 3, 5 * cs / 2, 5 * cs, 7*cs + 1, 12 * cs}
	out := make(map[string][]byte, len(sizes))
	for i, n := range sizes {
		p := fmt.Sprintf("%s/file-%d.bin", prefix, i)
		out[p] = content(p, n)
	}
	return out
}

func chunksOf(files map[string][]byte) (chunks, bytes int) {
	for _, b := range files {
		chunks += wire.NumChunks(int64(len(b)), cs)
		bytes += len(b)
	}
	return chunks, bytes
}

func sortedPaths(files map[string][]byte) []string {
	ps := make([]string, 0, len(files))
	for p := range files {
		ps = append(ps, p)
	}
	sort.Strings(ps)
	return ps
}

// countingOrigin is the one origin all relays of a test share, as in
// production, counting what it is asked: whole-file fetches (manifest
// builds), conditional ones (revalidations), range fetches, chunks read
// (a whole file counts all its chunks, a range one) and body bytes.
type countingOrigin struct {
	inner cache.Origin
	delay time.Duration // before every answer, so flights overlap

	whole, conds, ranges, missing, chunkReads, bytes atomic.Int64
}

func newOrigin(files ...map[string][]byte) *countingOrigin {
	fsys := fstest.MapFS{}
	mod := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, fs := range files {
		for p, b := range fs {
			fsys[p] = &fstest.MapFile{Data: b, ModTime: mod}
		}
	}
	return &countingOrigin{inner: cache.NewFSOrigin(fsys, cache.FSOriginConfig{MaxAge: time.Hour})}
}

func (o *countingOrigin) Fetch(ctx context.Context, req cache.Request) (*cache.Response, error) {
	switch {
	case req.Length > 0:
		o.ranges.Add(1)
	case !req.Cond.IsZero():
		o.conds.Add(1)
	default:
		o.whole.Add(1)
	}
	if o.delay > 0 {
		select {
		case <-time.After(o.delay):
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: %w", cache.ErrOrigin, ctx.Err())
		}
	}
	resp, err := o.inner.Fetch(ctx, req)
	if errors.Is(err, cache.ErrNotFound) {
		o.missing.Add(1)
	}
	if err != nil || resp.NotModified {
		return resp, err
	}
	if req.Length > 0 {
		o.chunkReads.Add(1)
	} else {
		o.chunkReads.Add(int64(wire.NumChunks(resp.Length, cs)))
	}
	resp.Body = countingBody{resp.Body, &o.bytes}
	return resp, nil
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

type originCounts struct{ whole, conds, ranges, missing, chunkReads, bytes int64 }

func (o *countingOrigin) counts() originCounts {
	return originCounts{o.whole.Load(), o.conds.Load(), o.ranges.Load(), o.missing.Load(), o.chunkReads.Load(), o.bytes.Load()}
}

func (c originCounts) sub(d originCounts) originCounts {
	return originCounts{c.whole - d.whole, c.conds - d.conds, c.ranges - d.ranges, c.missing - d.missing, c.chunkReads - d.chunkReads, c.bytes - d.bytes}
}

func (c originCounts) String() string {
	return fmt.Sprintf("%d whole-file, %d conditional, %d range requests, %d not found; %d chunks and %d bytes read",
		c.whole, c.conds, c.ranges, c.missing, c.chunkReads, c.bytes)
}

// fastConfig is a mesh config for loopback tests: membership 10× faster
// than the defaults. The answer timeouts stay near the defaults: under
// -race on a loaded 2-core machine an owner can take over 100 ms to answer,
// and one timeout (by design) sends that owner's keys to the origin, which
// the exact origin counts of these tests would see.
func fastConfig(id string) Config {
	return Config{
		ID: id, PublicURL: "https://" + id + ".test", Region: "test",
		AnnounceInterval: 100 * time.Millisecond, Expiry: 400 * time.Millisecond,
		TimeoutMin: 300 * time.Millisecond, TimeoutMax: time.Second,
		Heartbeat: 100 * time.Millisecond,
		Logger:    testLogger().With("relay", id),
	}
}

// node is one relay: a cache in front of the shared origin, and its mesh.
type node struct {
	id string
	c  *cache.Cache
	m  *Mesh
}

func newCache(t testing.TB, o cache.Origin, now func() time.Time) *cache.Cache {
	t.Helper()
	c, err := cache.New(o, cache.Config{ChunkSize: cs, OriginTimeout: 10 * time.Second, Now: now, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func newNode(t testing.TB, cfg Config, o cache.Origin, now func() time.Time) *node {
	t.Helper()
	c := newCache(t, o, now)
	m, err := New(t.Context(), cfg, c)
	if err != nil {
		t.Fatal(err)
	}
	c.SetTier(m)
	n := &node{id: cfg.ID, c: c, m: m}
	t.Cleanup(n.stop)
	return n
}

// stop takes the relay down as a stopping process does: the cache stops
// asking the tier, the mesh leaves, the cache closes.
func (n *node) stop() {
	n.c.SetTier(nil)
	n.m.Close()
	n.c.Close()
}

// embeddedCluster starts n relays, each with an embedded NATS server
// routed to the first's, and waits until each sees all.
func embeddedCluster(t testing.TB, n int, o cache.Origin, now func() time.Time, mod func(*Config)) []*node {
	t.Helper()
	nodes := make([]*node, n)
	var route []string
	for i := range nodes {
		cfg := fastConfig(fmt.Sprintf("r%d", i))
		cfg.Embedded = &EmbeddedConfig{ClusterListen: "127.0.0.1:0", Routes: route}
		if mod != nil {
			mod(&cfg)
		}
		nodes[i] = newNode(t, cfg, o, now)
		if i == 0 {
			route = []string{nodes[0].m.Embedded().RouteURL()}
		}
	}
	waitMembers(t, nodes, n)
	return nodes
}

// waitMembers waits until every node sees want members.
func waitMembers(t testing.TB, nodes []*node, want int) time.Duration {
	t.Helper()
	start := time.Now()
	deadline := start.Add(15 * time.Second)
	for {
		ok := true
		for _, n := range nodes {
			if len(n.m.Members()) != want {
				ok = false
			}
		}
		if ok {
			return time.Since(start)
		}
		if time.Now().After(deadline) {
			for _, n := range nodes {
				t.Logf("%s sees %v", n.id, n.m.members.live())
			}
			t.Fatalf("members did not converge to %d in 15 s", want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// fetch reads path through n as a relay serving it does: its manifest,
// then every chunk, and checks the bytes.
func fetch(ctx context.Context, n *node, path string, want []byte) error {
	m, err := n.c.Manifest(ctx, path)
	if err != nil {
		return fmt.Errorf("%s: manifest of %s: %w", n.id, path, err)
	}
	got := make([]byte, 0, m.Size)
	for i := range m.Chunks {
		b, _, err := n.c.Chunk(ctx, m, i)
		if err != nil {
			return fmt.Errorf("%s: chunk %d of %s: %w", n.id, i, path, err)
		}
		got = append(got, b...)
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("%s: %s: wrong bytes", n.id, path)
	}
	return nil
}

func fetchAll(t testing.TB, n *node, files map[string][]byte) {
	t.Helper()
	for _, p := range sortedPaths(files) {
		if err := fetch(t.Context(), n, p, files[p]); err != nil {
			t.Fatal(err)
		}
	}
}

// fakeClock is the caches' clock in tests that age manifests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// TestOriginOncePerCluster: every file fetched through each of three
// relays in turn, then through all three at once, costs the origin one
// manifest build per file and one read of each chunk, as one relay alone
// does; three relays without the mesh cost three times that. Stale
// manifests are revalidated once per cluster; a missing file is asked
// once.
func TestOriginOncePerCluster(t *testing.T) {
	seq, conc := fileSet("seq"), fileSet("conc")
	nchunks, nbytes := chunksOf(seq)

	// Baselines: one relay; three relays that do not know each other.
	one := newOrigin(seq)
	fetchAll(t, &node{id: "alone", c: newCache(t, one, nil)}, seq)
	t.Logf("1 relay: %v", one.counts())
	three := newOrigin(seq)
	for range 3 {
		fetchAll(t, &node{id: "alone", c: newCache(t, three, nil)}, seq)
	}
	t.Logf("3 relays without the mesh: %v", three.counts())

	clock := &fakeClock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	o := newOrigin(seq, conc)
	nodes := embeddedCluster(t, 3, o, clock.now, nil)

	// Each relay in turn.
	for _, n := range nodes {
		fetchAll(t, n, seq)
	}
	got := o.counts()
	t.Logf("3 relays on the mesh, each in turn: %v (files %d, chunks %d, bytes %d)", got, len(seq), nchunks, nbytes)
	if got != (originCounts{whole: int64(len(seq)), chunkReads: int64(nchunks), bytes: int64(nbytes)}) {
		t.Errorf("origin: %v; want %d whole-file requests, %d chunks and %d bytes read, nothing else", got, len(seq), nchunks, nbytes)
	}
	for _, n := range nodes {
		st := n.c.Stats()
		t.Logf("%s: %d manifests and %d chunks from the tier, %d origin fetches, served %+v", n.id, st.TierManifests, st.TierFills, st.OriginFetches, n.m.Stats().Served)
	}

	// All at once, each relay fetching every file in parallel.
	before := o.counts()
	var g errgroup.Group
	for _, n := range nodes {
		for p, b := range conc {
			g.Go(func() error { return fetch(t.Context(), n, p, b) })
		}
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	got = o.counts().sub(before)
	t.Logf("3 relays on the mesh, at once: %v", got)
	if got != (originCounts{whole: int64(len(conc)), chunkReads: int64(nchunks), bytes: int64(nbytes)}) {
		t.Errorf("origin: %v; want %d whole-file requests, %d chunks and %d bytes read", got, len(conc), nchunks, nbytes)
	}

	// Past max-age every relay's manifests are stale; the owners
	// revalidate once each, the others get the renewed manifests.
	clock.advance(2 * time.Hour)
	before = o.counts()
	for _, n := range nodes {
		for _, p := range sortedPaths(seq) {
			if _, err := n.c.Manifest(t.Context(), p); err != nil {
				t.Fatal(err)
			}
		}
	}
	got = o.counts().sub(before)
	t.Logf("revalidating every manifest on every relay: %v", got)
	if got != (originCounts{conds: int64(len(seq))}) {
		t.Errorf("origin: %v; want %d conditional requests and nothing else", got, len(seq))
	}

	// A file the origin does not have: asked once; the others believe the owner.
	before = o.counts()
	for _, n := range nodes {
		if _, err := n.c.Manifest(t.Context(), "no/such/file"); !errors.Is(err, cache.ErrNotFound) {
			t.Fatalf("%s: %v, want ErrNotFound", n.id, err)
		}
	}
	if got = o.counts().sub(before); got != (originCounts{whole: 1, missing: 1}) {
		t.Errorf("origin for a missing file: %v; want 1 request", got)
	}
}

// pathOwnedBy returns a path of files whose manifest owner is owner and
// that has chunks owned by each of ids, among the names prefix/file-N.
func pathOwnedBy(t testing.TB, prefix string, owner string, ids []string, chunks int) (string, []byte) {
	t.Helper()
	for i := range 1000 {
		p := fmt.Sprintf("%s/file-%d.bin", prefix, i)
		if Owner(ManifestKey(p), ids) != owner {
			continue
		}
		b := content(p, chunks*cs)
		seen := map[string]bool{}
		for off := 0; off < len(b); off += cs {
			seen[Owner(ChunkKey(wire.Sum(b[off:off+cs])), ids)] = true
		}
		if len(seen) == len(ids) {
			return p, b
		}
	}
	t.Fatal("no such path")
	return "", nil
}

// TestOwnerKilledMidTransfer: the owner of a file (who holds every chunk
// from the manifest build) goes away while another relay is a third of
// the way through the file: cleanly (it leaves), by crashing (its NATS
// server and connection vanish without a word, as when the process is
// killed), or by hanging (it stops answering and announcing, as a
// partitioned or frozen process does). The transfer completes, every
// later chunk from its next owner or the origin, each within a bounded
// wait.
func TestOwnerKilledMidTransfer(t *testing.T) {
	for _, how := range []string{"leaves", "crashes", "hangs"} {
		t.Run(how, func(t *testing.T) {
			const nchunks = 60
			ids := []string{"r0", "r1", "r2"}
			path, data := pathOwnedBy(t, "kill-"+how, "r1", ids, nchunks)
			o := newOrigin(map[string][]byte{path: data})
			nodes := embeddedCluster(t, 3, o, nil, nil)
			owner, req := nodes[1], nodes[0]

			ctx := t.Context()
			m, err := req.c.Manifest(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			var got []byte
			var slowest time.Duration
			var killedAt time.Time
			var kill sync.WaitGroup
			defer kill.Wait()
			for i := range m.Chunks {
				if i == nchunks/3 {
					// Killed from outside, as another process would be,
					// while the transfer goes on.
					killedAt = time.Now()
					kill.Go(func() {
						switch how {
						case "leaves":
							owner.stop()
						case "crashes":
							owner.m.Embedded().Close()
						case "hangs":
							owner.m.setFaults(&faults{drop: func(*request) bool { return true }, mute: true})
						}
					})
				}
				start := time.Now()
				b, _, err := req.c.Chunk(ctx, m, i)
				if err != nil {
					t.Fatalf("chunk %d: %v", i, err)
				}
				if i >= nchunks/3 {
					slowest = max(slowest, time.Since(start))
				}
				got = append(got, b...)
			}
			total := time.Since(killedAt)
			if !bytes.Equal(got, data) {
				t.Fatal("wrong bytes")
			}
			c := o.counts()
			t.Logf("owner %s: the last %d chunks took %v, the slowest %v; origin: %v",
				how, nchunks-nchunks/3, total, slowest, c)
			// The bound: a first-answer timeout (at most TimeoutMax) per owner
			// tried, plus the origin; generous for a loaded machine.
			if bound := 2*fastConfig("").TimeoutMax + 500*time.Millisecond; slowest > bound {
				t.Errorf("a chunk took %v after the owner went away, want under %v", slowest, bound)
			}
			if c.whole != 1 || c.ranges == 0 {
				t.Errorf("origin: %v; want the one manifest build and range requests for the rest", c)
			}
			if how != "leaves" {
				// The others see it gone once it has been silent for Expiry.
				waitMembers(t, []*node{nodes[0], nodes[2]}, 2)
				t.Logf("the hung owner expired %v after it hung", time.Since(killedAt))
			}
		})
	}
}

// TestLyingRelayExcluded: a relay answering with corrupt chunks is caught
// by the bytes' hash, struck and excluded: the requester is not misled,
// gets the chunk elsewhere, and does not ask the liar again.
func TestLyingRelayExcluded(t *testing.T) {
	ids := []string{"r0", "r1", "r2"}
	path, data := pathOwnedBy(t, "lie", "r1", ids, 30)
	o := newOrigin(map[string][]byte{path: data})
	nodes := embeddedCluster(t, 3, o, nil, nil)
	req, liar := nodes[0], nodes[2]
	var lies atomic.Int64
	liar.m.setFaults(&faults{rewrite: func(_ *request, b []byte) []byte {
		lies.Add(1)
		b = slices.Clone(b)
		b[0] ^= 0xff
		return b
	}})
	if err := fetch(t.Context(), req, path, data); err != nil {
		t.Fatal(err)
	}
	st := req.m.Stats().Remotes["r2"]
	t.Logf("liar told %d lies; requester's view of it: %+v", lies.Load(), st)
	if lies.Load() != 1 || st.BadBytes != 1 || !st.Excluded || st.Chunks != 1 {
		t.Errorf("liar answered %d times; stats %+v; want one lie, caught, excluded, not asked again", lies.Load(), st)
	}
	if cs := req.c.Stats(); cs.TierRejects != 0 {
		t.Errorf("the cache saw %d bad tier answers: the mesh let them through", cs.TierRejects)
	}
	// Still a member, but not an owner of anything for the requester.
	if len(req.m.Members()) != 3 {
		t.Errorf("members %v", req.m.Members())
	}
	for off := 0; off < len(data); off += cs {
		if k := ChunkKey(wire.Sum(data[off:min(off+cs, len(data))])); slices.Contains(req.m.Owners(k), "r2") {
			t.Fatalf("the liar still owns %s for the requester", k)
		}
	}
	// The other relay, which never asked the liar, still does.
	if !slices.Contains(nodes[1].m.Owners("any"), "r2") {
		t.Error("exclusion is not local")
	}
}

// natsServers are three NATS servers routed into a cluster, started apart
// from the relays (as an existing deployment is), which can be stopped
// and started again on the same ports.
type natsServers struct {
	t       testing.TB
	servers []*Embedded
	cfgs    []EmbeddedConfig
}

func startServers(t testing.TB, n int) *natsServers {
	ns := &natsServers{t: t}
	var route []string
	for i := range n {
		cfg := EmbeddedConfig{ServerName: fmt.Sprintf("s%d", i), Listen: "127.0.0.1:0", ClusterListen: "127.0.0.1:0", Routes: route}
		e, err := StartEmbedded(t.Context(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		// Restarts reuse the ports the system picked.
		cfg.Listen = e.Server().Addr().String()
		cfg.ClusterListen = e.Server().ClusterAddr().String()
		if i == 0 {
			route = []string{e.RouteURL()}
		}
		ns.servers = append(ns.servers, e)
		ns.cfgs = append(ns.cfgs, cfg)
	}
	for i := 1; i < n; i++ {
		ns.cfgs[i].Routes = route
	}
	t.Cleanup(ns.stop)
	return ns
}

func (ns *natsServers) stop() {
	for _, e := range ns.servers {
		e.Close()
	}
}

func (ns *natsServers) restart() {
	ns.stop()
	ns.servers = nil
	for _, cfg := range ns.cfgs {
		e, err := StartEmbedded(ns.t.Context(), cfg)
		if err != nil {
			ns.t.Fatal(err)
		}
		ns.servers = append(ns.servers, e)
	}
}

// TestNATSDownAndBack: relays on an external NATS cluster share one
// origin; with every NATS server down each relay serves alone, from the
// origin, without waiting on the tier; when NATS is back they rejoin by
// themselves and share again.
func TestNATSDownAndBack(t *testing.T) {
	a, b, c := fileSet("before"), fileSet("during"), fileSet("after")
	nchunks, _ := chunksOf(a)
	o := newOrigin(a, b, c)
	ns := startServers(t, 3)
	nodes := make([]*node, 3)
	for i := range nodes {
		cfg := fastConfig(fmt.Sprintf("r%d", i))
		cfg.NATSURLs = []string{ns.servers[i].ClientURL()}
		nodes[i] = newNode(t, cfg, o, nil)
	}
	waitMembers(t, nodes, 3)
	for _, n := range nodes {
		fetchAll(t, n, a)
	}
	if got := o.counts(); got.whole != int64(len(a)) || got.chunkReads != int64(nchunks) {
		for _, n := range nodes {
			t.Logf("%s: %+v", n.id, n.m.Stats())
		}
		t.Fatalf("origin before: %v", got)
	}

	ns.stop()
	stopped := time.Now()
	for _, n := range nodes {
		for n.m.Ready() {
			if time.Since(stopped) > 5*time.Second {
				t.Fatal("relay did not notice NATS was gone")
			}
			time.Sleep(time.Millisecond)
		}
	}
	t.Logf("relays noticed NATS was down in %v", time.Since(stopped))
	before := o.counts()
	var slowest time.Duration
	for _, n := range nodes {
		for _, p := range sortedPaths(b) {
			start := time.Now()
			if err := fetch(t.Context(), n, p, b[p]); err != nil {
				t.Fatal(err)
			}
			slowest = max(slowest, time.Since(start))
		}
		if len(n.m.Members()) != 1 {
			t.Errorf("%s: members %v while NATS is down", n.id, n.m.Members())
		}
	}
	got := o.counts().sub(before)
	t.Logf("NATS down: each relay alone: %v; slowest file %v", got, slowest)
	if got.whole != 3*int64(len(b)) {
		t.Errorf("origin while NATS is down: %v; want each relay to build its own manifests", got)
	}
	// No waits: a file of a dozen chunks from an in-memory origin, far
	// under one tier timeout.
	if slowest > fastConfig("").TimeoutMax {
		t.Errorf("a file took %v with NATS down: the tier waited", slowest)
	}

	ns.restart()
	restarted := time.Now()
	d := waitMembers(t, nodes, 3)
	t.Logf("NATS back: relays rejoined in %v", d)
	before = o.counts()
	for _, n := range nodes {
		fetchAll(t, n, c)
	}
	got = o.counts().sub(before)
	t.Logf("NATS back: %v (%v after restart)", got, time.Since(restarted))
	if got.whole != int64(len(c)) || got.chunkReads != int64(nchunks) {
		t.Errorf("origin after NATS came back: %v; want %d builds and %d chunks read", got, len(c), nchunks)
	}
	for _, n := range nodes {
		// A relay whose server stopped first moved to another server of
		// the cluster before that one stopped too: a disconnection or more.
		if st := n.m.Stats(); st.Disconnects == 0 || st.Connects != st.Disconnects+1 || !st.Connected {
			t.Errorf("%s: %+v", n.id, st)
		}
	}
}

// TestMembership: every relay lists all, itself included, with their
// URLs, regions and loads; a relay that leaves is dropped at once, one
// that falls silent after Expiry.
func TestMembership(t *testing.T) {
	o := newOrigin()
	nodes := embeddedCluster(t, 3, o, nil, func(c *Config) {
		peers := int(c.ID[1] - '0')
		c.Load = func() Load { return Load{Peers: peers, Egress: uint64(peers) << 20} }
		c.Region = "region-" + c.ID
	})
	for _, n := range nodes {
		ms := n.m.Members()
		if len(ms) != 3 {
			t.Fatalf("%s: %v", n.id, ms)
		}
		for i, m := range ms {
			want := Member{ID: fmt.Sprintf("r%d", i), URL: fmt.Sprintf("https://r%d.test", i), Region: fmt.Sprintf("region-r%d", i), Peers: i, Egress: uint64(i) << 20, Self: m.ID == n.id}
			m.Started, m.SeenMS = time.Time{}, 0
			if m != want {
				t.Errorf("%s lists %+v, want %+v", n.id, m, want)
			}
		}
		cl := n.m.Cluster()
		if cl.Self != n.id || len(cl.Relays) != 3 {
			t.Errorf("cluster %+v", cl)
		}
	}

	watch := nodes[0].m.Watch()
	left := time.Now()
	nodes[2].stop()
	select {
	case <-watch:
		t.Logf("a relay that left was dropped in %v", time.Since(left))
	case <-time.After(fastConfig("").Expiry / 2):
		t.Error("a relay that left was not dropped at once")
	}
	if got := nodes[0].m.Members(); len(got) != 2 {
		t.Errorf("members %v", got)
	}

	watch = nodes[0].m.Watch()
	muted := time.Now()
	nodes[1].m.setFaults(&faults{mute: true})
	select {
	case <-watch:
		// Its last announcement was up to an interval before it fell silent.
		d, cfg := time.Since(muted), fastConfig("")
		t.Logf("a silent relay was dropped in %v (expiry %v)", d, cfg.Expiry)
		if d < cfg.Expiry-cfg.AnnounceInterval {
			t.Errorf("dropped %v after it fell silent, before its expiry", d)
		}
	case <-time.After(10 * fastConfig("").Expiry):
		t.Error("a silent relay was not dropped")
	}
	nodes[1].m.setFaults(nil)
	waitMembers(t, nodes[:2], 2)
}

// TestChainWhenViewsDiffer: a relay that does not see a chunk's first
// owner (it timed out a moment ago) asks the second; the second, which
// does see the first, asks it in turn. Requests climb the one rank order,
// so the chain ends at the owner, which answers; nobody waits in a cycle.
func TestChainWhenViewsDiffer(t *testing.T) {
	files := fileSet("chain")
	o := newOrigin(files)
	nodes := embeddedCluster(t, 3, o, nil, func(c *Config) { c.SuspectFor = time.Minute })
	byID := map[string]*node{}
	for _, n := range nodes {
		byID[n.id] = n
	}
	path := sortedPaths(files)[len(files)-1] // the 12-chunk file
	ids := []string{"r0", "r1", "r2"}
	// A chunk whose ranks are (first, second, last), the first owning the
	// file too (it holds every chunk from the build); neither of the
	// others holds it.
	for i := range wire.NumChunks(int64(len(files[path])), cs) {
		data := files[path][i*cs : min((i+1)*cs, len(files[path]))]
		order := Owners(ChunkKey(wire.Sum(data)), ids)
		if order[0] != Owner(ManifestKey(path), ids) {
			continue
		}
		first, second, last := byID[order[0]], byID[order[1]], byID[order[2]]
		m, err := last.c.Manifest(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		last.m.remotes.done(first.id, resultTimeout, 0, 0, time.Now())
		if got := last.m.Owners(ChunkKey(m.Chunks[i])); !slices.Equal(got, []string{second.id, last.id}) {
			t.Fatalf("%s's owners %v", last.id, got)
		}
		start := time.Now()
		b, src, err := last.c.Chunk(t.Context(), m, i)
		if err != nil || src != cache.SourceRelay || !bytes.Equal(b, data) {
			t.Fatalf("chunk %d from %v: %v", i, src, err)
		}
		t.Logf("%s → %s → %s: chunk in %v", last.id, second.id, first.id, time.Since(start))
		if n := last.m.Stats().Remotes[second.id].Chunks; n != 1 {
			t.Errorf("%s asked %s %d times", last.id, second.id, n)
		}
		if n := second.m.Stats().Remotes[first.id].Chunks; n != 1 {
			t.Errorf("%s asked %s %d times", second.id, first.id, n)
		}
		if c := o.counts(); c.whole != 1 || c.ranges != 0 {
			t.Errorf("origin %v; want the manifest build alone", c)
		}
		return
	}
	t.Fatal("no chunk with such ranks")
}

// TestLargeManifestInParts: a manifest over MaxPart crosses in several
// messages and arrives whole.
func TestLargeManifestInParts(t *testing.T) {
	const path = "big/file.bin"
	data := content(path, 2500*cs) // 2500 chunk hashes: about 170 KB of JSON
	o := newOrigin(map[string][]byte{path: data})
	nodes := embeddedCluster(t, 2, o, nil, nil)
	owner := nodes[0]
	if Owner(ManifestKey(path), []string{"r0", "r1"}) != "r0" {
		owner = nodes[1]
	}
	other := nodes[0]
	if other == owner {
		other = nodes[1]
	}
	want, err := owner.c.ManifestForTier(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := encodeManifestAnswer(want)
	if len(body) <= 2*MaxPart {
		t.Fatalf("manifest answer of %d bytes: not over two parts", len(body))
	}
	got, err := other.c.Manifest(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	if got.SHA256 != want.Manifest.SHA256 || !slices.Equal(got.Chunks, want.Manifest.Chunks) {
		t.Error("the manifest changed on the way")
	}
	if st := other.c.Stats(); st.TierManifests != 1 || o.whole.Load() != 1 {
		t.Errorf("%d manifests from the tier, %d origin builds; want 1, 1", st.TierManifests, o.whole.Load())
	}
	t.Logf("a manifest of %d chunks: %d bytes in %d messages", len(got.Chunks), len(body), (len(body)+MaxPart-1)/MaxPart)
}
