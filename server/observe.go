package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"sync"
	"time"

	"github.com/p2pcache/p2pcache/server/internal/config"
	"github.com/p2pcache/p2pcache/server/internal/stack"
)

// newLogger is the relay's logger: --log-format (text or JSON lines) at
// --log-level, to w.
func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// sideServers runs what serves beside the edge: the shared port's demux,
// /metrics (with pprof when --pprof) on --metrics-listen, ACME's HTTP-01
// on --acme-http-listen and pprof on --debug-addr. stop ends them all and
// waits; call it after the stack's Shutdown, which still needs the demux.
type sideServers struct {
	wg    sync.WaitGroup
	stops []func()
}

// startSideServers starts the servers the sockets call for.
func startSideServers(socks *sockets, s *stack.Stack, cfg config.Config, log *slog.Logger) *sideServers {
	b := &sideServers{}
	if m := socks.mux; m != nil {
		b.wg.Add(1)
		go func() {
			defer b.wg.Done()
			if err := m.Serve(); err != nil {
				log.Error("shared port", "err", err)
			}
		}()
		b.stops = append(b.stops, func() { m.Close() })
	}
	if socks.metrics != nil {
		mux := http.NewServeMux()
		mux.Handle("/metrics", s.Edge.MetricsHandler())
		if cfg.PProf {
			handlePProf(mux)
		}
		b.serveHTTP("metrics", socks.metrics, mux, log)
		log.Info("metrics on http://"+socks.metrics.Addr().String()+"/metrics", "pprof", cfg.PProf)
	}
	if socks.acme != nil {
		b.serveHTTP("acme-http", socks.acme, s.ACMEHandler(), log)
	}
	if socks.debug != nil {
		mux := http.NewServeMux()
		handlePProf(mux)
		b.serveHTTP("debug", socks.debug, mux, log)
		log.Info("profiles on http://" + socks.debug.Addr().String() + "/debug/pprof/")
	}
	return b
}

// serveHTTP serves h on ln until stop.
func (b *sideServers) serveHTTP(name string, ln net.Listener, h http.Handler, log *slog.Logger) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error(name+" server", "err", err)
		}
	}()
	b.stops = append(b.stops, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if srv.Shutdown(ctx) != nil {
			srv.Close()
		}
	})
}

// stop ends every server and waits for them.
func (b *sideServers) stop() {
	for _, f := range b.stops {
		f()
	}
	b.wg.Wait()
}

// handlePProf mounts Go's profiles under /debug/pprof/, but for the command
// line (404).
func handlePProf(mux *http.ServeMux) {
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	// Not /cmdline: the command line may hold --auth-secret.
	mux.Handle("/debug/pprof/cmdline", http.NotFoundHandler())
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
}
