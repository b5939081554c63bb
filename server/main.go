// Command p2pcache is the relay: it serves static files to browsers over
// WebRTC data channels on ICE-TCP (one TCP port, no UDP), with a WebSocket
// and plain-HTTP fallback, from a byte-bounded chunk cache in front of an
// origin. Run it with no flags to serve the built-in demo origin on
// http://127.0.0.1:8080.
//
// "p2pcache fetch PATH..." is a Go peer: it fetches files from a running
// relay over WebRTC and verifies them. "p2pcache token" prints an access
// token for a relay started with --auth-secret.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"golang.org/x/net/netutil"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if len(args) > 0 {
		switch args[0] {
		case "fetch":
			return runFetch(args[1:], os.Stdout, os.Stderr)
		case "token":
			return runToken(args[1:], os.Getenv, os.Stdout, os.Stderr)
		}
	}
	cfg, err := parseConfig(args, os.Getenv, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "p2pcache:", err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	httpLn, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		fmt.Fprintf(os.Stderr, "p2pcache: --listen %s: %v\n", cfg.Listen, err)
		return 1
	}
	iceLn, err := net.Listen("tcp", cfg.ICEListen)
	if err != nil {
		httpLn.Close()
		fmt.Fprintf(os.Stderr, "p2pcache: --ice-listen %s: %v\n", cfg.ICEListen, err)
		return 1
	}
	// The ICE port takes a few connections per peer at most (one per local
	// interface it tries); past that, connections wait in the backlog.
	s, err := newRelayServer(cfg, log, netutil.LimitListener(iceLn, 4*cfg.MaxPeers+64))
	if err != nil {
		httpLn.Close()
		iceLn.Close()
		fmt.Fprintln(os.Stderr, "p2pcache:", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if cfg.DebugAddr != "" {
		stopDebug, err := serveDebug(cfg.DebugAddr, log)
		if err != nil {
			s.close()
			httpLn.Close()
			fmt.Fprintf(os.Stderr, "p2pcache: --debug-addr %s: %v\n", cfg.DebugAddr, err)
			return 1
		}
		defer stopDebug()
	}
	served := make(chan error, 1)
	go func() { served <- s.serve(httpLn) }()
	scheme := "http"
	if s.tls != nil {
		scheme = "https"
	}
	log.Info("p2pcache relay ready",
		"http", scheme+"://"+httpLn.Addr().String(),
		"ice_tcp", iceLn.Addr().String(),
		"origin", s.originName,
		"cache_size", cfg.CacheSize,
		"chunk_size", cfg.ChunkSize)
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case err := <-served:
		log.Error("http server stopped", "err", err)
	}
	if err := s.shutdown(cfg.ShutdownTimeout); err != nil {
		log.Error("shutdown", "err", err)
		return 1
	}
	return 0
}
