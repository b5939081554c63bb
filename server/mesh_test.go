package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/p2pcache/p2pcache/relay/mesh"
	"github.com/p2pcache/p2pcache/server/internal/config"
	"github.com/p2pcache/p2pcache/server/internal/syncbuf"
)

// The process-level tests of the relay mesh (--nats): real relay
// processes on loopback, one test origin that counts what it is asked.

// meshChunk is the relays' --chunk-size in these tests: small, so a file
// is many chunks.
const meshChunk = 16 << 10

// countingOrigin serves files from memory with Range support and counts,
// per chunk of meshChunk bytes, how many times its bytes were sent.
type countingOrigin struct {
	*httptest.Server
	files map[string][]byte

	mu       sync.Mutex
	sent     map[string][]int // path → times each chunk was sent
	requests int
}

func newCountingOrigin(t *testing.T, files map[string][]byte) *countingOrigin {
	o := &countingOrigin{files: files, sent: map[string][]int{}}
	for p, b := range files {
		o.sent[p] = make([]int, (len(b)+meshChunk-1)/meshChunk)
	}
	o.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := strings.TrimPrefix(r.URL.Path, "/")
		b, ok := o.files[p]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "max-age=3600")
		w.Header().Set("ETag", fmt.Sprintf("%q", p))
		rec := &countingWriter{ResponseWriter: w}
		http.ServeContent(rec, r, p, time.Unix(1e9, 0), bytes.NewReader(b))
		o.mu.Lock()
		defer o.mu.Unlock()
		o.requests++
		first := int64(0)
		if rec.status == http.StatusPartialContent {
			fmt.Sscanf(rec.Header().Get("Content-Range"), "bytes %d-", &first)
		}
		if rec.status == http.StatusOK || rec.status == http.StatusPartialContent {
			for off := first; off < first+rec.n; off += meshChunk {
				o.sent[p][off/meshChunk]++
			}
		}
	}))
	t.Cleanup(o.Close)
	return o
}

type countingWriter struct {
	http.ResponseWriter
	status int
	n      int64
}

func (w *countingWriter) WriteHeader(code int) { w.status = code; w.ResponseWriter.WriteHeader(code) }
func (w *countingWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.n += int64(n)
	return n, err
}

// chunkCounts returns, for paths, how many chunks the origin sent once,
// more than once, and not at all.
func (o *countingOrigin) chunkCounts(paths ...string) (once, more, none int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, p := range paths {
		for _, n := range o.sent[p] {
			switch {
			case n == 1:
				once++
			case n > 1:
				more++
			default:
				none++
			}
		}
	}
	return once, more, none
}

// count is how many requests the origin answered.
func (o *countingOrigin) count() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.requests
}

// meshFiles makes n random files of 1 to 12 chunks (the last one partial),
// named prefix0.bin...
func meshFiles(seed uint64, prefix string, n int) map[string][]byte {
	rng := rand.New(rand.NewPCG(seed, 1))
	files := map[string][]byte{}
	for i := range n {
		b := make([]byte, meshChunk*(1+rng.IntN(12))-rng.IntN(meshChunk/2))
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		files[prefix+strconv.Itoa(i)+".bin"] = b
	}
	return files
}

// buildTool builds a main package into dir and returns the binary.
func buildTool(t *testing.T, dir, name, pkg string) string {
	t.Helper()
	bin := filepath.Join(dir, name)
	cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", bin, pkg)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
	return bin
}

// proc is a process a test started; stop ends it (SIGTERM, then SIGKILL)
// and waits.
type proc struct {
	name   string
	cmd    *exec.Cmd
	out    *syncbuf.Buffer
	exited chan struct{}
	once   sync.Once
}

func startProc(t *testing.T, name, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, cmd: exec.Command(bin, args...), out: &syncbuf.Buffer{}, exited: make(chan struct{})}
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "P2PCACHE_") {
			p.cmd.Env = append(p.cmd.Env, e)
		}
	}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.stop(syscall.SIGTERM)
		if t.Failed() {
			t.Logf("%s output:\n%s", name, p.out.String())
		}
	})
	return p
}

func (p *proc) stop(sig syscall.Signal) {
	p.once.Do(func() {
		p.cmd.Process.Signal(sig)
		select {
		case <-p.exited:
		case <-time.After(10 * time.Second):
			p.cmd.Process.Kill()
			<-p.exited
		}
	})
}

// meshRelay is one relay process of a test cluster.
type meshRelay struct {
	*proc
	base string // http://listen
}

// startMeshRelay starts a relay in front of origin with the mesh flags,
// and waits for its /healthz.
func startMeshRelay(t *testing.T, bin, name, origin string, meshArgs ...string) *meshRelay {
	t.Helper()
	listen := freePort(t)
	args := append([]string{"--listen", listen, "--ice-listen", freePort(t), "--origin", origin,
		"--chunk-size", strconv.Itoa(meshChunk), "--cache-size", "16MiB", "--log-level", "info",
		"--shutdown-timeout", "2s", "--public-url", "http://" + listen, "--relay-id", name}, meshArgs...)
	r := &meshRelay{proc: startProc(t, name, bin, args...), base: "http://" + listen}
	for start := time.Now(); ; time.Sleep(20 * time.Millisecond) {
		if code, _ := httpGet(r.base + "/healthz"); code == 200 {
			return r
		}
		select {
		case <-r.exited:
			t.Fatalf("%s exited at start:\n%s", name, r.out.String())
		default:
		}
		if time.Since(start) > 20*time.Second {
			t.Fatalf("%s did not come up:\n%s", name, r.out.String())
		}
	}
}

// httpGet returns the status and body of GET url; 0 when it fails.
func httpGet(url string) (int, []byte) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil
	}
	return resp.StatusCode, b
}

// cluster returns a relay's GET /cluster.
func (r *meshRelay) cluster(t *testing.T) mesh.Cluster {
	t.Helper()
	code, b := httpGet(r.base + "/cluster")
	var cl mesh.Cluster
	if code != 200 || json.Unmarshal(b, &cl) != nil {
		t.Fatalf("%s: GET /cluster: %d %s", r.name, code, b)
	}
	return cl
}

// waitCluster waits until every relay's /cluster lists n relays.
func waitCluster(t *testing.T, relays []*meshRelay, n int, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for _, r := range relays {
		for {
			cl := r.cluster(t)
			if len(cl.Relays) == n {
				break
			}
			if time.Since(start) > within {
				t.Fatalf("%s: /cluster lists %d relays after %v, want %d: %+v", r.name, len(cl.Relays), within, n, cl)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return time.Since(start)
}

// fetchAll fetches every path through r's /files and checks the bytes.
func fetchAll(t *testing.T, r *meshRelay, files map[string][]byte, paths []string) {
	t.Helper()
	for _, p := range paths {
		code, b := httpGet(r.base + "/files/" + p)
		if code != 200 || !bytes.Equal(b, files[p]) {
			t.Fatalf("%s: GET /files/%s: %d, %d bytes, want 200 and the file's %d", r.name, p, code, len(b), len(files[p]))
		}
	}
}

func sortedPaths(files map[string][]byte, prefix string) []string {
	var out []string
	for p := range files {
		if strings.HasPrefix(p, prefix) {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

// metric returns the value of one series in a relay's /metrics (0 when
// absent).
func (r *meshRelay) metric(t *testing.T, series string) float64 {
	t.Helper()
	code, b := httpGet(r.base + "/metrics")
	if code != 200 {
		t.Fatalf("%s: /metrics: %d", r.name, code)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, series+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}

// meshRequests returns a relay's p2pcache_mesh_requests_total series that
// are not "ok", for a failure's log.
func (r *meshRelay) meshRequests(t *testing.T) string {
	t.Helper()
	_, b := httpGet(r.base + "/metrics")
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "p2pcache_mesh_requests_total{") && !strings.Contains(l, `result="ok"`) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "; ")
}

// timeouts is how many requests to other relays the relays recorded as
// timed out.
func timeouts(t *testing.T, relays []*meshRelay) float64 {
	t.Helper()
	var n float64
	for _, r := range relays {
		code, b := httpGet(r.base + "/metrics")
		if code != 200 {
			t.Fatalf("%s: /metrics: %d", r.name, code)
		}
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "p2pcache_mesh_requests_total{") && strings.Contains(l, `result="timeout"`) {
				f, _ := strconv.ParseFloat(l[strings.LastIndexByte(l, ' ')+1:], 64)
				n += f
			}
		}
	}
	return n
}

// fileSets makes sets of n files each, named by the sets' prefixes
// (which must not be prefixes of one another).
func fileSets(seed uint64, n int, prefixes ...string) map[string][]byte {
	files := map[string][]byte{}
	for i, p := range prefixes {
		for name, b := range meshFiles(seed+uint64(i), p, n) {
			files[name] = b
		}
	}
	return files
}

// shareOnce fetches each file of a set through each relay in turn and
// checks the cluster shared it: the origin sent each chunk's bytes once,
// and answered nothing for the relays after the first. If it did more,
// the set counts only if the relays recorded no timeout meanwhile: a
// starved process (the race detector on a loaded machine) can miss an
// owner's first-answer deadline (50 ms at least), and the requester then
// rightly goes to the origin; the next set is tried. Without a timeout,
// a second read is a failure. It returns the set that shared.
func shareOnce(t *testing.T, what string, origin *countingOrigin, files map[string][]byte, relays []*meshRelay, sets ...string) string {
	t.Helper()
	for _, set := range sets {
		paths := sortedPaths(files, set)
		t0 := timeouts(t, relays)
		start := time.Now()
		fetchAll(t, relays[0], files, paths)
		first, after := time.Since(start), origin.count()
		for _, r := range relays[1:] {
			fetchAll(t, r, files, paths)
		}
		once, more, none := origin.chunkCounts(paths...)
		extra := origin.count() - after
		t.Logf("%s: %d files through %d relays in turn (%v through the first, %v in all): origin sent %d chunks once, %d more than once, %d never, and answered %d requests after the first relay's",
			what, len(paths), len(relays), first.Round(time.Millisecond), time.Since(start).Round(time.Millisecond), once, more, none, extra)
		if more == 0 && none == 0 && extra == 0 {
			return set
		}
		if n := timeouts(t, relays) - t0; n == 0 {
			for _, r := range relays {
				t.Logf("%s: %s", r.name, r.meshRequests(t))
			}
			t.Fatalf("%s: the origin read chunks more than once (or never) with no mesh timeout to explain it", what)
		} else {
			t.Logf("%s: %v requests to other relays timed out meanwhile (a starved process): trying another set", what, n)
		}
	}
	t.Fatalf("%s: no set of files was shared once (timeouts every time)", what)
	return ""
}

// TestMeshEmbeddedProcesses: three relay processes, each with an embedded
// NATS server routed to the others, in front of one origin. Every file
// fetched through each relay in turn over /files reaches the origin once
// per cluster: each chunk's bytes are sent once. GET /cluster on each
// lists the three. Then one relay is killed (SIGKILL: no goodbye): the two
// left serve new files at once, still fetching each chunk once, and drop
// it from /cluster when it expires.
func TestMeshEmbeddedProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs three relays")
	}
	defer http.DefaultClient.CloseIdleConnections()
	bin := buildTool(t, t.TempDir(), "p2pcache", ".")
	files := fileSets(1, 6, "a1-", "a2-", "a3-", "b1-", "b2-", "b3-")
	origin := newCountingOrigin(t, files)
	var routes []string
	cl := make([]string, 3)
	for i := range cl {
		cl[i] = freePort(t)
		routes = append(routes, "nats-route://"+cl[i])
	}
	var relays []*meshRelay
	for i := range 3 {
		relays = append(relays, startMeshRelay(t, bin, fmt.Sprintf("relay-%d", i), origin.URL,
			"--nats", "embedded", "--nats-cluster-listen", cl[i], "--nats-routes", strings.Join(routes, ",")))
	}
	formed := waitCluster(t, relays, 3, 20*time.Second)
	t.Logf("cluster of 3 formed %v after the last relay started", formed.Round(time.Millisecond))
	for _, r := range relays {
		c := r.cluster(t)
		for i, m := range c.Relays {
			if m.ID != relays[i].name || m.URL != relays[i].base || m.Self != (m.ID == r.name) {
				t.Errorf("%s: /cluster relay %d is %+v, want %s at %s", r.name, i, m, relays[i].name, relays[i].base)
			}
		}
		if c.Self != r.name {
			t.Errorf("%s: /cluster self %q", r.name, c.Self)
		}
	}

	shareOnce(t, "3 relays", origin, files, relays, "a1-", "a2-", "a3-")
	var fills float64
	for _, r := range relays {
		fills += r.metric(t, `p2pcache_mesh_fills_total{kind="chunk"}`)
	}
	if fills == 0 {
		t.Error("no chunk filled from the cluster (p2pcache_mesh_fills_total)")
	}

	// A relay dies without leaving: the others fail over at once.
	relays[2].stop(syscall.SIGKILL)
	killed := time.Now()
	shareOnce(t, "after SIGKILL of relay-2", origin, files, relays[:2], "b1-", "b2-", "b3-")
	waitCluster(t, relays[:2], 2, 10*time.Second)
	t.Logf("relay-2 dropped from /cluster %v after the kill", time.Since(killed).Round(time.Millisecond))
}

// TestMeshExternalNATS: three relays on one external nats-server (built
// from the module's nats-server). NATS is killed mid-run: the relays keep
// serving /files, each alone from the origin; NATS restarts on the same
// port: the relays rejoin by themselves and share again, so a file one
// relay fetched costs the others nothing at the origin.
func TestMeshExternalNATS(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binaries and runs a NATS server and three relays")
	}
	defer http.DefaultClient.CloseIdleConnections()
	dir := t.TempDir()
	bin := buildTool(t, dir, "p2pcache", ".")
	natsBin := buildTool(t, dir, "nats-server", "github.com/nats-io/nats-server/v2")
	natsAddr := freePort(t)
	host, port, _ := strings.Cut(natsAddr, ":")
	startNATS := func() *proc {
		p := startProc(t, "nats-server", natsBin, "-a", host, "-p", port)
		for start := time.Now(); ; time.Sleep(20 * time.Millisecond) {
			if c, err := net.Dial("tcp", natsAddr); err == nil {
				c.Close()
				return p
			}
			if time.Since(start) > 10*time.Second {
				t.Fatalf("nats-server did not come up:\n%s", p.out.String())
			}
		}
	}
	ns := startNATS()

	files := fileSets(3, 4, "a1-", "a2-", "a3-", "b-", "c1-", "c2-", "c3-")
	origin := newCountingOrigin(t, files)
	var relays []*meshRelay
	for i := range 3 {
		relays = append(relays, startMeshRelay(t, bin, fmt.Sprintf("relay-%d", i), origin.URL, "--nats", "nats://"+natsAddr))
	}
	formed := waitCluster(t, relays, 3, 20*time.Second)
	t.Logf("cluster of 3 on external NATS formed %v after the last relay started", formed.Round(time.Millisecond))
	shareOnce(t, "NATS up", origin, files, relays, "a1-", "a2-", "a3-")

	// NATS dies: every relay serves alone, from the origin, and stays ready.
	ns.stop(syscall.SIGKILL)
	down := time.Now()
	b := sortedPaths(files, "b-")
	for _, r := range relays {
		fetchAll(t, r, files, b)
	}
	onceB, moreB, noneB := origin.chunkCounts(b...)
	t.Logf("NATS killed: %d files through the 3 relays, alone, in %v (%d chunks read by more than one)",
		len(b), time.Since(down).Round(time.Millisecond), moreB)
	if onceB != 0 || noneB != 0 || moreB == 0 {
		t.Errorf("NATS down: origin sent %d chunks once, %d never; want each relay to read every chunk itself", onceB, noneB)
	}
	for _, r := range relays {
		if v := r.metric(t, "p2pcache_mesh_connected"); v != 0 {
			t.Errorf("%s: p2pcache_mesh_connected %v with NATS down", r.name, v)
		}
		if code, _ := httpGet(r.base + "/readyz"); code != 200 {
			t.Errorf("%s: /readyz %d with NATS down; the relay serves alone and stays ready", r.name, code)
		}
	}

	// NATS comes back on the same port: the relays rejoin and share again.
	startNATS()
	rejoined := waitCluster(t, relays, 3, 20*time.Second)
	t.Logf("NATS restarted: every /cluster lists 3 again after %v", rejoined.Round(time.Millisecond))
	shareOnce(t, "NATS back", origin, files, relays, "c1-", "c2-", "c3-")
}

// TestDeployNATSEnv: deploy/nats/relay-*.env, as shipped, are mesh
// settings this relay takes: external NATS, a public URL, a region, an id.
func TestDeployNATSEnv(t *testing.T) {
	envs, _ := filepath.Glob("../deploy/nats/relay-*.env")
	if len(envs) < 2 {
		t.Fatalf("deploy/nats: %d relay env files, want one per region", len(envs))
	}
	for _, f := range envs {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"P2PCACHE_CONFIG", "P2PCACHE_LISTEN", "P2PCACHE_ICE_LISTEN", "P2PCACHE_NATS", "P2PCACHE_PUBLIC_URL", "P2PCACHE_REGION", "P2PCACHE_RELAY_ID"} {
			t.Setenv(k, "")
		}
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, "="); ok && strings.HasPrefix(k, "P2PCACHE_") {
				t.Setenv(k, v)
			}
		}
		cfg, err := config.Parse(nil)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if !cfg.Mesh() || cfg.EmbeddedNATS() || len(cfg.NATS) != 2 || cfg.PublicURL == "" || cfg.Region == "" || cfg.MeshID() == "" {
			t.Errorf("%s read as %+v", f, cfg)
		}
	}
}
