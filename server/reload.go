package main

import (
	"errors"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/p2pcache/p2pcache/server/internal/stack"
)

// reloadOnSIGHUP reloads --tls-cert and --tls-key on each SIGHUP
// (systemctl reload) until stop: new TLS handshakes get the new
// certificate, open connections are not touched. Without certificate
// files SIGHUP is logged and ignored (it no longer ends the process).
func reloadOnSIGHUP(s *stack.Stack, log *slog.Logger) (stop func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			case <-hup:
			}
			switch err := s.ReloadCerts(); {
			case errors.Is(err, stack.ErrNoCertFiles):
				log.Info("SIGHUP: nothing to reload (no --tls-cert)")
			case err != nil:
				log.Error("SIGHUP: TLS files not reloaded; the certificate in use stays", "err", err)
			}
		}
	}()
	return func() {
		signal.Stop(hup)
		close(done)
		wg.Wait()
	}
}
