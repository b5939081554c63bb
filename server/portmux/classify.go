package portmux

import (
	"bytes"
	"encoding/binary"
)

// Protocol is what a connection's first bytes say it speaks.
type Protocol int

const (
	// Unknown: none of the protocols below (or not yet known).
	Unknown Protocol = iota
	// STUN: an RFC 4571-framed STUN binding request, the first packet of an
	// ICE-TCP connection.
	STUN
	// TLS: a TLS handshake record (a ClientHello): HTTPS and WSS.
	TLS
	// HTTP: an HTTP/1.x request line.
	HTTP
)

func (p Protocol) String() string {
	switch p {
	case STUN:
		return "stun"
	case TLS:
		return "tls"
	case HTTP:
		return "http"
	}
	return "unknown"
}

// MaxPeek is the most bytes Classify needs to decide.
const MaxPeek = 10

// maxSTUNFrame is the largest RFC 4571 frame taken for a STUN binding
// request. Browsers send a few hundred bytes; the cap keeps a frame's first
// byte at 0x00-0x07, apart from TLS and HTTP.
const maxSTUNFrame = 2047

// stunCookie is the STUN magic cookie (RFC 5389).
const stunCookie = 0x2112A442

// httpMethods are the request lines taken for HTTP, with their space.
var httpMethods = [][]byte{
	[]byte("GET "), []byte("HEAD "), []byte("POST "), []byte("PUT "), []byte("DELETE "),
	[]byte("OPTIONS "), []byte("PATCH "), []byte("CONNECT "), []byte("TRACE "),
}

// match is what a prefix says of one pattern.
type match int

const (
	no    match = iota // the prefix cannot start the pattern
	maybe              // it could: more bytes are needed
	yes                // it does
)

// Classify says which protocol a connection whose first bytes are b speaks.
// done is false when b is too short to tell (more bytes may decide it);
// with MaxPeek bytes or more it is always true. Once a prefix of b is
// decided, every longer prefix gets the same answer.
func Classify(b []byte) (p Protocol, done bool) {
	undecided := false
	for _, c := range []struct {
		p Protocol
		m match
	}{{STUN, matchSTUN(b)}, {TLS, matchTLS(b)}, {HTTP, matchHTTP(b)}} {
		switch c.m {
		case yes:
			return c.p, true
		case maybe:
			undecided = true
		}
	}
	return Unknown, !undecided
}

// matchSTUN: a 2-byte frame length L in [20, maxSTUNFrame], a multiple of 4
// past the header; message type 0x0001 (binding request); message length
// L-20; the magic cookie.
func matchSTUN(b []byte) match {
	if len(b) >= 1 && b[0] > maxSTUNFrame>>8 {
		return no
	}
	if len(b) < 2 {
		return maybe
	}
	l := int(binary.BigEndian.Uint16(b))
	if l < 20 || l > maxSTUNFrame || (l-20)%4 != 0 {
		return no
	}
	want := make([]byte, MaxPeek)
	binary.BigEndian.PutUint16(want[0:], uint16(l))
	binary.BigEndian.PutUint16(want[2:], 0x0001)
	binary.BigEndian.PutUint16(want[4:], uint16(l-20))
	binary.BigEndian.PutUint32(want[6:], stunCookie)
	return prefixMatch(b, want)
}

// matchTLS: a handshake record (0x16) of version 3.0 to 3.4 (0x03 0x00-0x04).
func matchTLS(b []byte) match {
	switch {
	case len(b) >= 1 && b[0] != 0x16:
		return no
	case len(b) >= 2 && b[1] != 0x03:
		return no
	case len(b) >= 3 && b[2] > 0x04:
		return no
	case len(b) >= 3:
		return yes
	}
	return maybe
}

// matchHTTP: one of httpMethods.
func matchHTTP(b []byte) match {
	m := no
	for _, meth := range httpMethods {
		switch prefixMatch(b, meth) {
		case yes:
			return yes
		case maybe:
			m = maybe
		}
	}
	return m
}

// prefixMatch compares b with want over their common length: yes when b
// holds all of want, maybe when b is a shorter prefix of it.
func prefixMatch(b, want []byte) match {
	n := min(len(b), len(want))
	if !bytes.Equal(b[:n], want[:n]) {
		return no
	}
	if n == len(want) {
		return yes
	}
	return maybe
}
