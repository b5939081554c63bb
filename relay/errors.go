package relay

import "errors"

// Errors a caller of the relay may see.
var (
	// ErrClosed: the relay is closed.
	ErrClosed = errors.New("closed")
	// ErrBadConfig: a Config field is out of range.
	ErrBadConfig = errors.New("bad relay config")
	// ErrSlowConsumer: a peer did not drain its queue in time and was dropped.
	ErrSlowConsumer = errors.New("slow consumer")
	// ErrTimeout: a peer did not complete a step in time.
	ErrTimeout = errors.New("timeout")
	// ErrBanned: the peer's identity is banned for sending bad bytes.
	ErrBanned = errors.New("banned")
	// ErrNoHolder: no connected peer could provide the chunk; the cache goes
	// to the origin.
	ErrNoHolder = errors.New("no peer holds the chunk")
	// ErrOverloaded: the memory budget cannot take one more peer now
	// (Config.PeerMemory); the edge answers 503 and the peer retries later.
	ErrOverloaded = errors.New("overloaded")
	// ErrTokenExpired: the peer's token expired (Meta.Expires): it was
	// refused, or its session ended with a token_expired message.
	ErrTokenExpired = errors.New("token expired")
)

// Errors inside the relay: why a session ended, why a request failed, why
// a pull did not happen.
var (
	// errBye: the peer said bye (a session end that is no error).
	errBye = errors.New("peer said bye")
	// errForbidden: the peer's Meta.Allow refused the path (ERROR forbidden).
	errForbidden = errors.New("forbidden")
	// errPeerGone: the peer asked for a chunk left, or has no data channel.
	errPeerGone = errors.New("peer gone")
	// errPeerBusy: the peer's upload slots or byte rate allowed no pull in time.
	errPeerBusy = errors.New("peer busy")
	// errPeerDeclined: the peer declined to serve (its offer said serve: false).
	errPeerDeclined = errors.New("peer declined")
	// errQueueClosed: the transport's writer is gone (the session is ending).
	errQueueClosed = errors.New("send queue closed")
)
