package portmux

import "errors"

// Errors the Mux returns.
var (
	// ErrClosed: Serve was called on a Mux already closed.
	ErrClosed = errors.New("portmux: closed")
	// ErrServing: Serve was called while another Serve runs.
	ErrServing = errors.New("portmux: already serving")
)
