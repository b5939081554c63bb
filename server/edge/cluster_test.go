package edge

import (
	"encoding/json"
	"net/http/httptest"
	"testing"
)

// TestCluster: GET /cluster answers Config.Cluster's value as JSON, CORS
// open and never cached; without the hook, a 404 JSON error.
func TestCluster(t *testing.T) {
	type view struct {
		Self  string   `json:"self"`
		Peers []string `json:"peers"`
	}
	calls := 0
	in, _ := newTestEdge(t, Config{Cluster: func() any {
		calls++
		return view{Self: "relay-a", Peers: []string{"relay-b", "relay-c"}}
	}})
	out, _ := newTestEdge(t, Config{})
	tests := []struct {
		name   string
		e      *Edge
		status int
		want   string
	}{
		{"in a cluster", in, 200, `{"self":"relay-a","peers":["relay-b","relay-c"]}`},
		{"not in a cluster", out, 404, `{"error":"this relay is not in a cluster (no --nats)","status":404}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/cluster", nil)
			req.Header.Set("Origin", "https://site.example")
			resp, body := do(t, tt.e, req)
			if resp.StatusCode != tt.status || body != tt.want {
				t.Fatalf("GET /cluster: %d %q, want %d %q", resp.StatusCode, body, tt.status, tt.want)
			}
			if !json.Valid([]byte(body)) {
				t.Errorf("body %q is not JSON", body)
			}
			for k, v := range map[string]string{
				"Content-Type":                "application/json",
				"Cache-Control":               "no-cache",
				"Access-Control-Allow-Origin": "*",
			} {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
		})
	}
	if calls != 1 {
		t.Errorf("Cluster called %d times, want 1", calls)
	}
}
