package edge_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/p2pcache/p2pcache/cache"
	"github.com/p2pcache/p2pcache/relay"
	"github.com/p2pcache/p2pcache/relay/peer"
	"github.com/p2pcache/p2pcache/server/edge"
	"github.com/p2pcache/p2pcache/server/internal/syncbuf"
)

// memEdge is an edge over a small in-memory origin, driven with
// App().Test; cfg's Logger is set to log into the returned buffer (JSON).
func memEdge(t *testing.T, cfg edge.Config) (*edge.Edge, *syncbuf.Buffer) {
	t.Helper()
	c, err := cache.New(cache.NewFSOrigin(fstest.MapFS{
		"hello.txt": {Data: []byte("hello, p2pcache\n")},
	}, cache.FSOriginConfig{}), cache.Config{})
	if err != nil {
		t.Fatal(err)
	}
	iceLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r, err := relay.New(c, iceLn, relay.Config{})
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncbuf.Buffer{}
	cfg.Logger = slog.New(slog.NewJSONHandler(logs, nil))
	e, err := edge.New(r, c, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		e.Close()
		r.Close()
		c.Close()
	})
	return e, logs
}

func do(t *testing.T, e *edge.Edge, method, target string) (int, string) {
	t.Helper()
	resp, err := e.App().Test(httptest.NewRequest(method, target, nil), -1)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestReadyz: /readyz is 200 until a reason holds it at 503 (Unready, each
// hold released on its own; Drain for good), naming the reasons, while
// /healthz stays 200.
func TestReadyz(t *testing.T) {
	e, _ := memEdge(t, edge.Config{})
	if code, body := do(t, e, "GET", "/readyz"); code != 200 || !strings.Contains(body, `"status":"ready"`) {
		t.Fatalf("fresh edge: %d %s", code, body)
	}
	rel1 := e.Unready("starting")
	rel2 := e.Unready("cut off")
	e.Unready("starting")() // held and released at once: no trace
	code, body := do(t, e, "GET", "/readyz")
	var got struct {
		Status  string
		Reasons []string
	}
	json.Unmarshal([]byte(body), &got)
	if code != 503 || got.Status != "unready" || strings.Join(got.Reasons, ",") != "cut off,starting" {
		t.Fatalf("held: %d %s", code, body)
	}
	rel1()
	rel1() // idempotent: does not release the other hold
	if code, body := do(t, e, "GET", "/readyz"); code != 503 || !strings.Contains(body, `"reasons":["cut off"]`) {
		t.Fatalf("one hold left: %d %s", code, body)
	}
	rel2()
	if ready, reasons := e.Readiness(); !ready || len(reasons) != 0 {
		t.Fatalf("released: %v %v", ready, reasons)
	}
	e.Drain()
	if code, body := do(t, e, "GET", "/readyz"); code != 503 || !strings.Contains(body, `"reasons":["draining"]`) {
		t.Fatalf("draining: %d %s", code, body)
	}
	if code, _ := do(t, e, "GET", "/healthz"); code != 200 {
		t.Fatalf("/healthz while draining: %d", code)
	}
}

// TestReadyzFull: a relay with MaxPeers peers is not ready ("full") until
// one leaves.
func TestReadyzFull(t *testing.T) {
	defer http.DefaultClient.CloseIdleConnections()
	base := startServer(t, "", func(s *setup) { s.edge.MaxPeers = 1 })
	ready := func() (int, string) {
		resp, body := get(t, base+"/readyz", nil)
		return resp.StatusCode, string(body)
	}
	if code, body := ready(); code != 200 {
		t.Fatalf("empty relay: %d %s", code, body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	p, err := peer.Dial(ctx, base, peer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if code, body := ready(); code != 503 || !strings.Contains(body, `"full"`) {
		p.Close()
		t.Fatalf("full relay: %d %s", code, body)
	}
	p.Close()
	for code, _ := ready(); code != 200; code, _ = ready() {
		if ctx.Err() != nil {
			t.Fatal("still not ready after the peer left")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestPrivateMetrics: with NoPublicMetrics, /metrics is 404 on the app and
// MetricsHandler serves it, with Config.Collectors.
func TestPrivateMetrics(t *testing.T) {
	extra := prometheus.NewCounter(prometheus.CounterOpts{Name: "p2pcache_test_extra_total", Help: "test"})
	extra.Add(3)
	e, _ := memEdge(t, edge.Config{NoPublicMetrics: true, Collectors: []prometheus.Collector{extra}})
	if code, _ := do(t, e, "GET", "/metrics"); code != 404 {
		t.Fatalf("public /metrics: %d, want 404", code)
	}
	rec := httptest.NewRecorder()
	e.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, want := range []string{"p2pcache_build_info{", "p2pcache_peers_connected 0", "p2pcache_test_extra_total 3", "go_goroutines "} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("private /metrics lacks %q", want)
		}
	}
	pub, _ := memEdge(t, edge.Config{})
	if code, body := do(t, pub, "GET", "/metrics"); code != 200 || !strings.Contains(body, "p2pcache_build_info{") {
		t.Fatalf("default public /metrics: %d", code)
	}
}

// TestAccessLog: one "access" line per request, with what the client got:
// status, body bytes (none for HEAD), the path without its query; none
// without AccessLog.
func TestAccessLog(t *testing.T) {
	e, logs := memEdge(t, edge.Config{AccessLog: true})
	do(t, e, "GET", "/files/hello.txt?access_token=SECRET")
	do(t, e, "HEAD", "/files/hello.txt")
	do(t, e, "GET", "/files/missing.txt")
	do(t, e, "GET", "/ws") // not an upgrade: refused
	do(t, e, "GET", "/nope")
	type line struct {
		Msg, Method, Path, Client string
		Status                    int
		Bytes                     int64
		Dur                       float64
	}
	var lines []line
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var x line
		if err := json.Unmarshal([]byte(l), &x); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		if x.Msg == "access" {
			lines = append(lines, x)
		}
	}
	want := []line{
		{Method: "GET", Path: "/files/hello.txt", Status: 200, Bytes: 16},
		{Method: "HEAD", Path: "/files/hello.txt", Status: 200, Bytes: 0},
		{Method: "GET", Path: "/files/missing.txt", Status: 404},
		{Method: "GET", Path: "/ws", Status: 426},
		{Method: "GET", Path: "/nope", Status: 404},
	}
	if len(lines) != len(want) {
		t.Fatalf("%d access lines, want %d:\n%s", len(lines), len(want), logs.String())
	}
	for i, w := range want {
		g := lines[i]
		if g.Method != w.Method || g.Path != w.Path || g.Status != w.Status || (w.Bytes > 0 && g.Bytes != w.Bytes) || (w.Method == "HEAD" && g.Bytes != 0) ||
			g.Client == "" || g.Dur <= 0 {
			t.Errorf("line %d: %+v, want %+v", i, g, w)
		}
		if g.Status >= 400 && g.Bytes == 0 {
			t.Errorf("line %d: an error answer of 0 bytes", i)
		}
	}
	if strings.Contains(logs.String(), "SECRET") {
		t.Error("the access log holds the query's token")
	}
	quiet, qlogs := memEdge(t, edge.Config{})
	do(t, quiet, "GET", "/files/hello.txt")
	if strings.Contains(qlogs.String(), `"msg":"access"`) {
		t.Errorf("access lines without AccessLog:\n%s", qlogs.String())
	}
}
