package wire

import (
	"errors"
	"strings"
	"testing"
)

func TestParseHash(t *testing.T) {
	good := Sum([]byte("x"))
	tests := []struct {
		in string
		ok bool
	}{
		{good.String(), true},
		{strings.Repeat("0", 64), true},
		{strings.Repeat("f", 64), true},
		{strings.Repeat("F", 64), false},
		{strings.Repeat("0", 63), false},
		{strings.Repeat("0", 65), false},
		{"", false},
		{strings.Repeat("0", 63) + "g", false},
		{strings.Repeat("0", 63) + " ", false},
		{"0x" + strings.Repeat("0", 62), false},
	}
	for _, tt := range tests {
		h, err := ParseHash(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("ParseHash(%q) error %v, want ok=%v", tt.in, err, tt.ok)
			continue
		}
		if err != nil && !errors.Is(err, ErrBadManifest) {
			t.Errorf("ParseHash(%q) error %v does not wrap ErrBadManifest", tt.in, err)
		}
		if tt.ok && h.String() != tt.in {
			t.Errorf("ParseHash(%q).String() = %q", tt.in, h)
		}
	}
	var h Hash
	if err := h.UnmarshalText([]byte(good.String())); err != nil || h != good {
		t.Errorf("UnmarshalText: %v, %s", err, h)
	}
	if txt, _ := good.MarshalText(); string(txt) != good.String() {
		t.Errorf("MarshalText = %s", txt)
	}
}
