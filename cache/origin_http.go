package cache

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/p2pcache/p2pcache/relay/wire"
)

// HTTPOriginConfig holds HTTPOrigin's optional settings.
type HTTPOriginConfig struct {
	// Client sends the requests; nil means a client with a 10 s connect and
	// response-header timeout that follows redirects only within the origin's
	// own scheme and host, at most 5.
	Client *http.Client
	// Now is the clock for freshness; nil means time.Now.
	Now func() time.Time
}

// HTTPOrigin fetches files from an HTTP(S) server under a base URL. File
// "a/b.png" of base "https://cdn.example/static/" is fetched from
// "https://cdn.example/static/a/b.png".
type HTTPOrigin struct {
	base   *url.URL
	client *http.Client
	now    func() time.Time
}

// NewHTTPOrigin validates base (absolute http or https URL, no query, no
// fragment, no user info) and returns the origin.
func NewHTTPOrigin(base string, cfg HTTPOriginConfig) (*HTTPOrigin, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("origin URL %q: %w", base, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("origin URL %q: want an absolute http:// or https:// URL", base)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("origin URL %q: query, fragment and user info are not allowed", base)
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
		u.RawPath = ""
	}
	o := &HTTPOrigin{base: u, client: cfg.Client, now: cfg.Now}
	if o.now == nil {
		o.now = time.Now
	}
	if o.client == nil {
		o.client = &http.Client{
			Transport: &http.Transport{
				Proxy:                 http.ProxyFromEnvironment,
				DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
				TLSHandshakeTimeout:   10 * time.Second,
				ResponseHeaderTimeout: 10 * time.Second,
				MaxIdleConnsPerHost:   32,
				IdleConnTimeout:       90 * time.Second,
				ForceAttemptHTTP2:     true,
			},
			CheckRedirect: o.checkRedirect,
		}
	}
	return o, nil
}

func (o *HTTPOrigin) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 5 {
		return fmt.Errorf("%w: %w: more than 5 redirects", ErrOrigin, ErrOriginRefused)
	}
	if req.URL.Scheme != o.base.Scheme || req.URL.Host != o.base.Host {
		return fmt.Errorf("%w: %w: redirect to %s leaves the origin host", ErrOrigin, ErrOriginRefused, req.URL.Redacted())
	}
	return nil
}

// URL returns the URL of a clean relative path.
func (o *HTTPOrigin) URL(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return o.base.String() + strings.Join(segs, "/")
}

// Fetch implements Origin.
func (o *HTTPOrigin) Fetch(ctx context.Context, r Request) (*Response, error) {
	if _, err := wire.CleanPath(r.Path); err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, o.URL(r.Path), nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrOrigin, err)
	}
	req.Header.Set("User-Agent", "p2pcache")
	ranged := r.Length > 0
	if ranged {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", r.Offset, r.Offset+r.Length-1))
		// Only a strong ETag or a date may go in If-Range (RFC 9110 §13.1.5).
		if e := r.IfRange.ETag; e != "" && !strings.HasPrefix(e, "W/") {
			req.Header.Set("If-Range", e)
		} else if !r.IfRange.LastModified.IsZero() {
			req.Header.Set("If-Range", r.IfRange.LastModified.UTC().Format(http.TimeFormat))
		}
		// Ranges of a compressed representation are not ranges of the file.
		req.Header.Set("Accept-Encoding", "identity")
	} else {
		if r.Cond.ETag != "" {
			req.Header.Set("If-None-Match", r.Cond.ETag)
		}
		if !r.Cond.LastModified.IsZero() {
			req.Header.Set("If-Modified-Since", r.Cond.LastModified.UTC().Format(http.TimeFormat))
		}
	}
	resp, err := o.client.Do(req)
	if err != nil {
		if errors.Is(err, ErrOrigin) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %s: %w", ErrOrigin, r.Path, err)
	}
	out := &Response{
		Size:        -1,
		Length:      resp.ContentLength,
		ContentType: resp.Header.Get("Content-Type"),
		Validators:  Validators{ETag: resp.Header.Get("ETag")},
		MaxAge:      freshness(resp.Header, o.now()),
	}
	if lm, err := http.ParseTime(resp.Header.Get("Last-Modified")); err == nil {
		out.Validators.LastModified = lm
	}
	switch resp.StatusCode {
	case http.StatusOK:
		out.Body, out.Size = resp.Body, resp.ContentLength
		return out, nil
	case http.StatusPartialContent:
		if !ranged {
			resp.Body.Close()
			return nil, fmt.Errorf("%w: %s: 206 to a request without Range", ErrOrigin, r.Path)
		}
		first, last, size, err := parseContentRange(resp.Header.Get("Content-Range"))
		if err != nil || first != r.Offset || last != r.Offset+r.Length-1 {
			resp.Body.Close()
			return nil, fmt.Errorf("%w: %s: Content-Range %q does not match the range asked for",
				ErrOrigin, r.Path, resp.Header.Get("Content-Range"))
		}
		out.Body, out.Partial, out.Offset, out.Size = resp.Body, true, first, size
		out.Length = last - first + 1
		return out, nil
	case http.StatusNotModified:
		resp.Body.Close()
		out.NotModified, out.Length = true, 0
		if out.Validators.IsZero() {
			out.Validators = r.Cond
		}
		return out, nil
	case http.StatusNotFound, http.StatusGone:
		resp.Body.Close()
		return nil, fmt.Errorf("%w: %s (origin said %d)", ErrNotFound, r.Path, resp.StatusCode)
	default:
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		if resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != http.StatusRequestTimeout && resp.StatusCode != http.StatusTooManyRequests {
			return nil, fmt.Errorf("%w: %w: %s: origin said %s", ErrOrigin, ErrOriginRefused, r.Path, resp.Status)
		}
		return nil, fmt.Errorf("%w: %s: origin said %s", ErrOrigin, r.Path, resp.Status)
	}
}

// parseContentRange parses "bytes first-last/size"; size is -1 for "*".
func parseContentRange(s string) (first, last, size int64, err error) {
	bad := fmt.Errorf("bad Content-Range %q", s)
	rest, ok := strings.CutPrefix(s, "bytes ")
	if !ok {
		return 0, 0, 0, bad
	}
	rng, sz, ok := strings.Cut(rest, "/")
	if !ok {
		return 0, 0, 0, bad
	}
	a, b, ok := strings.Cut(rng, "-")
	if !ok {
		return 0, 0, 0, bad
	}
	if first, err = strconv.ParseInt(a, 10, 64); err != nil || first < 0 {
		return 0, 0, 0, bad
	}
	if last, err = strconv.ParseInt(b, 10, 64); err != nil || last < first {
		return 0, 0, 0, bad
	}
	size = -1
	if sz != "*" {
		if size, err = strconv.ParseInt(sz, 10, 64); err != nil || size <= last {
			return 0, 0, 0, bad
		}
	}
	return first, last, size, nil
}
