package relay

import (
	"strings"
	"testing"
)

func TestReadsLargeRecords(t *testing.T) {
	const rest = "s=-\r\nt=0 0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
	tests := []struct {
		name  string
		offer string
		want  bool
	}{
		{"Firefox", "v=0\r\no=mozilla...THIS_IS_SDPARTA-153.0 3614316519367218932 0 IN IP4 0.0.0.0\r\n" + rest, true},
		{"Firefox, \\n only", "v=0\no=mozilla...THIS_IS_SDPARTA-128.3.1 1 0 IN IP4 0.0.0.0\n" + rest, true},
		{"Chromium", "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n" + rest, false},
		{"pion", "v=0\r\no=- 8273649287 1 IN IP4 0.0.0.0\r\n" + rest, false},
		{"mozilla without SDPARTA", "v=0\r\no=mozilla 1 0 IN IP4 0.0.0.0\r\n" + rest, false},
		{"SDPARTA in the session name", "v=0\r\no=- 1 0 IN IP4 0.0.0.0\r\ns=mozilla...THIS_IS_SDPARTA-1\r\n" + rest, false},
		{"origin line only in a media section", "v=0\r\ns=-\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\no=mozilla...THIS_IS_SDPARTA-1 1 0 IN IP4 0.0.0.0\r\n", false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := readsLargeRecords(tt.offer); got != tt.want {
				t.Errorf("readsLargeRecords = %v, want %v", got, tt.want)
			}
		})
	}
}

// FuzzReadsLargeRecords: any offer, no panic, and a yes only for an origin
// line, before any media section, whose username is Firefox's.
func FuzzReadsLargeRecords(f *testing.F) {
	f.Add("v=0\r\no=mozilla...THIS_IS_SDPARTA-153.0 1 0 IN IP4 0.0.0.0\r\n")
	f.Add("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\nm=application 9 UDP/DTLS/SCTP x\r\n")
	f.Add("o=mozilla...THIS_IS_SDPARTA-")
	f.Fuzz(func(t *testing.T, offer string) {
		if !readsLargeRecords(offer) {
			return
		}
		for line := range strings.Lines(offer) {
			if strings.HasPrefix(line, "m=") {
				break
			}
			if strings.HasPrefix(line, "o=mozilla...THIS_IS_SDPARTA-") {
				return
			}
		}
		t.Errorf("yes for an offer without Firefox's origin line before its media: %q", offer)
	})
}
