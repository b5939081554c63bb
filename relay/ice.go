package relay

import (
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/logging"
	"github.com/pion/webrtc/v4"

	"github.com/p2pcache/p2pcache/relay/wire"
)

// newAPI builds the relay's pion APIs (two, see apis): data channels only,
// over ICE-TCP on the one listener, passive host candidates only.
//
// What each setting is for:
//   - TCP network types and one TCPMux: every peer reaches the relay on one
//     TCP port (RFC 6544 passive candidates); no UDP socket is opened.
//   - an IP filter to the listener's IP: otherwise pion advertises the mux
//     port on every interface, including ones the listener is not bound to.
//   - loopback candidates: a relay bound to 127.0.0.1 has no others.
//   - an empty MediaEngine and interceptor registry: without them NewAPI adds
//     NACK/RTCP/TWCC interceptors, goroutines a peer doing nothing here.
//   - detached data channels: the session reads frames in a goroutine it owns
//     instead of in pion's callback.
//   - ICE timeouts: the defaults notice a dead peer after ~30 s.
//   - write coalescing on each ICE-TCP connection (coalesce.go): the packets
//     queued behind a write in progress go out in one syscall; and a peer's
//     reset of one of its connections reads as its end (resetconn.go), or
//     pion stops reading the peer's other connections too.
//   - SCTP tuned for running over TCP (wire.TuneSCTP), and with packets as
//     large as a frame for peers that read such records
//     (wire.TuneSCTPLargeRecords).
//   - the TCPMux's first-STUN timeout: a connection that never sends a STUN
//     binding request is closed after 5 s, not pion's 30.
func newAPI(l net.Listener, cfg Config, lf logging.LoggerFactory) (*apis, *ice.TCPMuxDefault, error) {
	addr, ok := l.Addr().(*net.TCPAddr)
	if !ok {
		return nil, nil, fmt.Errorf("%w: ICE listener is %T, want a TCP listener", ErrBadConfig, l.Addr())
	}
	var se webrtc.SettingEngine
	se.LoggerFactory = lf
	switch {
	case addr.IP.IsUnspecified():
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeTCP4, webrtc.NetworkTypeTCP6})
	case addr.IP.To4() != nil:
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeTCP4})
	default:
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeTCP6})
	}
	if !addr.IP.IsUnspecified() {
		ip := addr.IP
		se.SetIPFilter(func(candidate net.IP) bool { return candidate.Equal(ip) })
	}
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	if len(cfg.PublicIPs) > 0 {
		err := se.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{
			External:        cfg.PublicIPs,
			AsCandidateType: webrtc.ICECandidateTypeHost,
			Mode:            webrtc.ICEAddressRewriteReplace,
		})
		if err != nil {
			return nil, nil, fmt.Errorf("%w: public IPs: %w", ErrBadConfig, err)
		}
	}
	se.SetICETimeouts(cfg.ICEDisconnectedTimeout, cfg.ICEFailedTimeout, cfg.ICEKeepalive)
	se.SetPrflxAcceptanceMinWait(0)
	// A DTLS handshake that has not finished in 10 s is abandoned.
	se.SetDTLSConnectContextMaker(func() (context.Context, func()) {
		return context.WithTimeout(context.Background(), 10*time.Second)
	})
	se.DetachDataChannels()
	wire.TuneSCTP(&se)
	// Fewer round trips to an open channel. The relay answers as the DTLS
	// server and skips the HelloVerifyRequest cookie (ICE's connectivity
	// check has already proven the peer's address): one round trip less.
	// SCTP SNAP (the SCTP INIT carried in the SDP) saves two more with
	// peers that offer it (pion peers do; browsers without it are
	// unaffected: the answer carries it only when the offer did).
	if err := se.SetAnsweringDTLSRole(webrtc.DTLSRoleServer); err != nil {
		return nil, nil, err
	}
	se.SetDTLSInsecureSkipHelloVerify(true)
	se.EnableSctpSnap(true)
	l = iceListener{Listener: l, coalesce: !cfg.noWriteCoalescing}
	mux := ice.NewTCPMuxDefault(ice.TCPMuxParams{
		Listener:                     l,
		Logger:                       lf.NewLogger("ice-tcp"),
		ReadBufferSize:               8,
		FirstStunBindTimeout:         5 * time.Second,
		AliveDurationForConnFromStun: 10 * time.Second,
	})
	se.SetICETCPMux(mux)
	build := func(se webrtc.SettingEngine) *webrtc.API {
		return webrtc.NewAPI(
			webrtc.WithSettingEngine(se),
			webrtc.WithMediaEngine(&webrtc.MediaEngine{}),
			webrtc.WithInterceptorRegistry(&interceptor.Registry{}),
		)
	}
	large := se // the same settings and the same mux, larger SCTP packets
	wire.TuneSCTPLargeRecords(&large)
	return &apis{standard: build(se), largeRecords: build(large)}, mux, nil
}

// apis are the relay's two pion APIs, alike but for the SCTP packet size
// (relay/wire/sctp.go): packets every browser reads, and packets as large
// as an ICE-TCP frame for a peer that reads such DTLS records. Both use the
// one ICE-TCP mux.
type apis struct {
	standard     *webrtc.API
	largeRecords *webrtc.API
}

// readsLargeRecords reports whether offer comes from a peer that reads DTLS
// records as large as an ICE-TCP frame: Firefox (its DTLS layer reads 9216
// bytes; libwebrtc reads 2048, and pion peers built before the larger
// packets read 1500). Firefox names itself in the offer's origin line,
// "o=mozilla...THIS_IS_SDPARTA-<version> …" (RFC 8866 §5.2, username
// field). A peer that lies gets packets it cannot read and a connection
// that stalls: its own loss.
func readsLargeRecords(offer string) bool {
	for line := range strings.Lines(offer) {
		if rest, ok := strings.CutPrefix(line, "o="); ok {
			user, _, _ := strings.Cut(rest, " ")
			return strings.HasPrefix(user, "mozilla...THIS_IS_SDPARTA-")
		}
		if strings.HasPrefix(line, "m=") {
			break // the origin line comes first
		}
	}
	return false
}
