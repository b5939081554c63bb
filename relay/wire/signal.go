package wire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// Signaling: JSON text messages over the WebSocket, each with a version "v"
// and a "type". See PROTOCOL.md.
const (
	// SignalVersion is the "v" of every signaling message.
	SignalVersion = 1
	// MaxSignalSize bounds one signaling message, in bytes.
	MaxSignalSize = 64 << 10
	// MaxSDPLen bounds an SDP.
	MaxSDPLen = 32 << 10
	// MaxCandidateLen bounds one ICE candidate line.
	MaxCandidateLen = 512
)

// Signal types.
const (
	SignalHello     = "hello"     // relay → peer, first message: peer id and limits
	SignalOffer     = "offer"     // peer → relay: the peer's SDP offer
	SignalAnswer    = "answer"    // relay → peer: the relay's complete SDP answer
	SignalCandidate = "candidate" // peer → relay: a trickled ICE candidate
	SignalError     = "error"     // relay → peer: why the relay refused something
	SignalBye       = "bye"       // either way: closing
)

// Signal is one signaling message.
type Signal struct {
	V    int    `json:"v"`
	Type string `json:"type"`
	// SDP: offer and answer.
	SDP string `json:"sdp,omitempty"`
	// Serve, in an offer: false means the peer declines to serve chunks to
	// others (a metered network, say); absent means it serves.
	Serve *bool `json:"serve,omitempty"`
	// Candidate: candidate. Nil or an empty candidate string means end of candidates.
	Candidate *Candidate `json:"candidate,omitempty"`
	// Hello fields.
	PeerID         string `json:"peerId,omitempty"`
	ChunkSize      int    `json:"chunkSize,omitempty"`
	MaxMessageSize int    `json:"maxMessageSize,omitempty"`
	// Error fields.
	Code    string `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
}

// Candidate is an RTCIceCandidateInit.
type Candidate struct {
	Candidate     string  `json:"candidate"`
	SDPMid        *string `json:"sdpMid,omitempty"`
	SDPMLineIndex *uint16 `json:"sdpMLineIndex,omitempty"`
}

// ParseSignal decodes and validates one signaling message. Unknown fields
// are ignored (a newer peer may add some); unknown types, a wrong version,
// oversize fields and trailing data are errors wrapping ErrBadSignal.
func ParseSignal(b []byte) (*Signal, error) {
	if len(b) > MaxSignalSize {
		return nil, fmt.Errorf("%w: %d bytes, over %d", ErrBadSignal, len(b), MaxSignalSize)
	}
	var s Signal
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadSignal, err)
	}
	// Not dec.More: it reports a trailing "}" or "]" as no more data.
	if len(bytes.TrimLeft(b[dec.InputOffset():], " \t\r\n")) != 0 {
		return nil, fmt.Errorf("%w: trailing data", ErrBadSignal)
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return &s, nil
}

// Validate checks the fields the message's type needs.
func (s *Signal) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %q: %s", ErrBadSignal, s.Type, fmt.Sprintf(format, args...))
	}
	if s.V != SignalVersion {
		return fmt.Errorf("%w: version %d, want %d", ErrBadSignal, s.V, SignalVersion)
	}
	switch s.Type {
	case SignalOffer, SignalAnswer:
		if len(s.SDP) > MaxSDPLen {
			return bad("sdp is %d bytes, over %d", len(s.SDP), MaxSDPLen)
		}
		if !strings.HasPrefix(s.SDP, "v=0") {
			return bad("sdp does not start with v=0")
		}
	case SignalCandidate:
		if c := s.Candidate; c != nil {
			if len(c.Candidate) > MaxCandidateLen {
				return bad("candidate is %d bytes, over %d", len(c.Candidate), MaxCandidateLen)
			}
			if c.Candidate != "" && !strings.HasPrefix(c.Candidate, "candidate:") {
				return bad("candidate does not start with candidate:")
			}
			if c.SDPMid != nil && len(*c.SDPMid) > 32 {
				return bad("sdpMid longer than 32 bytes")
			}
		}
	case SignalHello, SignalBye:
	case SignalError:
		if len(s.Message) > MaxErrorMessageLen {
			return bad("message over %d bytes", MaxErrorMessageLen)
		}
	case "":
		return fmt.Errorf("%w: no type", ErrBadSignal)
	default:
		return fmt.Errorf("%w: unknown type %q", ErrBadSignal, s.Type)
	}
	return nil
}

// Marshal encodes s as a signaling message, setting its version.
func (s Signal) Marshal() []byte {
	s.V = SignalVersion
	b, err := json.Marshal(s)
	if err != nil { // a Signal always marshals
		return []byte(`{"v":1,"type":"error","code":"internal"}`)
	}
	return b
}
