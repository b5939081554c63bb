package edge

import (
	"testing"
	"time"
)

// TestGrantSegments: a token's path prefixes match whole segments.
func TestGrantSegments(t *testing.T) {
	for _, tt := range []struct {
		prefixes []string
		path     string
		want     bool
	}{
		{nil, "anything/at/all", true},
		{[]string{"images"}, "images/a.png", true},
		{[]string{"images"}, "images", true},
		{[]string{"images"}, "images-private/a.png", false},
		{[]string{"images"}, "imagesX", false},
		{[]string{"images/"}, "images/a.png", true},
		{[]string{"images/"}, "images-private/a.png", false},
		{[]string{"images/2024"}, "images/2024/a.png", true},
		{[]string{"images/2024"}, "images/2024-old/a.png", false},
		{[]string{"img/a.png"}, "img/a.png", true},
		{[]string{"img/a.png"}, "img/a.png.bak", false},
		{[]string{""}, "x/y", true},
		{[]string{"css", "images"}, "images/a.png", true},
	} {
		if got := (grant{prefixes: tt.prefixes}).allows(tt.path); got != tt.want {
			t.Errorf("prefixes %q allow %q = %v, want %v", tt.prefixes, tt.path, got, tt.want)
		}
	}
}

// TestGrantExpires: a verified grant carries the token's exp plus the
// leeway it was checked with.
func TestGrantExpires(t *testing.T) {
	const secret = "0123456789abcdef0123456789abcdef"
	tok, err := MintToken(secret, "", []string{"/images"}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	g, err := newAuthenticator(secret).verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	want := time.Now().Add(time.Minute + tokenLeeway)
	if d := g.expires.Sub(want); d < -2*time.Second || d > time.Second {
		t.Errorf("expires %v, want about %v", g.expires, want)
	}
	if len(g.prefixes) != 1 || g.prefixes[0] != "images" {
		t.Errorf("prefixes %q, want [images]", g.prefixes)
	}
}
