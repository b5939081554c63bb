package wire

import "github.com/pion/webrtc/v4"

// DataChannelLabel is the label of the one data channel.
const DataChannelLabel = "p2pcache"

// DataChannelID is the SCTP stream id of the one pre-negotiated data channel.
const DataChannelID = 0

// DataChannelInit is the one pre-negotiated channel both sides create:
// negotiated (no DCEP round trip), id DataChannelID, ordered and reliable.
func DataChannelInit() *webrtc.DataChannelInit {
	negotiated, id, ordered := true, uint16(DataChannelID), true
	return &webrtc.DataChannelInit{Negotiated: &negotiated, ID: &id, Ordered: &ordered}
}

// SCTP over ICE-TCP. TCP below already does congestion control and never
// loses a packet, so SCTP's own congestion window only adds slow-start round
// trips: a fresh connection at 50 ms RTT took ~5 round trips for its first
// 64 KiB and moved ~1 MB/s. A large minimum window lets SCTP send up to the
// receiver's window at once and leaves pacing to TCP; a larger receive
// buffer lets a peer upload as fast.
const (
	sctpMinCwnd    = 1 << 20
	sctpCwndCAStep = 64 << 10
	sctpRecvBuffer = 4 << 20
)

// TuneSCTP applies the SCTP settings for ICE-TCP to se. The relay and the
// Go peer both use it.
func TuneSCTP(se *webrtc.SettingEngine) {
	se.SetSCTPMinCwnd(sctpMinCwnd)
	se.SetSCTPCwndCAStep(sctpCwndCAStep)
	se.SetSCTPMaxReceiveBufferSize(sctpRecvBuffer)
}
