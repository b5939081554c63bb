package stack

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"

	"github.com/p2pcache/p2pcache/server/internal/certs"
	"github.com/p2pcache/p2pcache/server/internal/config"
)

// ErrNoCertFiles: ReloadCerts on a stack that serves no certificate files.
var ErrNoCertFiles = errors.New("no --tls-cert/--tls-key to reload")

// ops is the stack's operator side: where its TLS certificates come from,
// and the "starting" hold on /readyz.
type ops struct {
	certs     *certs.Files // --tls-cert/--tls-key; nil otherwise
	acme      *certs.ACME  // --acme-domains; nil otherwise
	stopWatch func()       // ends the certificate watch and waits for it
	starting  func()       // releases the "starting" hold
}

// newTLS returns the edge's TLS config for cfg: certificate files, watched
// every --tls-reload-interval, or ACME; nil without TLS.
func (o *ops) newTLS(cfg config.Config, log *slog.Logger) (*tls.Config, error) {
	o.stopWatch = func() {}
	switch {
	case len(cfg.ACMEDomains) > 0:
		o.acme = certs.NewACME(certs.ACMEConfig{Domains: cfg.ACMEDomains, CacheDir: cfg.ACMECache, Email: cfg.ACMEEmail})
		return o.acme.TLSConfig(), nil
	case cfg.TLSCert != "":
		f, err := certs.LoadFiles(cfg.TLSCert, cfg.TLSKey, log.With("component", "tls"))
		if err != nil {
			return nil, fmt.Errorf("%w: %w", config.ErrConfig, err)
		}
		o.certs = f
		if cfg.TLSReloadInterval > 0 {
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				f.Watch(ctx, cfg.TLSReloadInterval)
			}()
			o.stopWatch = func() { cancel(); wg.Wait() }
		}
		return f.TLSConfig(), nil
	}
	return nil, nil
}

// ReloadCerts reads --tls-cert and --tls-key again now (the binary's
// SIGHUP). New handshakes get the new certificate; open connections keep
// theirs. On an error the certificate in use stays.
func (o *ops) ReloadCerts() error {
	if o.certs == nil {
		return ErrNoCertFiles
	}
	return o.certs.Reload()
}

// ACMEHandler answers ACME HTTP-01 challenges and redirects the rest to
// https, for --acme-http-listen; nil without --acme-domains.
func (o *ops) ACMEHandler() http.Handler {
	if o.acme == nil {
		return nil
	}
	return o.acme.HTTPHandler()
}

// Started ends the "starting" state: /readyz answers 200 from now on,
// unless the stack is full or draining. The binary calls it once every
// listener serves.
func (o *ops) Started() {
	if o.starting != nil {
		o.starting()
	}
}

// stopOps ends the certificate watch.
func (o *ops) stopOps() {
	if o.stopWatch != nil {
		o.stopWatch()
	}
}
