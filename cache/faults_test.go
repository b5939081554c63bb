package cache

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/p2pcache/p2pcache/relay/wire"
)

// TestOriginFaults: an origin that fails in the ways real ones do. Each
// case says how often it fails before it recovers (-1: never) and what the
// cache must do: a clear error, nothing cached, transient failures retried
// with backoff and refusals not, every failure counted.
func TestOriginFaults(t *testing.T) {
	body := pattern(3*wire.MaxChunkSize+100, 7)
	ok := func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "file.bin", time.Time{}, bytes.NewReader(body))
	}
	tests := []struct {
		name     string
		ranged   bool // fault the chunk (range) fetches, not the manifest's
		failures int  // failing answers before good ones; -1: always
		fault    func(w http.ResponseWriter, r *http.Request)
		wantErr  error // nil: succeeds after the retries
		calls    int   // origin calls the faulted request makes in all
		retries  uint64
	}{
		{name: "503 twice then ok", failures: 2, fault: status(503), calls: 3, retries: 2},
		{name: "500 always", failures: -1, fault: status(500), wantErr: ErrOrigin, calls: 3, retries: 2},
		{name: "403 is not retried", failures: -1, fault: status(403), wantErr: ErrOriginRefused, calls: 1},
		{name: "404", failures: -1, fault: status(404), wantErr: ErrNotFound, calls: 1},
		{name: "truncated body once", failures: 1, fault: truncated(body), calls: 2, retries: 1},
		{name: "truncated body always", failures: -1, fault: truncated(body), wantErr: ErrOrigin, calls: 3, retries: 2},
		{name: "slow drip", failures: -1, fault: drip, wantErr: ErrOrigin, calls: 1},
		{name: "hang", failures: -1, fault: hang, wantErr: ErrOrigin, calls: 1},
		{name: "range 502 once", ranged: true, failures: 1, fault: status(502), calls: 2, retries: 1},
		{name: "range wrong Content-Range", ranged: true, failures: -1, fault: wrongRange(body), wantErr: ErrOrigin, calls: 3, retries: 2},
		{name: "range truncated", ranged: true, failures: -1, fault: truncated(body), wantErr: ErrOrigin, calls: 3, retries: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var faulted, calls atomic.Int64
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if (r.Header.Get("Range") != "") != tc.ranged {
					ok(w, r)
					return
				}
				calls.Add(1)
				if tc.failures < 0 || faulted.Add(1) <= int64(tc.failures) {
					tc.fault(w, r)
					return
				}
				ok(w, r)
			})
			o, _ := newHTTPOrigin(t, h, nil)
			// A budget below the file's size makes chunk fetches go to the origin.
			maxBytes := int64(len(body)) * 4
			if tc.ranged {
				maxBytes = 1
			}
			c := newCache(t, o, Config{OriginTimeout: 2 * time.Second, MaxBytes: maxBytes})
			start := time.Now()
			m, err := c.Manifest(t.Context(), "file.bin")
			if tc.ranged {
				if err != nil {
					t.Fatalf("manifest: %v", err)
				}
				_, _, err = c.Chunk(t.Context(), m, 1)
			}
			elapsed := time.Since(start)
			switch {
			case tc.wantErr == nil && err != nil:
				t.Fatalf("after %d failures: %v, want success", tc.failures, err)
			case tc.wantErr != nil && !errors.Is(err, tc.wantErr):
				t.Fatalf("err %v, want %v", err, tc.wantErr)
			}
			if got := calls.Load(); got != int64(tc.calls) {
				t.Errorf("%d origin calls, want %d", got, tc.calls)
			}
			st := c.Stats()
			if st.OriginRetries != tc.retries {
				t.Errorf("%d retries counted, want %d", st.OriginRetries, tc.retries)
			}
			wantErrs := uint64(tc.failures)
			if tc.failures < 0 {
				wantErrs = uint64(tc.calls)
			}
			if tc.wantErr != ErrNotFound && st.OriginErrors != wantErrs {
				t.Errorf("%d origin errors counted, want %d", st.OriginErrors, wantErrs)
			}
			if tc.retries > 0 && elapsed < retryBase/2 {
				t.Errorf("%d retries in %v: no backoff", tc.retries, elapsed)
			}
			if tc.wantErr != nil {
				if tc.ranged {
					if _, ok := c.Peek(m.Chunks[1]); ok {
						t.Error("a failed chunk is in the cache")
					}
				} else if st.Chunks != 0 || st.Manifests != 0 {
					t.Errorf("after a failure the cache holds %d chunks, %d manifests", st.Chunks, st.Manifests)
				}
				return
			}
			// Recovered: the bytes are the file's.
			if m == nil {
				t.Fatal("no manifest")
			}
			for i := range m.Chunks {
				b, _, err := c.Chunk(t.Context(), m, i)
				if err != nil || string(b) != string(chunkOf(body, wire.MaxChunkSize, i)) {
					t.Fatalf("chunk %d after recovery: %v", i, err)
				}
			}
		})
	}
}

func status(code int) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) { http.Error(w, "fault", code) }
}

// truncated announces the whole answer's length and sends half of it.
func truncated(body []byte) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		b := body
		if rg := r.Header.Get("Range"); rg != "" {
			var first, last int
			fmt.Sscanf(rg, "bytes=%d-%d", &first, &last)
			b = body[first : last+1]
			w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", first, last, len(body)))
			w.Header().Set("Content-Length", strconv.Itoa(len(b)))
			w.WriteHeader(http.StatusPartialContent)
		} else {
			w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		}
		w.Write(b[:len(b)/2])
		panic(http.ErrAbortHandler) // close the connection short of Content-Length
	}
}

// wrongRange answers a range with another range.
func wrongRange(body []byte) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Range", fmt.Sprintf("bytes 0-99/%d", len(body)))
		w.WriteHeader(http.StatusPartialContent)
		w.Write(body[:100])
	}
}

// drip sends a byte every 100 ms: past the origin timeout.
func drip(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Length", "100000")
	for i := 0; i < 100 && r.Context().Err() == nil; i++ {
		w.Write([]byte{'x'})
		w.(http.Flusher).Flush()
		time.Sleep(100 * time.Millisecond)
	}
}

// hang answers nothing until the client leaves.
func hang(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }
