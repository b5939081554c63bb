package cache

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"
)

// FSOriginConfig holds FSOrigin's optional settings.
type FSOriginConfig struct {
	// MaxAge is how long a file version is used before it is checked again;
	// zero means check (one stat) on every use, which is what a directory
	// being edited wants. Immutable trees (an embedded demo) can set hours.
	MaxAge time.Duration
	// AllowDotfiles serves paths with a segment starting with "." (.env,
	// .git/config, .well-known/…). Off by default: such a path is answered
	// ErrNotFound, exactly like a missing file.
	AllowDotfiles bool
}

// FSOrigin serves files from an fs.FS. Only regular files are served; fs.FS
// paths cannot climb out with "..", and a directory opened by DirOrigin goes
// through os.Root, so symlinks cannot lead out of it either. Unless
// FSOriginConfig.AllowDotfiles is set, a path with any segment starting with
// "." is not found, whether it exists or not: a served directory is often a
// checkout or a build tree, with .git/, .env or .htpasswd inside. The check is
// on the requested path; a symlink inside the tree with an ordinary name that
// points at a dotfile is served, as its creator asked.
type FSOrigin struct {
	fsys fs.FS
	cfg  FSOriginConfig
}

// NewFSOrigin returns an origin over fsys.
func NewFSOrigin(fsys fs.FS, cfg FSOriginConfig) *FSOrigin {
	return &FSOrigin{fsys: fsys, cfg: cfg}
}

// DirOrigin returns an origin serving the directory dir. The directory must
// exist. Call the returned close function when done.
func DirOrigin(dir string, cfg FSOriginConfig) (*FSOrigin, func() error, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("origin directory: %w", err)
	}
	return NewFSOrigin(root.FS(), cfg), root.Close, nil
}

// Fetch implements Origin.
func (o *FSOrigin) Fetch(ctx context.Context, req Request) (*Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrOrigin, err)
	}
	if !fs.ValidPath(req.Path) {
		return nil, fmt.Errorf("%w: %q", ErrBadPath, req.Path)
	}
	if !o.cfg.AllowDotfiles && hasDotSegment(req.Path) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, req.Path) // as if missing: do not reveal it exists
	}
	f, err := o.fsys.Open(req.Path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrInvalid) {
			return nil, fmt.Errorf("%w: %s", ErrNotFound, req.Path)
		}
		return nil, fmt.Errorf("%w: open %s: %w", ErrOrigin, req.Path, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%w: stat %s: %w", ErrOrigin, req.Path, err)
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%w: %s is not a regular file", ErrNotFound, req.Path)
	}
	v := Validators{
		ETag:         `"` + strconv.FormatInt(st.Size(), 36) + "-" + strconv.FormatInt(st.ModTime().UnixNano(), 36) + `"`,
		LastModified: st.ModTime().UTC().Truncate(time.Second),
	}
	resp := &Response{Size: st.Size(), Validators: v, MaxAge: o.cfg.MaxAge, Length: st.Size()}
	if !req.Cond.IsZero() && req.Cond.ETag == v.ETag {
		f.Close()
		resp.NotModified, resp.Length = true, 0
		return resp, nil
	}
	if req.Length == 0 || (!req.IfRange.IsZero() && req.IfRange.ETag != v.ETag) {
		resp.Body = f
		return resp, nil
	}
	if req.Offset < 0 || req.Length < 0 || req.Offset+req.Length > st.Size() {
		f.Close()
		return nil, fmt.Errorf("%w: range %d+%d outside %s (%d bytes)", ErrOrigin, req.Offset, req.Length, req.Path, st.Size())
	}
	body, err := sectionOf(f, req.Offset, req.Length)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%w: seek %s: %w", ErrOrigin, req.Path, err)
	}
	resp.Body = readCloser{body, f}
	resp.Partial, resp.Offset, resp.Length = true, req.Offset, req.Length
	return resp, nil
}

// hasDotSegment reports whether a segment of the slash-separated path p
// starts with ".": a dotfile (.env) or one inside a dot-directory (.git/config).
func hasDotSegment(p string) bool {
	for seg := range strings.SplitSeq(p, "/") {
		if strings.HasPrefix(seg, ".") {
			return true
		}
	}
	return false
}

// sectionOf returns a reader of f's bytes [off, off+n).
func sectionOf(f fs.File, off, n int64) (io.Reader, error) {
	if ra, ok := f.(io.ReaderAt); ok {
		return io.NewSectionReader(ra, off, n), nil
	}
	if s, ok := f.(io.Seeker); ok {
		if _, err := s.Seek(off, io.SeekStart); err != nil {
			return nil, err
		}
		return io.LimitReader(f, n), nil
	}
	if _, err := io.CopyN(io.Discard, f, off); err != nil {
		return nil, err
	}
	return io.LimitReader(f, n), nil
}

type readCloser struct {
	io.Reader
	io.Closer
}
