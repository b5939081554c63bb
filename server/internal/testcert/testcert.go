// Package testcert makes throwaway TLS material and WSS probes for the
// server's tests. It is for tests only: nothing outside _test.go files
// imports it, and its helpers fail the test (tb.Fatal) rather than return
// errors.
//
// A pair from Pair or Write is a self-signed ECDSA P-256 certificate that
// is its own CA, so a test can hand the certificate file to a child
// process as SSL_CERT_FILE and have it verified, and valid from an hour
// ago for 90 days, so autocert takes it from its cache as is.
package testcert

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"testing"
	"time"
)

// Pair returns a self-signed certificate named cn for names (each an IP
// address or a DNS name; 127.0.0.1 when there are none) and its key, as
// PEM.
func Pair(tb testing.TB, cn string, names ...string) (certPEM, keyPEM []byte) {
	tb.Helper()
	if len(names) == 0 {
		names = []string{"127.0.0.1"}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(90 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		tb.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}

// Write writes a Pair to certFile and keyFile and returns the
// certificate's PEM. It writes the key first, so a watcher that sees the
// certificate change sees a matching pair.
func Write(tb testing.TB, certFile, keyFile, cn string, names ...string) []byte {
	tb.Helper()
	certPEM, keyPEM := Pair(tb, cn, names...)
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
		tb.Fatal(err)
	}
	return certPEM
}
