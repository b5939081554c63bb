package wire

// WebSocket message types, as in RFC 6455 and gorilla/fasthttp websocket:
// signaling messages travel as text, wire frames (on the fallback rung) as
// binary.
const (
	TextMessage   = 1
	BinaryMessage = 2
)
