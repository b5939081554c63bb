package main

import (
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestParseConfig(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr string // substring; empty means success
		check   func(t *testing.T, c Config)
	}{
		{name: "defaults", check: func(t *testing.T, c Config) {
			if c.Listen != "127.0.0.1:8080" || c.ICEListen != "127.0.0.1:7881" || c.CacheSize != 256<<20 || c.ChunkSize != 64<<10 || c.Origin != "" || c.LogLevel != slog.LevelInfo {
				t.Errorf("defaults = %+v", c)
			}
		}},
		{name: "flags", args: []string{"--listen", "0.0.0.0:9000", "--cache-size", "1GiB", "--chunk-size=16KiB", "--origin", dir, "--public-ip", "203.0.113.7, 198.51.100.2", "--log-level", "debug"},
			check: func(t *testing.T, c Config) {
				if c.Listen != "0.0.0.0:9000" || c.CacheSize != 1<<30 || c.ChunkSize != 16<<10 || c.Origin != dir || len(c.PublicIPs) != 2 || c.LogLevel != slog.LevelDebug {
					t.Errorf("got %+v", c)
				}
			}},
		{name: "env", env: map[string]string{"P2PCACHE_CACHE_SIZE": "10MB", "P2PCACHE_ICE_LISTEN": "127.0.0.1:9999"},
			check: func(t *testing.T, c Config) {
				if c.CacheSize != 10_000_000 || c.ICEListen != "127.0.0.1:9999" {
					t.Errorf("got %+v", c)
				}
			}},
		{name: "flag beats env", args: []string{"--cache-size", "2MiB"}, env: map[string]string{"P2PCACHE_CACHE_SIZE": "10MB"},
			check: func(t *testing.T, c Config) {
				if c.CacheSize != 2<<20 {
					t.Errorf("cache size = %d, want the flag's", c.CacheSize)
				}
			}},
		{name: "http origin", args: []string{"--origin", "https://cdn.example.com/static"}},
		{name: "chunk too large", args: []string{"--chunk-size", "128KiB"}, wantErr: "over the 64KiB limit"},
		{name: "chunk just over", args: []string{"--chunk-size", "65537"}, wantErr: "over the 64KiB limit"},
		{name: "chunk zero", args: []string{"--chunk-size", "0"}, wantErr: "--chunk-size 0 not in 1..65536"},
		{name: "bad size", args: []string{"--cache-size", "lots"}, wantErr: `--cache-size: "lots": no number`},
		{name: "bad unit", args: []string{"--cache-size", "12parsecs"}, wantErr: "unknown unit"},
		{name: "missing dir", args: []string{"--origin", dir + "/nope"}, wantErr: "--origin directory"},
		{name: "origin is a file", args: []string{"--origin", "config_test.go"}, wantErr: "is not a directory"},
		{name: "ftp origin", args: []string{"--origin", "ftp://x/y"}, wantErr: "want an absolute http:// or https:// URL"},
		{name: "bad listen", args: []string{"--listen", "8080"}, wantErr: "--listen \"8080\": want host:port"},
		{name: "bad public ip", args: []string{"--public-ip", "example.com"}, wantErr: "not an IP address"},
		{name: "tls half", args: []string{"--tls-cert", "x.pem"}, wantErr: "go together"},
		{name: "bad log level", args: []string{"--log-level", "loud"}, wantErr: "want debug, info, warn or error"},
		{name: "bad allowed origin", args: []string{"--allowed-origins", "example.com"}, wantErr: "want scheme://host[:port]"},
		{name: "peer flags", args: []string{"--peer-fetch", "off", "--peer-timeout-min", "20ms", "--ban-strikes", "5", "--ban-duration", "1h"},
			check: func(t *testing.T, c Config) {
				if c.PeerFetch || c.PeerTimeoutMin != 20*time.Millisecond || c.BanStrikes != 5 || c.BanDuration != time.Hour {
					t.Errorf("got %+v", c)
				}
			}},
		{name: "peer fetch default on", check: func(t *testing.T, c Config) {
			if !c.PeerFetch || c.BanStrikes != 3 {
				t.Errorf("got %+v", c)
			}
		}},
		{name: "bad peer fetch", args: []string{"--peer-fetch", "maybe"}, wantErr: "want on or off"},
		{name: "bad ban strikes", args: []string{"--ban-strikes", "0"}, wantErr: "want a whole number"},
		{name: "bad ban duration", args: []string{"--ban-duration", "forever"}, wantErr: "positive duration"},
		{name: "stray arg", args: []string{"serve"}, wantErr: `unexpected argument "serve"`},
		{name: "unknown flag", args: []string{"--nope"}, wantErr: "flag provided but not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv := func(k string) string { return tt.env[k] }
			c, err := parseConfig(tt.args, getenv, io.Discard)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if tt.check != nil {
				tt.check(t, c)
			}
		})
	}
}

func TestConfigErrorIsOneLine(t *testing.T) {
	_, err := parseConfig([]string{"--chunk-size", "1MiB"}, func(string) string { return "" }, io.Discard)
	if !errors.Is(err, ErrConfig) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("err = %q, want one line wrapping ErrConfig", err)
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"65536", 65536, true},
		{"64KiB", 64 << 10, true},
		{"64 kib", 64 << 10, true},
		{"256MiB", 256 << 20, true},
		{"1GiB", 1 << 30, true},
		{"500MB", 500_000_000, true},
		{"1.5KiB", 1536, true},
		{"1.5B", 0, false},
		{"10XB", 0, false},
		{"", 0, false},
		{"-5", 0, false},
		{"MiB", 0, false},
		{"1e3", 0, false},
		{"99999999TiB", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseSize(tt.in)
			if (err == nil) != tt.ok || got != tt.want {
				t.Errorf("parseSize(%q) = %d, %v; want %d, ok=%v", tt.in, got, err, tt.want, tt.ok)
			}
		})
	}
}

func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"64KiB", "1.5GB", "0", "", "1e9", "12 MiB", "9999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseSize(s)
		if err == nil && n < 0 {
			t.Fatalf("parseSize(%q) = %d, negative", s, n)
		}
	})
}

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
