// Package certs gives the relay's TLS listener its certificates, in one of
// two ways, each a tls.Config whose GetCertificate is asked at every
// handshake:
//
//   - Files: a PEM certificate and key read at start and again when they
//     change. Watch polls their modification times and sizes; Reload reads
//     them at once (the binary calls it on SIGHUP). A reload swaps the
//     certificate that new handshakes get: connections already open keep
//     theirs and are not dropped. A pair that does not load (a renewal
//     half written, a key that does not match) is logged and the
//     certificate in use stays; Watch tries again when the files change
//     again.
//   - ACME: certificates for a list of domains from Let's Encrypt (or any
//     ACME CA), obtained at the first handshake for a domain and renewed
//     30 days before they expire, by golang.org/x/crypto/acme/autocert. The
//     TLS-ALPN-01 challenge is answered on the TLS listener itself (the
//     config offers "acme-tls/1"); HTTPHandler answers HTTP-01 on a port-80
//     listener when one is configured. The account key and certificates
//     live in a cache directory, so a restart does not ask the CA again.
//
// Both offer only "http/1.1" besides the ACME protocol: the edge (fasthttp)
// speaks no HTTP/2.
package certs
