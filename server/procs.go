package main

import (
	"context"
	"log/slog"
	"os"
	"runtime"
	"sync"

	"github.com/p2pcache/p2pcache/server/internal/procs"
)

// startProcs sizes GOMAXPROCS: GOMAXPROCS in the environment wins; a
// fixed --procs sets it; --procs auto (the default) runs a procs.Scaler
// until the returned stop, which waits for it and puts back what it found.
func startProcs(n int, log *slog.Logger) (stop func()) {
	switch {
	case os.Getenv("GOMAXPROCS") != "":
		log.Info("procs", "gomaxprocs", runtime.GOMAXPROCS(0), "set_by", "GOMAXPROCS")
		return func() {}
	case n > 0:
		runtime.GOMAXPROCS(n)
		log.Info("procs", "gomaxprocs", n, "set_by", "procs")
		return func() {}
	}
	log.Info("procs", "gomaxprocs", "auto", "max", runtime.GOMAXPROCS(0))
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		procs.New(procs.Config{}, log).Run(ctx)
	}()
	return func() {
		cancel()
		wg.Wait()
	}
}
