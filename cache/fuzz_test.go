package cache

import (
	"net/url"
	"strings"
	"testing"

	"github.com/p2pcache/p2pcache/relay/wire"
)

// FuzzHTTPOriginURL: for every path wire.CleanPath accepts, the HTTP origin
// asks for exactly that file, below its base. (wire.FuzzCleanPath checks
// CleanPath itself.)
func FuzzHTTPOriginURL(f *testing.F) {
	for _, s := range []string{
		"/images/a.png", "a b/c.jpg", "", "/", "..", "a/../b", "a//b", "./a", "a\\b", "%2e%2e",
		"http://x/y", "a?b", "a#b", "a\x00b", "ünï/cödé", "a\xffb", "x/a:b", ":a", "//a", "a/", "/..", "a/.b",
		strings.Repeat("ab/", 400),
	} {
		f.Add(s)
	}
	base, err := NewHTTPOrigin("https://cdn.example/static/", HTTPOriginConfig{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := wire.CleanPath(in)
		if err != nil {
			return
		}
		u, err := url.Parse(base.URL(out))
		if err != nil {
			t.Fatalf("URL(%q) = %q does not parse: %v", out, base.URL(out), err)
		}
		if u.Host != "cdn.example" || u.Path != "/static/"+out || u.RawQuery != "" || u.Fragment != "" {
			t.Fatalf("URL(%q) = %q names host %q path %q", out, base.URL(out), u.Host, u.Path)
		}
	})
}
