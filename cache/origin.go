package cache

import (
	"context"
	"io"
	"time"
)

// Origin is where files come from: an HTTP server (HTTPOrigin) or a file
// system (FSOrigin).
type Origin interface {
	// Fetch returns the file at req.Path, a byte range of it, or "not
	// modified". The caller closes Response.Body. A missing file is
	// ErrNotFound; any other failure wraps ErrOrigin.
	Fetch(ctx context.Context, req Request) (*Response, error)
}

// OriginFunc adapts a function to Origin.
type OriginFunc func(ctx context.Context, req Request) (*Response, error)

// Fetch calls f.
func (f OriginFunc) Fetch(ctx context.Context, req Request) (*Response, error) { return f(ctx, req) }

// Validators identify one version of a file at the origin.
type Validators struct {
	ETag         string    // as the origin sent it, quotes and W/ included; empty if none
	LastModified time.Time // zero if none
}

// IsZero reports whether there is no validator at all.
func (v Validators) IsZero() bool { return v.ETag == "" && v.LastModified.IsZero() }

// Request asks an Origin for a file.
type Request struct {
	// Path is clean and relative (see wire.CleanPath).
	Path string
	// Offset and Length select a byte range; Length 0 asks for the whole file.
	Offset, Length int64
	// IfRange, for a range request: if the file no longer matches these
	// validators, the origin returns the whole new file (Response.Partial false).
	IfRange Validators
	// Cond, for a whole-file request: if the file still matches these
	// validators, the origin answers Response.NotModified with no body.
	Cond Validators
}

// Response is an Origin's answer.
type Response struct {
	// NotModified: Cond matched; there is no Body.
	NotModified bool
	// Partial: Body holds bytes [Offset, Offset+Length) of the file, not all of it.
	Partial bool
	// Body is the content; nil when NotModified.
	Body io.ReadCloser
	// Size is the whole file's size, -1 if unknown.
	Size int64
	// Offset is where Body starts in the file.
	Offset int64
	// Length is Body's length, -1 if unknown.
	Length int64
	// ContentType is the media type; empty means the cache picks one from the
	// extension or the first bytes.
	ContentType string
	// Validators of the version sent (or of the one confirmed, with NotModified).
	Validators Validators
	// MaxAge is how long this version may be used without revalidation.
	MaxAge time.Duration
}
