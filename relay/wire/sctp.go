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

// SCTP packet size. Every SCTP packet is one DTLS record, and each packet
// costs a fixed amount of work on both ends whatever its size (chunking,
// marshalling, a DTLS record, an ICE-TCP frame, a SACK): pion's default of
// 1191 bytes is sized for a 1280-byte UDP path, which ICE-TCP does not have.
// The limit is the browser: libwebrtc (Chromium, Safari) reads each DTLS
// record into a 2048-byte buffer (kMaxDtlsPacketLen) and fails the
// transport on a larger one; Firefox reads up to ~9 KiB. sctpMTU is the
// largest SCTP packet whose DTLS record stays within 2048 bytes with every
// cipher suite the relay may negotiate (its certificate is ECDSA):
//
//	AES-GCM            13 header + 8 explicit nonce + 16 tag   = +37 → 2032
//	ChaCha20-Poly1305  13 header + 16 tag                      = +29 → 2024
//	AES-256-CBC-SHA1   13 header + 16 IV + 20 MAC + 1..16 pad  → 2045
//
// (CBC: 13 + 16 + ⌈(1995+20+1)/16⌉·16; 1996 would need 2061.) A pion peer
// must read records that large: receiveMTU raises webrtc's 1500-byte read
// buffer, which would otherwise drop every larger record (pion's ICE-TCP
// frames and dtls/sctp buffers are already 8192).
const (
	sctpMTU       = 1995
	maxDTLSRecord = 2048
	receiveMTU    = 8192
)

// DTLS datagram size. SCTP hands DTLS every packet it gathered at once
// (third_party/PATCHES.md), and DTLS packs those records into datagrams of
// less than dtlsMTU bytes: four full records (4 × 2045 = 8180) to one
// ICE-TCP frame instead of four frames, each frame a fixed cost on both ends.
// The limit is the frame: pion's ICE-TCP and Firefox's nICEr read frames of
// at most 8192 bytes, the 2-byte length included here to be safe. Records
// stay whole (DTLS never splits one across datagrams); libwebrtc and NSS read
// every record of a datagram. It is also the size above which DTLS would
// fragment a handshake message, which no handshake of ours reaches.
const dtlsMTU = receiveMTU - 2

// Large records. libwebrtc's 2048-byte read is the limit only for
// libwebrtc: Firefox's DTLS layer reads records of up to 9216 bytes
// (TransportLayerDtls), and its SCTP stack takes packets of any size, so
// for Firefox the limit is the ICE-TCP frame (nICEr: 8192 bytes). An SCTP
// packet of sctpMTULarge bytes is a record of at most 8189 bytes with every
// suite, one record to a frame under dtlsMTU:
//
//	AES-GCM            +37 → 8176
//	ChaCha20-Poly1305  +29 → 8168
//	AES-256-CBC-SHA1   13 + 16 + ⌈(8139+20+1)/16⌉·16 = 8189 (8140 → 8205)
//
// A 64 KiB message is then 9 packets instead of 34, and the browser
// acknowledges a quarter as many: each acknowledgement costs the relay a
// read and pion's whole receive path. The relay uses it for peers whose
// offer says they are Firefox (relay.readsLargeRecords).
const sctpMTULarge = 8139

// TuneSCTP applies the SCTP settings for ICE-TCP to se: SCTP packets every
// browser reads (sctpMTU). The relay and the Go peer both use it.
func TuneSCTP(se *webrtc.SettingEngine) { tuneSCTP(se, sctpMTU) }

// TuneSCTPLargeRecords is TuneSCTP for a peer that reads DTLS records as
// large as an ICE-TCP frame (Firefox): SCTP packets of sctpMTULarge bytes.
func TuneSCTPLargeRecords(se *webrtc.SettingEngine) { tuneSCTP(se, sctpMTULarge) }

func tuneSCTP(se *webrtc.SettingEngine, mtu uint32) {
	se.SetSCTPMinCwnd(sctpMinCwnd)
	se.SetSCTPCwndCAStep(sctpCwndCAStep)
	se.SetSCTPMaxReceiveBufferSize(sctpRecvBuffer)
	se.SetSCTPMTU(mtu)
	se.SetReceiveMTU(receiveMTU)
	se.SetDTLSMTU(dtlsMTU)
}
