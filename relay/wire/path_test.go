package wire

import (
	"errors"
	"io/fs"
	"strings"
	"testing"
)

func TestCleanPath(t *testing.T) {
	long := strings.Repeat("a/", MaxPathLen/2)
	tests := []struct {
		in   string
		want string // "" means rejected
	}{
		{"/images/a.png", "images/a.png"},
		{"images/a.png", "images/a.png"},
		{"a b/c.jpg", "a b/c.jpg"},
		{"/a", "a"},
		{"a", "a"},
		{"ünï/cödé.txt", "ünï/cödé.txt"},
		{"a/.hidden", "a/.hidden"},
		{"a/...", "a/..."},
		{"a/b..c", "a/b..c"},
		{"x/a:b", "x/a:b"},
		{"a+b=c&d@e", "a+b=c&d@e"},
		{long[:MaxPathLen-1], long[:MaxPathLen-1]},
		{"/" + long[:MaxPathLen-1], long[:MaxPathLen-1]},
		{"", ""},
		{"/", ""},
		{"//a", ""},
		{".", ""},
		{"..", ""},
		{"/..", ""},
		{"../a", ""},
		{"a/..", ""},
		{"a/../b", ""},
		{"a/./b", ""},
		{"./a", ""},
		{"a//b", ""},
		{"a/", ""},
		{"a\\b", ""},
		{"..\\a", ""},
		{"%2e%2e", ""},
		{"a%2fb", ""},
		{"a%20b", ""},
		{"http://x/y", ""},
		{"//x/y", ""},
		{"file:a", ""},
		{"c:/windows", ""},
		{":a", ""},
		{"a?b", ""},
		{"a#b", ""},
		{"a\x00b", ""},
		{"a\nb", ""},
		{"a\tb", ""},
		{"a\x7fb", ""},
		{"a\xffb", ""},                   // not UTF-8
		{"\xc0\xae\xc0\xae/etc", ""},     // overlong "..", not UTF-8
		{long[:MaxPathLen-1] + "bb", ""}, // 1025 bytes
		{strings.Repeat("x", MaxPathLen+1), ""},
	}
	for _, tt := range tests {
		name := tt.in
		if len(name) > 40 {
			name = name[:20] + "…"
		}
		t.Run(name, func(t *testing.T) {
			got, err := CleanPath(tt.in)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("CleanPath(%q) = %q, want an error", tt.in, got)
				}
				if !errors.Is(err, ErrBadPath) {
					t.Errorf("CleanPath(%q) error %v does not wrap ErrBadPath", tt.in, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("CleanPath(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
	if len(long[:MaxPathLen-1]+"b") != MaxPathLen {
		t.Fatal("test paths have the wrong length")
	}
	if p := long[:MaxPathLen-1] + "b"; mustClean(t, p) != p {
		t.Error("a path of exactly MaxPathLen bytes is refused")
	}
}

func mustClean(t *testing.T, p string) string {
	t.Helper()
	c, err := CleanPath(p)
	if err != nil {
		t.Fatalf("CleanPath(%q): %v", p, err)
	}
	return c
}

func FuzzCleanPath(f *testing.F) {
	for _, s := range []string{
		"/images/a.png", "a b/c.jpg", "", "/", "..", "a/../b", "a//b", "./a", "a\\b", "%2e%2e",
		"http://x/y", "a?b", "a#b", "a\x00b", "ünï/cödé", "a\xffb", "x/a:b", ":a", "//a", "a/", "/..", "a/.b",
		strings.Repeat("ab/", 400),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := CleanPath(in)
		if err != nil {
			if out != "" {
				t.Fatalf("CleanPath(%q) = %q with error %v", in, out, err)
			}
			if !errors.Is(err, ErrBadPath) {
				t.Fatalf("CleanPath(%q) error %v does not wrap ErrBadPath", in, err)
			}
			return
		}
		switch {
		case out == "" || len(out) > MaxPathLen:
			t.Fatalf("CleanPath(%q) = %q: empty or too long", in, out)
		case strings.HasPrefix(out, "/"):
			t.Fatalf("CleanPath(%q) = %q starts with /", in, out)
		case out != strings.TrimPrefix(in, "/"):
			t.Fatalf("CleanPath(%q) = %q repaired the path instead of refusing", in, out)
		case !fs.ValidPath(out):
			t.Fatalf("CleanPath(%q) = %q is not an fs.ValidPath", in, out)
		case strings.ContainsAny(out, "\\%?#\x00"):
			t.Fatalf("CleanPath(%q) = %q holds a refused byte", in, out)
		}
		for _, seg := range strings.Split(out, "/") {
			if seg == ".." || seg == "." || seg == "" {
				t.Fatalf("CleanPath(%q) = %q has segment %q", in, out, seg)
			}
		}
		if again, err := CleanPath(out); err != nil || again != out {
			t.Fatalf("CleanPath(CleanPath(%q)) = %q, %v; want %q", in, again, err, out)
		}
	})
}
