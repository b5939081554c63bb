package relay

import "errors"

var (
	// ErrClosed: the relay is closed.
	ErrClosed = errors.New("closed")
	// ErrBadConfig: a Config field is out of range.
	ErrBadConfig = errors.New("bad relay config")
	// ErrSlowConsumer: a peer did not drain its queue in time and was dropped.
	ErrSlowConsumer = errors.New("slow consumer")
	// ErrTimeout: a peer did not complete a step in time.
	ErrTimeout = errors.New("timeout")
)
