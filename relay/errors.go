package relay

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
	// ErrClosed: the relay or peer is closed.
	ErrClosed = errors.New("closed")
	// ErrBadConfig: a Config field is out of range.
	ErrBadConfig = errors.New("bad relay config")
	// ErrSlowConsumer: a peer did not drain its queue in time and was dropped.
	ErrSlowConsumer = errors.New("slow consumer")
	// ErrTimeout: a peer did not complete a step in time.
	ErrTimeout = errors.New("timeout")
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
