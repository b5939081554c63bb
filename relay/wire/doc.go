// Package wire is the p2pcache protocol, and only the protocol: what crosses
// between a peer (the browser SDK in client-js, or the Go peer in relay/peer)
// and the relay, with the limits and checks both ends apply. It holds no
// connection, goroutine or state beyond the RTT estimator's counters; the
// relay (package relay) and the Go peer (package relay/peer) both build on it,
// and neither imports the other. PROTOCOL.md is the reference; this package
// is its Go implementation, and testdata/ holds vectors that the Go and the
// JavaScript implementations both check.
//
// The layers, bottom up:
//
//  1. Signaling (signal.go): JSON text messages on one WebSocket
//     (TextMessage, websocket.go): hello, offer, answer, candidate, error,
//     bye. ParseSignal refuses another version, unknown types, trailing
//     data and oversize fields.
//  2. The data channel (sctp.go): exactly one, pre-negotiated on both sides
//     (DataChannelLabel, DataChannelInit), carried by SCTP over DTLS over
//     ICE-TCP; TuneSCTP sets SCTP up for a reliable TCP path beneath it.
//  3. Frames (frame.go, codes.go): each data-channel message, or binary
//     WebSocket message on the fallback rung, is one frame of at most
//     MaxMessageSize bytes: an 8-byte header (version, type, flags, request
//     id) and a body per type. The flags are zero but for a CHUNK's
//     ChunkSource (source.go): where the relay got the chunk. Requests (GET_FILE, GET_MANIFEST, GET_CHUNK,
//     CANCEL, PING, PONG, HAVE) name files by a clean path (path.go) and
//     chunks by their SHA-256 (hash.go); answers are MANIFEST and CHUNK
//     fragments, or one ERROR with an ErrorCode. DecodeFrame and
//     AppendFrame accept exactly the same frames. rtt.go smooths the
//     PING/PONG round trips.
//  4. Content (manifest.go): a Manifest describes one version of one file:
//     its size, type, chunk size and the SHA-256 of every chunk and of the
//     whole. The receiver checks each chunk against it (ErrVerify when it
//     does not match) before using a byte.
//
// Errors wrap the sentinels in errors.go, so callers test them with
// errors.Is.
package wire
