package main

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
)

// httpClient is one baseline peer: one http.Client whose one keep-alive
// connection carries all its requests.
type httpClient struct {
	base        string
	client      *http.Client
	tr          *http.Transport
	recv        *atomic.Int64
	connected   bool
	connectTime time.Duration // TCP connect of its (first) connection
	buf         []byte
}

func newHTTPClient(base string, recv *atomic.Int64, tlsConf *tls.Config) *httpClient {
	tr := &http.Transport{
		TLSClientConfig:     tlsConf,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 1,
		MaxConnsPerHost:     1,
		IdleConnTimeout:     2 * time.Minute,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
	return &httpClient{base: base, tr: tr, client: &http.Client{Transport: tr}, recv: recv, buf: make([]byte, 64<<10)}
}

func (c *httpClient) close() { c.tr.CloseIdleConnections() }

// escapePath escapes each segment of a clean relative path.
func escapePath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

// fetch GETs one file, reads and hashes the body, and checks it against the
// origin's bytes.
func (c *httpClient) fetch(ctx context.Context, f benchFile) fetchRes {
	var connStart time.Time
	trace := &httptrace.ClientTrace{
		ConnectStart: func(string, string) { connStart = time.Now() },
		ConnectDone: func(_, _ string, err error) {
			if err == nil && !c.connected && c.tr.TLSClientConfig == nil {
				c.connected, c.connectTime = true, time.Since(connStart)
			}
		},
		TLSHandshakeDone: func(_ tls.ConnectionState, err error) {
			if err == nil && !c.connected && !connStart.IsZero() {
				c.connected, c.connectTime = true, time.Since(connStart)
			}
		},
	}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), http.MethodGet, c.base+escapePath(f.Path), nil)
	if err != nil {
		return fetchRes{err: err}
	}
	t0 := time.Now()
	resp, err := c.client.Do(req)
	if err != nil {
		return fetchRes{err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		return fetchRes{err: fmt.Errorf("GET %s: %s", f.Path, resp.Status)}
	}
	h := sha256.New()
	var r fetchRes
	for {
		k, err := resp.Body.Read(c.buf)
		if k > 0 {
			if r.n == 0 {
				r.ttfb = time.Since(t0)
			}
			r.n += int64(k)
			c.recv.Add(int64(k))
			h.Write(c.buf[:k])
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return fetchRes{err: fmt.Errorf("GET %s: body: %w", f.Path, err)}
		}
	}
	r.elapsed = time.Since(t0)
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	if sum != f.sum || r.n != f.Size {
		r.verifyFail = true
		r.err = fmt.Errorf("verify %s: got %d bytes, sha256 %x; want %d bytes, %x", f.Path, r.n, sum[:8], f.Size, f.sum[:8])
	}
	return r
}
