package relay

import (
	"errors"
	"io"
	"net"
	"syscall"
)

// resetAsEOF makes a peer's reset of an ICE-TCP connection read as its
// end (io.EOF). A browser or Go peer dials the relay's passive candidate
// from each of its interfaces and closes the connections it did not
// select; one closed with bytes unread is reset, not ended. pion's
// tcpPacketConn (ice v4.4.8, tcp_packet_conn.go startReading) hands any
// read error but EOF to the candidate's read loop, which then ends for
// every connection of the peer, the selected one included: the relay no
// longer hears the peer. Reported as EOF, the reset is what it means here,
// that connection's end, and pion passes it on only if it was the last.
type resetAsEOF struct{ net.Conn }

func (c resetAsEOF) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if err != nil && (errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNABORTED)) {
		err = io.EOF
	}
	return n, err
}
