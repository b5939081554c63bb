package stack

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/p2pcache/p2pcache/relay/peer"
	"github.com/p2pcache/p2pcache/server/edge"
	"github.com/p2pcache/p2pcache/server/internal/config"
	"github.com/p2pcache/p2pcache/server/portmux"
)

// dashboardFile is the Grafana dashboard shipped in deploy/.
const dashboardFile = "../../../deploy/grafana/p2pcache.json"

// The metric names and label matchers of the dashboard's PromQL.
var (
	metricRef = regexp.MustCompile(`\b((?:p2pcache|go|process)_[a-zA-Z0-9_]+)(\{[^}]*\})?`)
	matcher   = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"([^"]*)"`)
	byClause  = regexp.MustCompile(`\bby\s*\(([^)]*)\)`)
)

// dashboardExprs returns every PromQL expression of the dashboard: its
// panels' targets (rows' nested panels too) and its template queries.
func dashboardExprs(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	type target struct{ Expr string }
	type panel struct {
		Title   string
		Targets []target
		Panels  []panel
	}
	var d struct {
		Panels     []panel
		Templating struct {
			List []struct {
				Definition string
			}
		}
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	var exprs []string
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			for _, tg := range p.Targets {
				exprs = append(exprs, tg.Expr)
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	for _, v := range d.Templating.List {
		if v.Definition != "" { // the data source variable has none
			exprs = append(exprs, v.Definition)
		}
	}
	return exprs
}

// series is /metrics as name → the label sets of its samples.
func series(text string) map[string][]string {
	m := map[string][]string{}
	for _, l := range strings.Split(text, "\n") {
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		end := strings.IndexAny(l, "{ ")
		if end < 0 {
			continue
		}
		labels := ""
		if l[end] == '{' {
			labels = l[end : strings.LastIndexByte(l, '}')+1]
		}
		m[l[:end]] = append(m[l[:end]], labels)
	}
	return m
}

// TestDashboardMetrics: every metric the Grafana dashboard queries is in a
// running relay's /metrics (with the port demux's, as with --ice-listen
// shared), every label value it selects occurs, and every label it groups
// by is on its metrics: the dashboard is built from the real names.
func TestDashboardMetrics(t *testing.T) {
	defer http.DefaultClient.CloseIdleConnections()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mux := portmux.New(ln, portmux.Config{})
	defer mux.Close()
	cfg := config.Default()
	// In a cluster of one (embedded NATS), so the mesh's families are there.
	cfg.NATS = []string{config.EmbeddedNATS}
	cfg.PublicURL = "http://127.0.0.1:1"
	iceLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(cfg, edge.BuildInfo{Version: "test", Commit: "dashboard"}, slog.New(slog.DiscardHandler), iceLn, mux.Collector())
	if err != nil {
		t.Fatal(err)
	}
	httpLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(httpLn) }()
	defer func() { s.Close(); <-served }()
	base := "http://" + httpLn.Addr().String()

	// Traffic, so that every family has samples: a peer fetches a file
	// (chunks, RTT, bytes), a plain GET /ws is refused at the edge,
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := peer.Dial(ctx, base, peer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := p.Fetch(ctx, "index.json"); err != nil {
		t.Fatal(err)
	}
	// and the HTTP fallback serves a file and a manifest.
	for _, path := range []string{"/ws", "/files/index.json", "/manifest/index.json"} {
		if resp, err := http.Get(base + path); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	have := series(string(body))

	checked := map[string]bool{}
	for _, expr := range dashboardExprs(t) {
		refs := metricRef.FindAllStringSubmatch(expr, -1)
		if len(refs) == 0 && !strings.Contains(expr, "p2pcache_") {
			t.Errorf("expression names no relay metric: %s", expr)
		}
		for _, ref := range refs {
			name, sel := ref[1], ref[2]
			sets, ok := have[name]
			if !ok {
				t.Errorf("%s: no such metric in /metrics (in %s)", name, expr)
				continue
			}
			checked[name] = true
			for _, m := range matcher.FindAllStringSubmatch(sel, -1) {
				label, op, val := m[1], m[2], m[3]
				if label == "instance" || label == "job" || op != "=" || strings.Contains(val, "$") {
					continue // added by the scrape, or a template variable
				}
				want := label + `="` + val + `"`
				found := false
				for _, ls := range sets {
					found = found || strings.Contains(ls, want)
				}
				if !found {
					t.Errorf("%s{%s}: no such series (in %s)", name, want, expr)
				}
			}
		}
		for _, by := range byClause.FindAllStringSubmatch(expr, -1) {
			for _, label := range strings.Split(by[1], ",") {
				label = strings.TrimSpace(label)
				if label == "instance" || label == "job" {
					continue
				}
				found := false
				for _, ref := range refs {
					for _, ls := range have[ref[1]] {
						found = found || strings.Contains(ls, label+`="`)
					}
				}
				if !found {
					t.Errorf("by (%s): no metric of %q has that label", label, expr)
				}
			}
		}
	}
	if len(checked) < 20 {
		t.Errorf("only %d metrics checked: did the dashboard lose its panels?", len(checked))
	}
	t.Logf("%d metrics of the dashboard found in /metrics", len(checked))
}
