package wire

import "fmt"

// ErrorCode is the code of an ERROR frame.
type ErrorCode uint16

// Error codes.
const (
	CodeBadRequest  ErrorCode = 1  // the request frame is malformed
	CodeNotFound    ErrorCode = 2  // no such file at the origin
	CodeOrigin      ErrorCode = 3  // the origin failed; retrying later may work
	CodeStale       ErrorCode = 4  // the file changed: fetch the manifest again
	CodeTooLarge    ErrorCode = 5  // the file is over the relay's limit
	CodeBusy        ErrorCode = 6  // too many requests in flight; retry later
	CodeForbidden   ErrorCode = 7  // not allowed for this peer
	CodeInternal    ErrorCode = 8  // a relay bug
	CodeCancelled   ErrorCode = 9  // the request was cancelled
	CodeUnsupported ErrorCode = 10 // unknown frame type or version
	CodeUnknown     ErrorCode = 11 // a chunk asked for by hash alone is not known
	CodeBadPath     ErrorCode = 12 // the path is not a clean relative path
)

func (c ErrorCode) String() string {
	switch c {
	case CodeBadRequest:
		return "bad_request"
	case CodeNotFound:
		return "not_found"
	case CodeOrigin:
		return "origin_error"
	case CodeStale:
		return "stale"
	case CodeTooLarge:
		return "too_large"
	case CodeBusy:
		return "busy"
	case CodeForbidden:
		return "forbidden"
	case CodeInternal:
		return "internal"
	case CodeCancelled:
		return "cancelled"
	case CodeUnsupported:
		return "unsupported"
	case CodeUnknown:
		return "unknown_chunk"
	case CodeBadPath:
		return "bad_path"
	}
	return fmt.Sprintf("code_%d", uint16(c))
}
