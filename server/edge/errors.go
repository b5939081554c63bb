package edge

import "errors"

// Errors the edge returns or wraps.
var (
	// ErrConfig: a Config field is out of range.
	ErrConfig = errors.New("invalid edge configuration")
	// ErrAuth: a request's token is missing, malformed, forged, expired or
	// does not cover the path.
	ErrAuth = errors.New("unauthorized")
	// ErrClosed: Serve was called on an edge already shut down.
	ErrClosed = errors.New("edge closed")
)
