package edge

import (
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// counters gathers m's series: "name{label=value,...}" (labels sorted by
// name, as Prometheus keeps them) to value.
func counters(t *testing.T, m httpMetrics) map[string]float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(m.collectors()...)
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range fams {
		for _, mt := range f.GetMetric() {
			var ls []string
			for _, l := range mt.GetLabel() {
				ls = append(ls, l.GetName()+"="+l.GetValue())
			}
			out[f.GetName()+"{"+strings.Join(ls, ",")+"}"] = mt.GetCounter().GetValue()
		}
	}
	return out
}

// TestHTTPMetrics: every /files and /manifest response counts once under
// its endpoint and status, refusals and preflights included, and the bytes
// counted are the body bytes the client got: Content-Length for 200 and
// 206, none for HEAD and 304.
func TestHTTPMetrics(t *testing.T) {
	const secret = "0123456789abcdef0123456789abcdef"
	open, _ := newTestEdge(t, Config{})
	locked, _ := newTestEdge(t, Config{AuthSecret: secret})
	limited, _ := newTestEdge(t, Config{HTTPRate: 0.001, HTTPBurst: 1})
	resp, _ := do(t, open, httptest.NewRequest("GET", "/manifest/hello.txt", nil))
	etag := resp.Header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag on the manifest")
	}
	tok, err := MintToken(secret, "", []string{"hello.txt"}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	do(t, limited, httptest.NewRequest("GET", "/files/hello.txt", nil)) // takes the one token
	tests := []struct {
		name     string
		e        *Edge
		method   string
		path     string
		hdr      map[string]string
		endpoint string
		code     int
	}{
		{"file", open, "GET", "/files/hello.txt", nil, "files", 200},
		{"file head", open, "HEAD", "/files/hello.txt", nil, "files", 200},
		{"file range", open, "GET", "/files/hello.txt", map[string]string{"Range": "bytes=7-"}, "files", 206},
		{"file not modified", open, "GET", "/files/hello.txt", map[string]string{"If-None-Match": etag}, "files", 304},
		{"file range not satisfiable", open, "GET", "/files/hello.txt", map[string]string{"Range": "bytes=100-"}, "files", 416},
		{"file missing", open, "GET", "/files/nope.txt", nil, "files", 404},
		{"file missing head", open, "HEAD", "/files/nope.txt", nil, "files", 404},
		{"file bad path", open, "GET", "/files/a%00b", nil, "files", 400},
		{"file preflight", open, "OPTIONS", "/files/hello.txt", map[string]string{"Origin": "https://site.example", "Access-Control-Request-Method": "GET"}, "files", 204},
		{"file POST: no such endpoint", open, "POST", "/files/hello.txt", nil, "files", 404},
		{"file no token", locked, "GET", "/files/hello.txt", nil, "files", 401},
		{"file token", locked, "GET", "/files/hello.txt?access_token=" + tok, nil, "files", 200},
		{"file rate limited", limited, "GET", "/files/hello.txt", nil, "files", 429},
		{"manifest", open, "GET", "/manifest/hello.txt", nil, "manifest", 200},
		{"manifest not modified", open, "GET", "/manifest/hello.txt", map[string]string{"If-None-Match": etag}, "manifest", 304},
		{"manifest missing", open, "GET", "/manifest/nope.txt", nil, "manifest", 404},
		{"manifest no token", locked, "GET", "/manifest/hello.txt", nil, "manifest", 401},
		{"manifest rate limited", limited, "GET", "/manifest/hello.txt", nil, "manifest", 429},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := counters(t, tt.e.httpStats)
			reqKey := "p2pcache_http_requests_total{code=" + strconv.Itoa(tt.code) + ",endpoint=" + tt.endpoint + "}"
			bytesKey := "p2pcache_http_response_bytes_total{endpoint=" + tt.endpoint + "}"

			req := httptest.NewRequest(tt.method, tt.path, nil)
			for k, v := range tt.hdr {
				req.Header.Set(k, v)
			}
			resp, body := do(t, tt.e, req)
			if resp.StatusCode != tt.code {
				t.Fatalf("%s %s: %d %q, want %d", tt.method, tt.path, resp.StatusCode, body, tt.code)
			}
			after := counters(t, tt.e.httpStats)
			for k, v := range after {
				d := v - before[k]
				switch {
				case k == reqKey && d != 1:
					t.Errorf("%s grew by %g, want 1", k, d)
				case k != reqKey && k != bytesKey && d != 0:
					t.Errorf("%s grew by %g, want 0", k, d)
				}
			}
			if _, ok := after[reqKey]; !ok {
				t.Errorf("no %s", reqKey)
			}
			sent := after[bytesKey] - before[bytesKey]
			if sent != float64(len(body)) {
				t.Errorf("%s grew by %g, the client got %d", bytesKey, sent, len(body))
			}
			if tt.method == "GET" && (tt.code == 200 || tt.code == 206) {
				if cl := resp.Header.Get("Content-Length"); cl != strconv.Itoa(int(sent)) {
					t.Errorf("bytes counted %g, Content-Length %s", sent, cl)
				}
			}
			if (tt.method == "HEAD" || tt.code == 304 || tt.code == 204) && sent != 0 {
				t.Errorf("%g bytes counted for a response without a body", sent)
			}
		})
	}

	// Both families are on /metrics.
	_, body := do(t, open, httptest.NewRequest("GET", "/metrics", nil))
	for _, want := range []string{
		`p2pcache_http_requests_total{code="206",endpoint="files"} 1`,
		`p2pcache_http_response_bytes_total{endpoint="manifest"}`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
