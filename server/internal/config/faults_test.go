//go:build p2pcache_faults

package config

import (
	"bytes"
	"strings"
	"testing"
)

func TestCorruptFault(t *testing.T) {
	tests := []struct {
		in      string
		path    string
		index   uint32
		count   int64
		wantErr string
	}{
		{in: "/images/a.png#3", path: "images/a.png", index: 3, count: 1},
		{in: "images/a.png#0*5", path: "images/a.png", index: 0, count: 5},
		{in: "/images/a.png", wantErr: "want PATH#INDEX"},
		{in: "/images/../a.png#1", wantErr: "bad path"},
		{in: "/a.png#x", wantErr: "not a whole number"},
		{in: "/a.png#1*0", wantErr: "COUNT must be"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			f, err := parseCorruptFault(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if f.path != tc.path || f.index != tc.index || f.left.Load() != tc.count {
				t.Fatalf("got %s#%d*%d", f.path, f.index, f.left.Load())
			}
			data := []byte{1, 2, 3}
			for i := range tc.count + 2 {
				got := f.apply("/"+tc.path, tc.index, data)
				if corrupted := got[0] != data[0]; corrupted != (i < tc.count) {
					t.Fatalf("send %d: corrupted=%v", i, corrupted)
				}
				if data[0] != 1 {
					t.Fatal("apply altered the cached bytes")
				}
			}
			if got := f.apply(tc.path, tc.index+1, data); got[0] != 1 {
				t.Fatal("another chunk was corrupted")
			}
		})
	}
}

// TestFaultFlag: in a p2pcache_faults build the flag is listed, parses
// into a relay hook, and refuses a bad value like any setting.
func TestFaultFlag(t *testing.T) {
	clearEnv(t)
	var b bytes.Buffer
	PrintFlags(&b)
	if !strings.Contains(b.String(), "  --fault-corrupt-chunk fault\n") {
		t.Errorf("help lacks --fault-corrupt-chunk:\n%s", b.String())
	}
	c, err := Parse([]string{"--fault-corrupt-chunk", "/a.png#1*2"})
	if err != nil || c.RelayHooks["fault-corrupt-chunk"] == nil {
		t.Fatalf("hooks %v, err %v; want the fault's hook", c.RelayHooks, err)
	}
	if c, err := Parse(nil); err != nil || len(c.RelayHooks) != 0 {
		t.Fatalf("no flag: hooks %v, err %v; want none", c.RelayHooks, err)
	}
	if _, err := Parse([]string{"--fault-corrupt-chunk", "/a.png"}); err == nil || !strings.Contains(err.Error(), "--fault-corrupt-chunk: \"/a.png\": want PATH#INDEX") {
		t.Fatalf("bad fault: %v", err)
	}
}
