package config

import (
	"errors"
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// clearEnv unsets every P2PCACHE_ variable a setting reads, for the test,
// so the environment the tests run in cannot leak into them.
func clearEnv(t *testing.T) {
	t.Helper()
	c := Default()
	for _, s := range c.settings() {
		if _, ok := os.LookupEnv(envName(s.name)); ok {
			t.Setenv(envName(s.name), "")
		}
	}
}

// writeFile writes a config file into a temporary directory.
func writeFile(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "p2pcache.yaml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParse(t *testing.T) {
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
		{name: "env peer fetch off", env: map[string]string{"P2PCACHE_PEER_FETCH": "off"},
			check: func(t *testing.T, c Config) {
				if c.PeerFetch {
					t.Error("P2PCACHE_PEER_FETCH=off left peer fetch on")
				}
			}},
		{name: "unknown env ignored", env: map[string]string{"P2PCACHE_FUTURE_SETTING": "10.0.0.0/8", "P2PCACHE_VERSION": "v9", "P2PCACHE_HELP": "1"}},
		{name: "bad env", env: map[string]string{"P2PCACHE_MAX_PEERS": "many"}, wantErr: `--max-peers "many": want a whole number ≥ 1 (from $P2PCACHE_MAX_PEERS)`},
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
		{name: "empty listen", args: []string{"--listen", ""}, wantErr: "--listen \"\": want host:port"},
		{name: "bad debug addr", args: []string{"--debug-addr", "example.com:6060"}, wantErr: "host must be an IP address or localhost"},
		{name: "bad public ip", args: []string{"--public-ip", "example.com"}, wantErr: "not an IP address"},
		{name: "tls half", args: []string{"--tls-cert", "x.pem"}, wantErr: "go together"},
		{name: "tls missing", args: []string{"--tls-cert", "x.pem", "--tls-key", "y.pem"}, wantErr: `TLS file "x.pem"`},
		{name: "bad log level", args: []string{"--log-level", "loud"}, wantErr: "want debug, info, warn or error"},
		{name: "bad allowed origin", args: []string{"--allowed-origins", "example.com"}, wantErr: "want scheme://host[:port]"},
		{name: "allowed origins", args: []string{"--allowed-origins", "https://a.example, http://b.example:8080,*"},
			check: func(t *testing.T, c Config) {
				if strings.Join(c.AllowedOrigins, " ") != "https://a.example http://b.example:8080 *" {
					t.Errorf("allowed origins %q", c.AllowedOrigins)
				}
			}},
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
		{name: "zero peer timeout", args: []string{"--peer-timeout-min", "0s"}, wantErr: "positive duration"},
		{name: "negative shutdown timeout", args: []string{"--shutdown-timeout", "-1s"}, wantErr: "want a duration like 10s"},
		{name: "short secret", args: []string{"--auth-secret", "hunter2"}, wantErr: "--auth-secret must be at least 32 bytes"},
		{name: "bad ws rate", args: []string{"--ws-rate", "0"}, wantErr: "want a positive number"},
		{name: "ws rate", args: []string{"--ws-rate", "2.5", "--max-peers", "7"},
			check: func(t *testing.T, c Config) {
				if c.WSRate != 2.5 || c.MaxPeers != 7 {
					t.Errorf("got %+v", c)
				}
			}},
		{name: "stray arg", args: []string{"serve"}, wantErr: `unexpected argument "serve"`},
		{name: "unknown flag", args: []string{"--nope"}, wantErr: "flag provided but not defined"},
		{name: "missing value", args: []string{"--listen"}, wantErr: "flag needs an argument"},
		{name: "missing config file", args: []string{"--config", dir + "/nope.yaml"}, wantErr: "--config: open"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			c, err := Parse(tt.args)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				if !errors.Is(err, ErrConfig) && !errors.Is(err, ErrUsage) {
					t.Fatalf("err = %v wraps neither ErrConfig nor ErrUsage", err)
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

func TestParseHelpAndVersion(t *testing.T) {
	clearEnv(t)
	for _, args := range [][]string{{"-h"}, {"--help"}, {"-help"}, {"--listen", "127.0.0.1:1", "--help"}} {
		if _, err := Parse(args); !errors.Is(err, flag.ErrHelp) {
			t.Errorf("Parse(%q) = %v, want flag.ErrHelp", args, err)
		}
	}
	for _, args := range [][]string{{"--version"}, {"-version"}, {"--cache-size", "1MiB", "--version"}} {
		if _, err := Parse(args); !errors.Is(err, ErrVersion) {
			t.Errorf("Parse(%q) = %v, want ErrVersion", args, err)
		}
	}
	// --version is a command-line flag only: no environment variable or
	// file key of that name means anything.
	t.Setenv("P2PCACHE_VERSION", "true")
	if _, err := Parse(nil); err != nil {
		t.Errorf("with P2PCACHE_VERSION set: %v", err)
	}
	// A value that looks like --version is a value.
	if c, err := Parse([]string{"--auth-secret", "--version-is-not-a-flag-here-0123456789"}); err != nil || !strings.HasPrefix(c.AuthSecret, "--version") {
		t.Errorf("--auth-secret --version...: %+v, %v", c.AuthSecret, err)
	}
}

func TestConfigErrorIsOneLine(t *testing.T) {
	clearEnv(t)
	for _, args := range [][]string{
		{"--chunk-size", "1MiB"},
		{"--config", writeFile(t, "listen: [a, b]\n")},
		{"--config", writeFile(t, "nope: 1\n")},
		{"--config", writeFile(t, "listen: 127.0.0.1:1\n  bad indent: x\n")},
	} {
		_, err := Parse(args)
		if !errors.Is(err, ErrConfig) || strings.Contains(err.Error(), "\n") {
			t.Errorf("Parse(%q) = %q, want one line wrapping ErrConfig", args, err)
		}
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

func TestFormatSize(t *testing.T) {
	for n, want := range map[int64]string{
		0: "0", 1: "1", 1500: "1500", 1536: "1536", 64 << 10: "64KiB", 1024000: "1000KiB",
		256 << 20: "256MiB", 1 << 30: "1GiB", 3 << 40: "3TiB", 500_000_000: "500MB", 2e12: "2TB", 10_000: "10KB",
	} {
		if got := formatSize(n); got != want {
			t.Errorf("formatSize(%d) = %q, want %q", n, got, want)
		}
		if back, err := parseSize(formatSize(n)); err != nil || back != n {
			t.Errorf("parseSize(formatSize(%d)) = %d, %v", n, back, err)
		}
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
		if err == nil {
			if back, err := parseSize(formatSize(n)); err != nil || back != n {
				t.Fatalf("parseSize(formatSize(%d)) = %d, %v", n, back, err)
			}
		}
	})
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		200 * time.Millisecond: "200ms", 10 * time.Second: "10s", 10 * time.Minute: "10m",
		time.Hour: "1h", 90 * time.Minute: "1h30m", 61 * time.Second: "1m1s", 0: "0s",
	} {
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%v) = %q, want %q", d, got, want)
		}
	}
}
