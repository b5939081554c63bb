package main

import (
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/p2pcache/p2pcache/server/internal/config"
	"github.com/p2pcache/p2pcache/server/portmux"
)

// sockets are the relay's listeners, all bound before anything is built,
// so that a port in use fails the start at once (exit 1).
//
// With --ice-listen shared, one socket (--listen) carries everything: a
// portmux.Mux in front of it hands STUN-first connections to the relay's
// ICE-TCP mux and TLS (with TLS on) or HTTP (with it off) connections to
// the edge; the other kind is closed. The relay's candidates carry the
// shared port, because the mux's listeners report the socket's address.
type sockets struct {
	public  net.Listener // --listen: what browsers reach for HTTP(S)
	http    net.Listener // what the edge serves: public, or the mux's
	ice     net.Listener // what the relay takes: --ice-listen, or the mux's
	mux     *portmux.Mux // --ice-listen shared only
	metrics net.Listener // --metrics-listen; nil when not set
	acme    net.Listener // --acme-http-listen; nil when not set
	debug   net.Listener // --debug-addr; nil when not set
}

// peekTimeout bounds the wait for a shared-port connection's first bytes.
const peekTimeout = 5 * time.Second

// openSockets binds every listener cfg names; on an error it closes what
// it had bound and names the flag.
func openSockets(cfg config.Config, log *slog.Logger) (*sockets, error) {
	s := &sockets{}
	listen := func(flag, addr string) (net.Listener, error) {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			s.close()
			return nil, fmt.Errorf("--%s %s: %w", flag, addr, err)
		}
		return ln, nil
	}
	var err error
	if s.public, err = listen("listen", cfg.Listen); err != nil {
		return nil, err
	}
	if cfg.Shared() {
		s.mux = portmux.New(s.public, portmux.Config{PeekTimeout: peekTimeout, Logger: log.With("component", "portmux")})
		s.ice = s.mux.Listener(portmux.STUN)
		if cfg.TLS() {
			s.http = s.mux.Listener(portmux.TLS)
		} else {
			s.http = s.mux.Listener(portmux.HTTP)
		}
	} else {
		s.http = s.public
		if s.ice, err = listen("ice-listen", cfg.ICEListen); err != nil {
			return nil, err
		}
	}
	for _, l := range []struct {
		flag, addr string
		ln         *net.Listener
	}{{"metrics-listen", cfg.MetricsListen, &s.metrics}, {"acme-http-listen", cfg.ACMEHTTPListen, &s.acme}, {"debug-addr", cfg.DebugAddr, &s.debug}} {
		if l.addr == "" {
			continue
		}
		if *l.ln, err = listen(l.flag, l.addr); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// collectors are the sockets' figures for /metrics: the port demux's.
func (s *sockets) collectors() []prometheus.Collector {
	if s.mux == nil {
		return nil
	}
	return []prometheus.Collector{s.mux.Collector()}
}

// iceAddr is where ICE-TCP listens, for the log.
func (s *sockets) iceAddr() string {
	if s.mux != nil {
		return s.public.Addr().String() + " (shared)"
	}
	return s.ice.Addr().String()
}

// close closes every listener bound (a closed one again is harmless).
func (s *sockets) close() {
	if s.mux != nil {
		s.mux.Close() // closes public and the mux's listeners
	}
	for _, ln := range []net.Listener{s.public, s.ice, s.metrics, s.acme, s.debug} {
		if ln != nil {
			ln.Close()
		}
	}
}
