package edge

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/p2pcache/p2pcache/cache"
)

// TestStatusFor: cache errors map to statuses; a wait for memory that
// timed out is 503 (try again), not 502, though it wraps the deadline.
func TestStatusFor(t *testing.T) {
	budget := fmt.Errorf("building the manifest of x: %w: waited: %w", cache.ErrMemoryBudget, context.DeadlineExceeded)
	for _, tt := range []struct {
		err  error
		want int
	}{
		{cache.ErrBadPath, 400},
		{fmt.Errorf("x: %w", cache.ErrNotFound), 404},
		{cache.ErrTooLarge, 413},
		{budget, 503},
		{context.DeadlineExceeded, 502},
		{cache.ErrOrigin, 502},
		{errors.New("other"), 500},
	} {
		if got := statusFor(tt.err); got != tt.want {
			t.Errorf("statusFor(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
}

// TestFilesMemoryBudget: while the memory budget is taken, a manifest
// build waits for it, then /files and /manifest answer 503 with
// Retry-After.
func TestFilesMemoryBudget(t *testing.T) {
	b, err := cache.NewBudget(1 << 20)
	if err != nil {
		t.Fatal(err)
	}
	e, _ := newTestEdgeCache(t, cache.Config{Budget: b, OriginTimeout: 200 * time.Millisecond}, Config{})
	if err := b.Acquire(context.Background(), b.Max()); err != nil { // everything taken
		t.Fatal(err)
	}
	for _, path := range []string{"/files/hello.txt", "/manifest/hello.txt"} {
		resp, body := do(t, e, httptest.NewRequest(http.MethodGet, path, nil))
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || !strings.Contains(body, "memory budget") {
			t.Errorf("GET %s with no memory free: %d, Retry-After %q, %q; want 503 with Retry-After", path, resp.StatusCode, resp.Header.Get("Retry-After"), body)
		}
	}
	b.Release(b.Max())
	if resp, body := do(t, e, httptest.NewRequest(http.MethodGet, "/files/hello.txt", nil)); resp.StatusCode != 200 {
		t.Errorf("GET /files/hello.txt with memory free: %d %q", resp.StatusCode, body)
	}
}
