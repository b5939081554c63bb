package relay

import "time"

// Conn is a signaling connection: a WebSocket, as gofiber/contrib/websocket
// and fasthttp/websocket provide it. The relay reads it from the goroutine
// that called Accept and writes it from one writer goroutine of its own.
type Conn interface {
	ReadMessage() (messageType int, p []byte, err error)
	WriteMessage(messageType int, data []byte) error
	SetReadDeadline(t time.Time) error
	SetWriteDeadline(t time.Time) error
	Close() error
}
