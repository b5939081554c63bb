package mesh

import (
	"errors"
	"fmt"

	"github.com/p2pcache/p2pcache/cache"
)

var (
	// ErrBadConfig: a Config field is out of range or inconsistent.
	ErrBadConfig = errors.New("bad mesh config")
	// ErrClosed: the mesh was closed.
	ErrClosed = errors.New("mesh closed")
	// ErrNATS: the NATS server could not be started or connected to.
	ErrNATS = errors.New("nats")
	// ErrBadMessage: a relay-to-relay message failed to decode or validate.
	ErrBadMessage = errors.New("bad mesh message")
	// ErrTimeout: an owner did not answer (or stopped answering) in time.
	ErrTimeout = errors.New("owner timed out")
	// ErrUnreachable: no one listens on the owner's subject (it is gone),
	// or this relay is not connected to NATS.
	ErrUnreachable = errors.New("owner unreachable")
	// ErrRefused: the owner answered that it has no answer here (MISS) or
	// that it failed (ERROR).
	ErrRefused = errors.New("owner has no answer")
	// ErrBadBytes: an owner's answer did not match the manifest, or its
	// manifest did not validate.
	ErrBadBytes = errors.New("owner sent bad bytes")
)

// The fall-through answers of the cache.Tier methods: each wraps
// cache.ErrTierMiss, so the cache asks the origin. They are values so a
// miss costs no allocation.
var (
	missSelf         = fmt.Errorf("%w: this relay owns the key", cache.ErrTierMiss)
	missDisconnected = fmt.Errorf("%w: %w: not connected to NATS", cache.ErrTierMiss, ErrUnreachable)
	missClosed       = fmt.Errorf("%w: %w", cache.ErrTierMiss, ErrClosed)
	missNoOwner      = fmt.Errorf("%w: no owner answered", cache.ErrTierMiss)

	// errLostNATS: this relay's NATS connection went down during a
	// request; the owner is not to blame.
	errLostNATS = fmt.Errorf("%w: NATS connection lost", ErrUnreachable)
)
