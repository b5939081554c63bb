package stack

import (
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/p2pcache/p2pcache/relay/mesh"
	"github.com/p2pcache/p2pcache/server/edge"
	"github.com/p2pcache/p2pcache/server/internal/config"
)

// get fetches url and returns the status and body.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestNoMesh: without --nats the stack has no mesh, the cache no tier, and
// GET /cluster is 404; /metrics has no mesh series.
func TestNoMesh(t *testing.T) {
	defer http.DefaultClient.CloseIdleConnections()
	s, base, _ := start(t, config.Default())
	if s.Mesh != nil {
		t.Fatal("a mesh without --nats")
	}
	if code, body := get(t, base+"/cluster"); code != http.StatusNotFound {
		t.Errorf("GET /cluster: %d %s, want 404", code, body)
	}
	if _, body := get(t, base+"/metrics"); strings.Contains(body, "p2pcache_mesh_") {
		t.Error("/metrics has mesh series without --nats")
	}
}

// TestMeshWiring: with --nats embedded the relay is a cluster of one: the
// cache asks the mesh (which owns every key, so the origin), GET /cluster
// lists the relay with its public URL, region and load, /metrics has the
// mesh's series, /readyz is ready, and Close is idempotent.
func TestMeshWiring(t *testing.T) {
	defer http.DefaultClient.CloseIdleConnections()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte("hello, mesh"), 0o644)
	cfg := config.Default()
	cfg.Origin = dir
	cfg.NATS = []string{config.EmbeddedNATS}
	cfg.PublicURL, cfg.Region = "https://relay-1.example.com", "eu-west"
	s, base, _ := start(t, cfg)
	s.Started()
	if s.Mesh == nil || s.Mesh.ID() != "relay-1-example-com-443" || !s.Mesh.Ready() {
		t.Fatalf("mesh %v", s.Mesh)
	}
	if code, body := get(t, base+"/files/a.txt"); code != 200 || body != "hello, mesh" {
		t.Fatalf("GET /files/a.txt: %d %q", code, body)
	}
	code, body := get(t, base+"/cluster")
	var cl mesh.Cluster
	if err := json.Unmarshal([]byte(body), &cl); code != 200 || err != nil {
		t.Fatalf("GET /cluster: %d %s (%v)", code, body, err)
	}
	if r := cl.Relays; cl.Self != "relay-1-example-com-443" || len(r) != 1 || !r[0].Self || r[0].URL != cfg.PublicURL || r[0].Region != "eu-west" {
		t.Errorf("GET /cluster: %s", body)
	}
	if code, _ := get(t, base+"/readyz"); code != 200 {
		t.Errorf("/readyz: %d", code)
	}
	_, metrics := get(t, base+"/metrics")
	for _, want := range []string{"\np2pcache_mesh_members 1\n", "\np2pcache_mesh_connected 1\n", `p2pcache_mesh_fills_total{kind="chunk"} 0`, `p2pcache_mesh_served_requests_total{kind="chunk"} 0`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestMeshBadStart: a mesh that cannot start (the embedded server's port
// is taken) fails New with nothing left running.
func TestMeshBadStart(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	iceLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer iceLn.Close()
	cfg := config.Default()
	cfg.NATS = []string{config.EmbeddedNATS}
	cfg.PublicURL = "http://127.0.0.1:1"
	cfg.NATSListen = taken.Addr().String()
	if _, err := New(cfg, edge.BuildInfo{}, slog.New(slog.DiscardHandler), iceLn); err == nil || !strings.Contains(err.Error(), "--nats") {
		t.Fatalf("New with the NATS port taken: %v", err)
	}
}

// TestRedactURLs: NATS URLs are logged without their passwords or tokens.
func TestRedactURLs(t *testing.T) {
	tests := []struct{ in, want string }{
		{"nats://n1:4222", "nats://n1:4222"},
		{"nats://relay:s3cret@n1:4222", "nats://xxxxx@n1:4222"},
		{"tls://s3cret-token@n2:4222", "tls://xxxxx@n2:4222"},
	}
	for _, tt := range tests {
		if got := redactURLs([]string{tt.in})[0]; got != tt.want {
			t.Errorf("%s: %s, want %s", tt.in, got, tt.want)
		}
	}
}
