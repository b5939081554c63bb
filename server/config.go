package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/p2pcache/p2pcache/cache"
	"github.com/p2pcache/p2pcache/relay/wire"
)

// ErrConfig: a flag or environment value is invalid.
var ErrConfig = errors.New("invalid configuration")

// Config is the relay binary's configuration: flags, each also settable as
// the environment variable P2PCACHE_<NAME> (dashes become underscores); a
// flag given on the command line wins over the environment.
type Config struct {
	Listen          string   // HTTP + WebSocket address
	ICEListen       string   // the one TCP address for ICE-TCP
	PublicIPs       []string // IPs to advertise in candidates; empty: the listen IP
	Origin          string   // http(s) base URL or directory; empty: the built-in demo origin
	CacheSize       int64    // LRU budget in bytes
	ChunkSize       int      // bytes, at most 64 KiB
	TLSCert         string   // PEM certificate file; with TLSKey, serve HTTPS/WSS
	TLSKey          string   // PEM key file
	LogLevel        slog.Level
	AllowedOrigins  []string      // WebSocket Origin allowlist; empty: own origin + localhost
	PeerFetch       bool          // fill cache misses from peers holding the chunk
	PeerTimeoutMin  time.Duration // least time one try at a peer gets
	BanStrikes      int           // bad chunks before a peer is banned
	BanDuration     time.Duration // how long a ban lasts
	AuthSecret      string        // HS256 secret; set: /ws, /files, /manifest need a token
	MaxPeers        int           // connected peers at most
	WSRate          float64       // WebSocket connects per second per IP
	WSBurst         int           // ... with this burst
	ShutdownTimeout time.Duration // how long SIGTERM waits for transfers in flight
	FaultCorrupt    *corruptFault // testing only: chunk sends to corrupt; nil: none
	DebugAddr       string        // address for /debug/pprof; empty: off
}

// flagSpec is one flag: its name, default and help.
type flagSpec struct{ name, def, help string }

var flagSpecs = []flagSpec{
	{"listen", "127.0.0.1:8080", "HTTP + WebSocket address"},
	{"ice-listen", "127.0.0.1:7881", "the one TCP address for ICE-TCP (RFC 6544 passive candidates)"},
	{"public-ip", "", "IPs to advertise in ICE candidates when behind NAT (comma list; default: the ICE listen IP)"},
	{"origin", "", "an http(s):// base URL or a directory (default: the built-in demo origin)"},
	{"cache-size", "256MiB", "chunk cache budget in bytes, human units (256MiB, 1GiB, 500MB)"},
	{"chunk-size", "64KiB", "chunk size, at most 64KiB"},
	{"tls-cert", "", "PEM certificate file: serve HTTPS and WSS (with --tls-key)"},
	{"tls-key", "", "PEM private key file for --tls-cert"},
	{"log-level", "info", "debug, info, warn or error"},
	{"peer-fetch", "on", "fill cache misses from connected peers that hold the chunk (on/off)"},
	{"peer-timeout-min", "200ms", "least time one try at a peer gets (the timeout otherwise follows the peer's RTT)"},
	{"ban-strikes", "3", "chunks failing verification before a peer is disconnected and banned"},
	{"ban-duration", "10m", "how long a banned peer identity is refused"},
	{"auth-secret", "", "HS256 secret (≥ 32 bytes): /ws, /files and /manifest then need a token (see 'p2pcache token')"},
	{"max-peers", "10000", "connected peers at most; more are refused with 503"},
	{"ws-rate", "10", "WebSocket connects per second per client IP (burst: twice that); more are refused with 429"},
	{"shutdown-timeout", "10s", "on SIGTERM, how long to let transfers in flight finish before closing peers"},
	{"debug-addr", "", "serve Go's /debug/pprof profiles on this address (keep it private: 127.0.0.1:6060); off when empty"},
	{"fault-corrupt-chunk", "", "TESTING ONLY: corrupt the first COUNT sends of one chunk to peers, as PATH#INDEX[*COUNT] (COUNT default 1); the cache keeps good bytes"},
	{"allowed-origins", "", "WebSocket Origin allowlist, comma list of scheme://host[:port] (default: the relay's own origin and localhost/127.0.0.1 on any port)"},
}

// envName is the environment variable for a flag.
func envName(flagName string) string {
	return "P2PCACHE_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parseConfig reads args (without the program name) and the environment.
// Output for -h goes to out.
func parseConfig(args []string, getenv func(string) string, out io.Writer) (Config, error) {
	fs := flag.NewFlagSet("p2pcache", flag.ContinueOnError)
	fs.SetOutput(out)
	vals := make(map[string]*string, len(flagSpecs))
	for _, s := range flagSpecs {
		vals[s.name] = fs.String(s.name, s.def, s.help+" [$"+envName(s.name)+"]")
	}
	fs.Usage = func() {
		fmt.Fprintf(out, "Usage: p2pcache [flags]\n\nServes static files to browsers over WebRTC (ICE-TCP), with HTTP fallback.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("%w: unexpected argument %q", ErrConfig, fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for _, s := range flagSpecs {
		if v := getenv(envName(s.name)); v != "" && !set[s.name] {
			*vals[s.name] = v
		}
	}
	get := func(name string) string { return strings.TrimSpace(*vals[name]) }

	var c Config
	var err error
	c.Listen, c.ICEListen = get("listen"), get("ice-listen")
	c.PublicIPs = splitList(get("public-ip"))
	c.Origin = get("origin")
	if c.CacheSize, err = parseSize(get("cache-size")); err != nil {
		return c, fmt.Errorf("%w: --cache-size: %w", ErrConfig, err)
	}
	cs, err := parseSize(get("chunk-size"))
	if err != nil {
		return c, fmt.Errorf("%w: --chunk-size: %w", ErrConfig, err)
	}
	if cs > wire.MaxChunkSize {
		return c, fmt.Errorf("%w: --chunk-size %s is over the 64KiB limit (browser-safe data-channel message size)", ErrConfig, get("chunk-size"))
	}
	c.ChunkSize = int(cs)
	c.TLSCert, c.TLSKey = get("tls-cert"), get("tls-key")
	if err := c.LogLevel.UnmarshalText([]byte(get("log-level"))); err != nil {
		return c, fmt.Errorf("%w: --log-level %q: want debug, info, warn or error", ErrConfig, get("log-level"))
	}
	c.AllowedOrigins = splitList(get("allowed-origins"))
	switch strings.ToLower(get("peer-fetch")) {
	case "on", "true", "1", "yes":
		c.PeerFetch = true
	case "off", "false", "0", "no":
	default:
		return c, fmt.Errorf("%w: --peer-fetch %q: want on or off", ErrConfig, get("peer-fetch"))
	}
	if c.PeerTimeoutMin, err = time.ParseDuration(get("peer-timeout-min")); err != nil || c.PeerTimeoutMin <= 0 {
		return c, fmt.Errorf("%w: --peer-timeout-min %q: want a positive duration like 50ms", ErrConfig, get("peer-timeout-min"))
	}
	if c.BanStrikes, err = strconv.Atoi(get("ban-strikes")); err != nil || c.BanStrikes < 1 {
		return c, fmt.Errorf("%w: --ban-strikes %q: want a whole number ≥ 1", ErrConfig, get("ban-strikes"))
	}
	if c.BanDuration, err = time.ParseDuration(get("ban-duration")); err != nil || c.BanDuration <= 0 {
		return c, fmt.Errorf("%w: --ban-duration %q: want a positive duration like 10m", ErrConfig, get("ban-duration"))
	}
	c.AuthSecret = get("auth-secret")
	if c.AuthSecret != "" && len(c.AuthSecret) < minSecretLen {
		return c, fmt.Errorf("%w: --auth-secret must be at least %d bytes", ErrConfig, minSecretLen)
	}
	if c.MaxPeers, err = strconv.Atoi(get("max-peers")); err != nil || c.MaxPeers < 1 {
		return c, fmt.Errorf("%w: --max-peers %q: want a whole number ≥ 1", ErrConfig, get("max-peers"))
	}
	if c.WSRate, err = strconv.ParseFloat(get("ws-rate"), 64); err != nil || c.WSRate <= 0 || c.WSRate > 1e6 {
		return c, fmt.Errorf("%w: --ws-rate %q: want a positive number of connects per second", ErrConfig, get("ws-rate"))
	}
	c.WSBurst = max(1, int(2*c.WSRate))
	if c.ShutdownTimeout, err = time.ParseDuration(get("shutdown-timeout")); err != nil || c.ShutdownTimeout < 0 {
		return c, fmt.Errorf("%w: --shutdown-timeout %q: want a duration like 10s", ErrConfig, get("shutdown-timeout"))
	}
	c.DebugAddr = get("debug-addr")
	if v := get("fault-corrupt-chunk"); v != "" {
		if c.FaultCorrupt, err = parseCorruptFault(v); err != nil {
			return c, fmt.Errorf("%w: --fault-corrupt-chunk: %w", ErrConfig, err)
		}
	}
	return c, c.Validate()
}

// Validate checks values that parse but cannot work.
func (c Config) Validate() error {
	addrs := map[string]string{"--listen": c.Listen, "--ice-listen": c.ICEListen}
	if c.DebugAddr != "" {
		addrs["--debug-addr"] = c.DebugAddr
	}
	for name, addr := range addrs {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return fmt.Errorf("%w: %s %q: want host:port: %w", ErrConfig, name, addr, err)
		}
		if host != "" && net.ParseIP(host) == nil && host != "localhost" {
			return fmt.Errorf("%w: %s %q: host must be an IP address or localhost", ErrConfig, name, addr)
		}
		if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
			return fmt.Errorf("%w: %s %q: bad port", ErrConfig, name, addr)
		}
	}
	for _, ip := range c.PublicIPs {
		if net.ParseIP(ip) == nil {
			return fmt.Errorf("%w: --public-ip %q is not an IP address", ErrConfig, ip)
		}
	}
	if c.CacheSize <= 0 {
		return fmt.Errorf("%w: --cache-size must be positive", ErrConfig)
	}
	if c.ChunkSize <= 0 || c.ChunkSize > wire.MaxChunkSize {
		return fmt.Errorf("%w: --chunk-size %d not in 1..65536 bytes", ErrConfig, c.ChunkSize)
	}
	if o := c.Origin; o != "" {
		if strings.Contains(o, "://") {
			if _, err := cache.NewHTTPOrigin(o, cache.HTTPOriginConfig{}); err != nil {
				return fmt.Errorf("%w: --origin: %w", ErrConfig, err)
			}
		} else if st, err := os.Stat(o); err != nil {
			return fmt.Errorf("%w: --origin directory %q: %w", ErrConfig, o, errors.Unwrap(err))
		} else if !st.IsDir() {
			return fmt.Errorf("%w: --origin %q is not a directory", ErrConfig, o)
		}
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return fmt.Errorf("%w: --tls-cert and --tls-key go together", ErrConfig)
	}
	for _, f := range []string{c.TLSCert, c.TLSKey} {
		if f != "" {
			if _, err := os.Stat(f); err != nil {
				return fmt.Errorf("%w: TLS file %q: %w", ErrConfig, f, errors.Unwrap(err))
			}
		}
	}
	for _, o := range c.AllowedOrigins {
		if o == "*" {
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" || u.RawQuery != "" {
			return fmt.Errorf("%w: --allowed-origins entry %q: want scheme://host[:port] or *", ErrConfig, o)
		}
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// parseSize parses a byte count with an optional unit: B, KB/MB/GB/TB
// (powers of 1000) or KiB/MiB/GiB/TiB (powers of 1024), case-insensitive,
// e.g. "256MiB", "64 KiB", "1.5GB", "65536". Fractions must come out whole.
func parseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	i := strings.IndexFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, unit := s, ""
	if i >= 0 {
		num, unit = s[:i], strings.TrimSpace(s[i:])
	}
	if num == "" {
		return 0, fmt.Errorf("%q: no number", s)
	}
	mult := map[string]float64{
		"": 1, "b": 1,
		"k": 1e3, "kb": 1e3, "m": 1e6, "mb": 1e6, "g": 1e9, "gb": 1e9, "t": 1e12, "tb": 1e12,
		"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
	}[strings.ToLower(unit)]
	if mult == 0 {
		return 0, fmt.Errorf("%q: unknown unit %q (use B, KB, MB, GB, KiB, MiB, GiB)", s, unit)
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("%q: bad number", s)
	}
	v := f * mult
	if v >= 1<<62 {
		return 0, fmt.Errorf("%q: too large", s)
	}
	if v != float64(int64(v)) {
		return 0, fmt.Errorf("%q: not a whole number of bytes", s)
	}
	return int64(v), nil
}
