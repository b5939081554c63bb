package portmux

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// stunFrame is an RFC 4571 frame holding a STUN binding request with
// attrLen bytes of attributes (a multiple of 4), as ICE-TCP's first packet.
func stunFrame(attrLen int) []byte {
	msg := make([]byte, 20+attrLen)
	binary.BigEndian.PutUint16(msg[0:], 0x0001) // binding request
	binary.BigEndian.PutUint16(msg[2:], uint16(attrLen))
	binary.BigEndian.PutUint32(msg[4:], stunCookie)
	copy(msg[8:20], "transaction!")
	for i := 20; i < len(msg); i++ {
		msg[i] = byte(i)
	}
	frame := binary.BigEndian.AppendUint16(nil, uint16(len(msg)))
	return append(frame, msg...)
}

func TestClassify(t *testing.T) {
	clientHello := []byte{0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03}
	tests := []struct {
		name string
		in   []byte
		want Protocol
		done bool
	}{
		{"empty", nil, Unknown, false},
		{"stun binding request", stunFrame(80), STUN, true},
		{"stun, no attributes", stunFrame(0), STUN, true},
		{"stun header only, 10 bytes", stunFrame(80)[:10], STUN, true},
		{"stun, 9 bytes", stunFrame(80)[:9], Unknown, false},
		{"stun, bad cookie", func() []byte { b := stunFrame(8); b[9] ^= 1; return b }(), Unknown, true},
		{"stun, binding response", func() []byte { b := stunFrame(8); b[3] = 0x01; b[2] = 0x01; return b }(), Unknown, true},
		{"stun, length disagrees with frame", func() []byte { b := stunFrame(8); b[5] = 12; return b }(), Unknown, true},
		{"stun, frame too short for a header", []byte{0x00, 0x10}, Unknown, true},
		{"stun, length not a multiple of 4", []byte{0x00, 0x17}, Unknown, true},
		{"stun, frame over the cap", []byte{0x08, 0x00}, Unknown, true},
		{"tls 1.2 client hello", clientHello, TLS, true},
		{"tls 1.0 record, 3 bytes", []byte{0x16, 0x03, 0x01}, TLS, true},
		{"tls, 2 bytes", []byte{0x16, 0x03}, Unknown, false},
		{"tls, version 3.5", []byte{0x16, 0x03, 0x05}, Unknown, true},
		{"tls alert record", []byte{0x15, 0x03, 0x01}, Unknown, true},
		{"GET", []byte("GET / HTTP/1.1\r\n"), HTTP, true},
		{"GET without the space yet", []byte("GET"), Unknown, false},
		{"OPTIONS", []byte("OPTIONS * HTTP/1.1\r\n"), HTTP, true},
		{"CONNECT", []byte("CONNECT "), HTTP, true},
		{"HEAD", []byte("HEAD /x"), HTTP, true},
		{"lower-case get", []byte("get / HTTP/1.1"), Unknown, true},
		{"GETX", []byte("GETX / HTTP/1.1"), Unknown, true},
		{"PUT", []byte("PUT /"), HTTP, true},
		{"P, could be POST PUT PATCH", []byte("P"), Unknown, false},
		{"h2 preface", []byte("PRI * HTTP/2.0\r\n"), Unknown, true},
		{"ssh", []byte("SSH-2.0-OpenSSH_9.6\r\n"), Unknown, true},
		{"zero bytes", make([]byte, 10), Unknown, true},
	}
	for _, tt := range tests {
		p, done := Classify(tt.in)
		if p != tt.want || done != tt.done {
			t.Errorf("%s: Classify(% x) = %v, %v; want %v, %v", tt.name, tt.in, p, done, tt.want, tt.done)
		}
	}
}

// FuzzClassify: Classify never panics, decides by MaxPeek bytes, and never
// changes its answer once a prefix has decided; a STUN answer is a framed
// binding request with the magic cookie.
func FuzzClassify(f *testing.F) {
	f.Add(stunFrame(80))
	f.Add([]byte{0x16, 0x03, 0x01, 0x02, 0x00, 0x01})
	f.Add([]byte("GET / HTTP/1.1\r\n"))
	f.Add([]byte("OPTIONS * HTTP/1.1\r\n"))
	f.Add([]byte("PRI * HTTP/2.0\r\n"))
	f.Add([]byte{0x00, 0x14, 0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, done := Classify(b)
		if len(b) >= MaxPeek && !done {
			t.Fatalf("% x: undecided with %d bytes", b, len(b))
		}
		for k := 0; k <= len(b); k++ {
			pk, dk := Classify(b[:k])
			if dk && (!done || pk != p) {
				t.Fatalf("% x: decided %v at %d bytes, then %v (done %v) at %d", b, pk, k, p, done, len(b))
			}
		}
		if p == STUN {
			l := int(binary.BigEndian.Uint16(b))
			if l < 20 || binary.BigEndian.Uint16(b[2:]) != 0x0001 || int(binary.BigEndian.Uint16(b[4:]))+20 != l ||
				!bytes.Equal(b[6:10], []byte{0x21, 0x12, 0xa4, 0x42}) {
				t.Fatalf("% x: classified STUN", b[:MaxPeek])
			}
		}
		if p == TLS && (b[0] != 0x16 || b[1] != 0x03) {
			t.Fatalf("% x: classified TLS", b)
		}
		if p == HTTP && !bytes.Contains(b[:min(len(b), 8)], []byte(" ")) {
			t.Fatalf("%q: classified HTTP without a method and a space", b)
		}
	})
}
