package wire

import (
	"fmt"
	"net/url"
	"path"
	"strings"
	"unicode/utf8"
)

// MaxPathLen bounds a file path, in bytes.
const MaxPathLen = 1024

// CleanPath turns a request path into the origin-relative form used
// everywhere ("images/cat.jpg"): a leading slash is dropped and the path must
// already be clean. It refuses, rather than repairs, anything that could name
// a file outside the origin or another host: "..", ".", empty segments,
// backslashes, NUL and control bytes, percent-escapes, schemes, and paths
// longer than MaxPathLen. Refusing keeps one spelling per file, so one file
// never has two cache entries. It also refuses invalid UTF-8, which fs.FS
// cannot open and JSON would silently rewrite in a manifest's path.
func CleanPath(p string) (string, error) {
	orig := p
	p = strings.TrimPrefix(p, "/")
	switch {
	case p == "":
		return "", fmt.Errorf("%w: empty path", ErrBadPath)
	case len(p) > MaxPathLen:
		return "", fmt.Errorf("%w: longer than %d bytes", ErrBadPath, MaxPathLen)
	case strings.HasPrefix(p, "/"):
		return "", fmt.Errorf("%w: %q starts with //", ErrBadPath, orig)
	case !utf8.ValidString(p):
		return "", fmt.Errorf("%w: %q is not UTF-8", ErrBadPath, orig)
	}
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case c < 0x20 || c == 0x7f:
			return "", fmt.Errorf("%w: control byte 0x%02x", ErrBadPath, c)
		case c == '\\':
			return "", fmt.Errorf("%w: backslash in %q", ErrBadPath, orig)
		case c == '%':
			return "", fmt.Errorf("%w: percent-escape in %q (send the decoded path)", ErrBadPath, orig)
		case c == '?' || c == '#':
			return "", fmt.Errorf("%w: query or fragment in %q", ErrBadPath, orig)
		}
	}
	if u, err := url.Parse(p); err != nil || u.Scheme != "" || u.Host != "" {
		return "", fmt.Errorf("%w: %q is not a relative path", ErrBadPath, orig)
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return "", fmt.Errorf("%w: %q has an empty, . or .. segment", ErrBadPath, orig)
		}
	}
	if path.Clean(p) != p {
		return "", fmt.Errorf("%w: %q is not clean", ErrBadPath, orig)
	}
	return p, nil
}
