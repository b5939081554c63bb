package wire

import (
	"errors"
	"strings"
	"testing"
)

func TestParseSignal(t *testing.T) {
	long := strings.Repeat("a", MaxSDPLen)
	tests := []struct {
		name   string
		in     string
		ok     bool
		substr string
	}{
		{"offer", `{"v":1,"type":"offer","sdp":"v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n"}`, true, ""},
		{"candidate", `{"v":1,"type":"candidate","candidate":{"candidate":"candidate:1 1 tcp 1 127.0.0.1 9 typ host tcptype active","sdpMid":"0","sdpMLineIndex":0}}`, true, ""},
		{"end of candidates", `{"v":1,"type":"candidate","candidate":{"candidate":""}}`, true, ""},
		{"bye", `{"v":1,"type":"bye"}`, true, ""},
		{"unknown field ignored", `{"v":1,"type":"bye","future":true}`, true, ""},
		{"no version", `{"type":"bye"}`, false, "version 0"},
		{"version 2", `{"v":2,"type":"bye"}`, false, "version 2"},
		{"no type", `{"v":1}`, false, "no type"},
		{"unknown type", `{"v":1,"type":"shout"}`, false, `unknown type "shout"`},
		{"junk", `not json`, false, "invalid character"},
		{"array", `[1,2]`, false, "cannot unmarshal"},
		{"trailing", `{"v":1,"type":"bye"} {}`, false, "trailing data"},
		{"trailing brace", `{"v":1,"type":"bye"}}`, false, "trailing data"},
		{"trailing whitespace", "{\"v\":1,\"type\":\"bye\"} \r\n", true, ""},
		{"sdp not sdp", `{"v":1,"type":"offer","sdp":"hello"}`, false, "v=0"},
		{"sdp too long", `{"v":1,"type":"offer","sdp":"v=0` + long + `"}`, false, "over"},
		{"candidate junk", `{"v":1,"type":"candidate","candidate":{"candidate":"rm -rf /"}}`, false, "candidate:"},
		{"candidate too long", `{"v":1,"type":"candidate","candidate":{"candidate":"candidate:` + strings.Repeat("1", MaxCandidateLen) + `"}}`, false, "over"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseSignal([]byte(tt.in))
			if tt.ok {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				if s.V != SignalVersion {
					t.Fatalf("v = %d", s.V)
				}
				return
			}
			if !errors.Is(err, ErrBadSignal) || !strings.Contains(err.Error(), tt.substr) {
				t.Fatalf("err = %v, want ErrBadSignal containing %q", err, tt.substr)
			}
		})
	}
}

func TestParseSignalSizeLimit(t *testing.T) {
	b := make([]byte, MaxSignalSize+1)
	if _, err := ParseSignal(b); !errors.Is(err, ErrBadSignal) {
		t.Fatalf("err = %v, want ErrBadSignal", err)
	}
}

// FuzzParseSignal: no panic, and whatever parses validates and re-encodes
// to a message that parses to the same thing.
func FuzzParseSignal(f *testing.F) {
	for _, s := range []string{
		`{"v":1,"type":"offer","sdp":"v=0\r\n"}`,
		`{"v":1,"type":"candidate","candidate":{"candidate":"candidate:1 1 tcp 1 127.0.0.1 9 typ host","sdpMid":"0","sdpMLineIndex":0}}`,
		`{"v":1,"type":"hello","peerId":"p-1","chunkSize":65536}`,
		`{"v":1,"type":"error","code":"x","message":"y"}`,
		`{"v":1,"type":"bye"}`, `{}`, `null`, `{"v":1,"type":"offer","sdp":null}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseSignal(b)
		if err != nil {
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("parsed signal does not validate: %v", err)
		}
		again, err := ParseSignal(s.Marshal())
		if err != nil {
			t.Fatalf("re-encoded signal does not parse: %v", err)
		}
		if again.Type != s.Type || again.SDP != s.SDP {
			t.Fatalf("round trip changed the signal: %+v vs %+v", again, s)
		}
	})
}
