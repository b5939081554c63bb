package edge

import "testing"

func TestIsPassive(t *testing.T) {
	for _, tt := range []struct {
		ct   string
		want bool
	}{
		{"image/png", true},
		{"IMAGE/JPEG", true},
		{"image/webp", true},
		{"text/plain; charset=utf-8", true},
		{"text/css", true},
		{"application/json", true},
		{"application/octet-stream", true},
		{"video/mp4", true},
		{"audio/ogg; codecs=opus", true},
		{"font/woff2", true},
		{"image/heic", true},
		{"video/x-evil+xml", false},
		{"text/html; charset=utf-8", false},
		{"image/svg+xml", false},
		{"application/xhtml+xml", false},
		{"text/xml", false},
		{"application/xml", false},
		{"text/javascript", false},
		{"application/javascript", false},
		{"application/pdf", false},
		{"text/x-unknown", false},
		{"", false},
		{"image/png; x=\"unterminated", false},
	} {
		if got := isPassive(tt.ct); got != tt.want {
			t.Errorf("isPassive(%q) = %v, want %v", tt.ct, got, tt.want)
		}
	}
}
