package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/p2pcache/p2pcache/server/internal/config"
	"github.com/p2pcache/p2pcache/server/internal/stack"
)

// serve runs the relay: configuration, listeners, the stack, then until
// SIGINT or SIGTERM, then a drain of up to --shutdown-timeout.
func serve(args []string, stdout, stderr io.Writer) int {
	cfg, err := config.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		printHelp(stdout)
		return 0
	case errors.Is(err, config.ErrVersion):
		printVersion(stdout)
		return 0
	case errors.Is(err, config.ErrUsage):
		fmt.Fprintf(stderr, "p2pcache: %v (see p2pcache --help)\n", err)
		return 2
	case err != nil:
		fmt.Fprintln(stderr, "p2pcache:", err)
		return 2
	}
	log := newLogger(cfg, stderr)
	socks, err := openSockets(cfg, log)
	if err != nil {
		fmt.Fprintln(stderr, "p2pcache:", err)
		return 1
	}
	s, err := stack.New(cfg, buildInfo(), log, socks.ice, socks.collectors()...)
	if err != nil {
		socks.close()
		fmt.Fprintln(stderr, "p2pcache:", err)
		return 1
	}
	setMemoryLimit(s, cfg.CacheSize, log)
	stopProcs := startProcs(cfg.Procs, log)
	defer stopProcs()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	side := startSideServers(socks, s, cfg, log)
	defer side.stop() // after the stack's Shutdown below: the drain still uses the shared port
	stopReload := reloadOnSIGHUP(s, log)
	defer stopReload()
	served := make(chan error, 1)
	go func() { served <- s.Serve(socks.http) }()
	s.Started()
	scheme := "http"
	if s.TLS {
		scheme = "https"
	}
	b := buildInfo()
	log.Info("p2pcache relay ready",
		"http", scheme+"://"+socks.public.Addr().String(),
		"ice_tcp", socks.iceAddr(),
		"origin", s.OriginName,
		"cache_size", cfg.CacheSize,
		"chunk_size", cfg.ChunkSize,
		"config", cfg.File,
		"version", b.Version)
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case err := <-served:
		log.Error("http server stopped", "err", err)
		served <- nil // for the wait below
	}
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	err = s.Shutdown(sctx)
	<-served
	if err != nil {
		log.Error("shutdown", "err", err)
		return 1
	}
	return 0
}
