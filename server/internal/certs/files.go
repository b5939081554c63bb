package certs

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Files serves a certificate read from PEM files, reloaded when they change
// (Watch) or when asked (Reload).
type Files struct {
	certFile, keyFile string
	log               *slog.Logger
	cur               atomic.Pointer[tls.Certificate]

	mu    sync.Mutex // serializes loads; guards the following
	stamp stamp      // of the files as last loaded
	tried stamp      // of the files as last tried, loaded or not
}

// stamp is what Watch compares: each file's modification time and size.
type stamp struct {
	certMod, keyMod   time.Time
	certSize, keySize int64
}

// LoadFiles reads the certificate (chain) and key; an error if they do not
// load. log receives reload notices; nil means none.
func LoadFiles(certFile, keyFile string, log *slog.Logger) (*Files, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	f := &Files{certFile: certFile, keyFile: keyFile, log: log}
	if err := f.Reload(); err != nil {
		return nil, err
	}
	return f, nil
}

// TLSConfig is a server config that gets its certificate from f.
func (f *Files) TLSConfig() *tls.Config {
	return &tls.Config{GetCertificate: f.GetCertificate, MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}}
}

// GetCertificate returns the certificate in use, for tls.Config.
func (f *Files) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return f.cur.Load(), nil
}

// Leaf is the certificate in use, parsed.
func (f *Files) Leaf() *x509.Certificate { return f.cur.Load().Leaf }

// Reload reads the files now. On success new handshakes get the new
// certificate; on failure the one in use stays and the error says why.
func (f *Files) Reload() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	st, err := f.statLocked()
	if err != nil {
		return err
	}
	return f.loadLocked(st)
}

// Watch checks the files every interval until ctx ends and reloads them
// when their modification time or size has changed (from what was last
// tried: a pair that failed is tried again only once it changes again).
// The caller runs it in a goroutine of its own.
func (f *Files) Watch(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		f.mu.Lock()
		st, err := f.statLocked()
		if err == nil && st != f.tried && st != f.stamp {
			err = f.loadLocked(st)
		}
		f.mu.Unlock()
		if err != nil {
			f.log.Debug("TLS files not reloaded", "err", err)
		}
	}
}

func (f *Files) statLocked() (stamp, error) {
	c, err := os.Stat(f.certFile)
	if err != nil {
		return stamp{}, fmt.Errorf("TLS certificate: %w", err)
	}
	k, err := os.Stat(f.keyFile)
	if err != nil {
		return stamp{}, fmt.Errorf("TLS key: %w", err)
	}
	return stamp{certMod: c.ModTime(), keyMod: k.ModTime(), certSize: c.Size(), keySize: k.Size()}, nil
}

// loadLocked loads the pair whose files were stamped st.
func (f *Files) loadLocked(st stamp) error {
	f.tried = st
	cert, err := tls.LoadX509KeyPair(f.certFile, f.keyFile)
	if err != nil {
		if f.cur.Load() != nil {
			f.log.Error("TLS certificate not reloaded: keeping the one in use", "cert", f.certFile, "key", f.keyFile, "err", err)
		}
		return fmt.Errorf("TLS: %w", err)
	}
	prev := f.cur.Swap(&cert)
	f.stamp = st
	if prev != nil {
		f.log.Info("TLS certificate reloaded", "subject", cert.Leaf.Subject.String(), "dns", cert.Leaf.DNSNames, "not_after", cert.Leaf.NotAfter)
	}
	return nil
}
