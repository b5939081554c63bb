package certs

import (
	"crypto/tls"
	"net/http"

	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"
)

// ACMEConfig configures NewACME.
type ACMEConfig struct {
	// Domains are the names certificates are got for; a handshake for any
	// other name fails (without asking the CA).
	Domains []string
	// CacheDir keeps the account key and the certificates (made 0700 if
	// missing).
	CacheDir string
	// Email is the account's contact; empty means none.
	Email string
	// Client talks to the CA; nil means Let's Encrypt's production
	// directory. Tests set one of their own.
	Client *acme.Client
}

// ACME gets and renews certificates from an ACME CA.
type ACME struct {
	m *autocert.Manager
}

// NewACME returns the certificate manager for cfg. Nothing is asked of the
// CA until the first handshake for one of the domains.
func NewACME(cfg ACMEConfig) *ACME {
	return &ACME{m: &autocert.Manager{
		Prompt:     autocert.AcceptTOS,
		Cache:      autocert.DirCache(cfg.CacheDir),
		HostPolicy: autocert.HostWhitelist(cfg.Domains...),
		Email:      cfg.Email,
		Client:     cfg.Client,
	}}
}

// TLSConfig is a server config that gets certificates from the CA and
// answers its TLS-ALPN-01 challenges.
func (a *ACME) TLSConfig() *tls.Config {
	return &tls.Config{
		GetCertificate: a.m.GetCertificate,
		MinVersion:     tls.VersionTLS12,
		NextProtos:     []string{"http/1.1", acme.ALPNProto},
	}
}

// HTTPHandler answers HTTP-01 challenges (/.well-known/acme-challenge/)
// and redirects every other request to https, for a listener on port 80.
func (a *ACME) HTTPHandler() http.Handler { return a.m.HTTPHandler(nil) }
