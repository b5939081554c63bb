package config

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestSecuritySettings: the trusted proxies, the per-client limits, the
// memory budget, the negative cache, dotfiles and the debug listener's
// exposure, from flags, the environment and a file.
func TestSecuritySettings(t *testing.T) {
	pfx := func(ss ...string) []netip.Prefix {
		var out []netip.Prefix
		for _, s := range ss {
			out = append(out, netip.MustParsePrefix(s))
		}
		return out
	}
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		file    string
		wantErr string
		check   func(t *testing.T, c Config)
	}{
		{name: "defaults", check: func(t *testing.T, c Config) {
			if c.TrustedProxies != nil || c.MaxPeersPerIP != 32 || c.HTTPRate != 100 || c.MaxMemory != 0 ||
				c.NegativeTTL != 10*time.Second || c.AllowDotfiles || c.DebugAddrAllowPublic {
				t.Errorf("defaults %+v", c)
			}
		}},
		{name: "trusted proxies flag", args: []string{"--trusted-proxies", "10.0.0.0/8, 192.168.1.7, fd00::/8, 172.16.5.9/12, ::ffff:10.1.0.0/112"},
			check: func(t *testing.T, c Config) {
				if want := pfx("10.0.0.0/8", "192.168.1.7/32", "fd00::/8", "172.16.0.0/12", "10.1.0.0/16"); !reflect.DeepEqual(c.TrustedProxies, want) {
					t.Errorf("trusted proxies %v, want %v", c.TrustedProxies, want)
				}
			}},
		{name: "trusted proxies env", env: map[string]string{"P2PCACHE_TRUSTED_PROXIES": "127.0.0.1/32"},
			check: func(t *testing.T, c Config) {
				if !reflect.DeepEqual(c.TrustedProxies, pfx("127.0.0.1/32")) {
					t.Errorf("trusted proxies %v", c.TrustedProxies)
				}
			}},
		{name: "trusted proxies file sequence", file: "trusted-proxies: [10.0.0.0/8, \"2001:db8::/32\"]\n",
			check: func(t *testing.T, c Config) {
				if !reflect.DeepEqual(c.TrustedProxies, pfx("10.0.0.0/8", "2001:db8::/32")) {
					t.Errorf("trusted proxies %v", c.TrustedProxies)
				}
			}},
		{name: "bad trusted proxy", args: []string{"--trusted-proxies", "10.0.0.0/8,proxy.example"}, wantErr: `--trusted-proxies entry "proxy.example": want a CIDR range`},
		{name: "bad trusted proxy bits", args: []string{"--trusted-proxies", "10.0.0.0/33"}, wantErr: `entry "10.0.0.0/33"`},
		{name: "bad trusted proxy env", env: map[string]string{"P2PCACHE_TRUSTED_PROXIES": "everyone"}, wantErr: "(from $P2PCACHE_TRUSTED_PROXIES)"},
		{name: "bad trusted proxy file", file: "\ntrusted-proxies: [10.0.0.0/8, nope]\n", wantErr: ":2: --trusted-proxies entry \"nope\""},
		{name: "limits", args: []string{"--max-peers-per-ip", "4", "--http-rate", "2.5"},
			check: func(t *testing.T, c Config) {
				if c.MaxPeersPerIP != 4 || c.HTTPRate != 2.5 {
					t.Errorf("got %+v", c)
				}
			}},
		{name: "bad max peers per ip", args: []string{"--max-peers-per-ip", "0"}, wantErr: "--max-peers-per-ip \"0\": want a whole number ≥ 1"},
		{name: "bad http rate", args: []string{"--http-rate", "-1"}, wantErr: "--http-rate \"-1\": want a positive number"},
		{name: "max memory", args: []string{"--max-memory", "2GiB", "--cache-size", "1GiB"},
			check: func(t *testing.T, c Config) {
				if c.MaxMemory != 2<<30 {
					t.Errorf("max memory %d", c.MaxMemory)
				}
			}},
		{name: "max memory auto", env: map[string]string{"P2PCACHE_MAX_MEMORY": "AUTO"},
			check: func(t *testing.T, c Config) {
				if c.MaxMemory != 0 {
					t.Errorf("max memory %d, want 0 (auto)", c.MaxMemory)
				}
			}},
		{name: "bad max memory", args: []string{"--max-memory", "plenty"}, wantErr: "--max-memory: \"plenty\": no number (or auto)"},
		{name: "zero max memory", args: []string{"--max-memory", "0"}, wantErr: "want a positive size or auto"},
		{name: "cache not below max memory", args: []string{"--max-memory", "256MiB"}, wantErr: "--cache-size 256MiB must be less than two thirds of --max-memory 256MiB"},
		{name: "procs", args: []string{"--procs", "3"},
			check: func(t *testing.T, c Config) {
				if c.Procs != 3 {
					t.Errorf("procs %d", c.Procs)
				}
			}},
		{name: "procs auto", file: "\nprocs: Auto\n",
			check: func(t *testing.T, c Config) {
				if c.Procs != 0 {
					t.Errorf("procs %d, want 0 (auto)", c.Procs)
				}
			}},
		{name: "zero procs", args: []string{"--procs", "0"}, wantErr: "--procs \"0\": want a whole number ≥ 1 or auto"},
		{name: "bad procs env", env: map[string]string{"P2PCACHE_PROCS": "many"}, wantErr: "want a whole number ≥ 1 or auto (from $P2PCACHE_PROCS)"},
		{name: "negative ttl off", args: []string{"--negative-ttl", "0"},
			check: func(t *testing.T, c Config) {
				if c.NegativeTTL != 0 {
					t.Errorf("negative ttl %v", c.NegativeTTL)
				}
			}},
		{name: "bad negative ttl", args: []string{"--negative-ttl", "-1s"}, wantErr: "--negative-ttl \"-1s\": want a duration like 10s, or 0"},
		{name: "dotfiles", file: "allow-dotfiles: on\n",
			check: func(t *testing.T, c Config) {
				if !c.AllowDotfiles {
					t.Error("allow-dotfiles: on left dotfiles off")
				}
			}},
		{name: "debug addr loopback", args: []string{"--debug-addr", "127.0.0.1:6060"}},
		{name: "debug addr localhost", args: []string{"--debug-addr", "localhost:6060"}},
		{name: "debug addr ipv6 loopback", args: []string{"--debug-addr", "[::1]:6060"}},
		{name: "debug addr public", args: []string{"--debug-addr", "0.0.0.0:6060"}, wantErr: "--debug-addr 0.0.0.0:6060 is not a loopback address"},
		{name: "debug addr all interfaces", args: []string{"--debug-addr", ":6060"}, wantErr: "is not a loopback address"},
		{name: "debug addr lan", env: map[string]string{"P2PCACHE_DEBUG_ADDR": "192.168.1.5:6060"}, wantErr: "set --debug-addr-allow-public"},
		{name: "pprof on loopback metrics", args: []string{"--metrics-listen", "127.0.0.1:9090", "--pprof", "on"}},
		{name: "pprof on lan metrics", args: []string{"--metrics-listen", "10.0.0.5:9090", "--pprof", "on"}, wantErr: "--pprof on --metrics-listen 10.0.0.5:9090, not a loopback address"},
		{name: "lan metrics without pprof", args: []string{"--metrics-listen", "10.0.0.5:9090"},
			check: func(t *testing.T, c Config) {
				if c.MetricsListen != "10.0.0.5:9090" || c.PProf {
					t.Errorf("got %+v", c)
				}
			}},
		{name: "pprof on public metrics allowed", args: []string{"--metrics-listen", ":9090", "--pprof", "on", "--debug-addr-allow-public", "on"},
			check: func(t *testing.T, c Config) {
				if !c.PProf || c.MetricsListen != ":9090" {
					t.Errorf("got %+v", c)
				}
			}},
		{name: "debug addr public allowed", args: []string{"--debug-addr", "0.0.0.0:6060", "--debug-addr-allow-public", "on"},
			check: func(t *testing.T, c Config) {
				if c.DebugAddr != "0.0.0.0:6060" || !c.DebugAddrAllowPublic {
					t.Errorf("got %+v", c)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			args := tt.args
			if tt.file != "" {
				args = append(args, "--config", writeFile(t, tt.file))
			}
			c, err := Parse(args)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.check != nil {
				tt.check(t, c)
			}
		})
	}
}
