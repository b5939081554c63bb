package wire

import "errors"

var (
	// ErrBadFrame: a wire frame is malformed.
	ErrBadFrame = errors.New("bad frame")
	// ErrUnknownType: a wire frame has a type this version does not know.
	ErrUnknownType = errors.New("unknown frame type")
	// ErrVersion: a wire frame has another protocol version.
	ErrVersion = errors.New("unsupported wire version")
	// ErrBadSignal: a signaling message is malformed or out of order.
	ErrBadSignal = errors.New("bad signaling message")
	// ErrBadManifest: a manifest failed to parse or validate.
	ErrBadManifest = errors.New("bad manifest")
	// ErrBadPath: the path is not a clean relative path inside the origin.
	ErrBadPath = errors.New("bad path")
	// ErrRemote: the other side answered with an ERROR frame; see *RemoteError.
	ErrRemote = errors.New("remote error")
	// ErrVerify: received bytes do not match the manifest.
	ErrVerify = errors.New("verification failed")
)

// RemoteError is an ERROR frame received in answer to a request.
type RemoteError struct {
	Code    ErrorCode
	Message string
}

func (e *RemoteError) Error() string { return "remote: " + e.Code.String() + ": " + e.Message }

// Unwrap lets errors.Is match ErrRemote.
func (e *RemoteError) Unwrap() error { return ErrRemote }
