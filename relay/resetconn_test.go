package relay

import (
	"errors"
	"io"
	"net"
	"testing"
)

// TestResetReadsAsEOF: a peer that resets one of its ICE-TCP connections
// (it closed a connection it did not select with bytes unread: the kernel
// sends RST) reads as EOF on the relay's side. pion's tcpPacketConn passes
// EOF on only when the connection was its last one, but any other error it
// passes to the candidate, whose read loop then ends: the relay stopped
// hearing the peer on the connection it did select, and dropped it as idle
// 30 s later (seen under load in TestBudgetBackpressure and
// TestRoutesToFastestHolder).
func TestResetReadsAsEOF(t *testing.T) {
	for _, coalesce := range []bool{false, true} {
		cli, srv := tcpPair(t)
		var c net.Conn = resetAsEOF{srv}
		if coalesce {
			c = newCoalescedConn(c)
		}
		// Unread bytes and a zero linger: the close is a reset.
		if _, err := srv.Write([]byte("unread")); err != nil {
			t.Fatal(err)
		}
		cli.(*net.TCPConn).SetLinger(0)
		cli.Close()
		_, err := c.Read(make([]byte, 16))
		if !errors.Is(err, io.EOF) {
			t.Errorf("coalescing %v: read after the peer's reset: %v, want io.EOF", coalesce, err)
		}
		c.Close()
	}
}
