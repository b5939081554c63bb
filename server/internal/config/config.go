package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"time"

	"github.com/peterbourgon/ff/v3"

	"github.com/p2pcache/p2pcache/relay"
)

// Config is the relay binary's configuration.
type Config struct {
	Listen          string        // HTTP + WebSocket address
	ICEListen       string        // the one TCP address for ICE-TCP
	PublicIPs       []string      // IPs to advertise in candidates; empty: the listen IP
	Origin          string        // http(s) base URL or directory; empty: the built-in demo origin
	CacheSize       int64         // LRU budget in bytes
	ChunkSize       int           // bytes, at most 64 KiB
	TLSCert         string        // PEM certificate file; with TLSKey, serve HTTPS/WSS
	TLSKey          string        // PEM key file
	LogLevel        slog.Level    // the least level logged
	AllowedOrigins  []string      // WebSocket Origin allowlist; empty: own origin + localhost
	PeerFetch       bool          // fill cache misses from peers holding the chunk
	PeerTimeoutMin  time.Duration // least time one try at a peer gets
	BanStrikes      int           // bad chunks before a peer is banned
	BanDuration     time.Duration // how long a ban lasts
	AuthSecret      string        // HS256 secret; set: /ws, /files, /manifest need a token
	MaxPeers        int           // connected peers at most
	WSRate          float64       // WebSocket connects per second per IP (burst: twice that)
	ShutdownTimeout time.Duration // how long SIGTERM waits for transfers in flight
	DebugAddr       string        // address for /debug/pprof; empty: off

	TLSReloadInterval time.Duration // how often the TLS files are checked for changes; 0: SIGHUP only
	ACMEDomains       []string      // get certificates for these from ACME; instead of TLSCert
	ACMECache         string        // directory for the ACME account and certificates
	ACMEEmail         string        // ACME account contact
	ACMEHTTPListen    string        // address answering HTTP-01 challenges; empty: TLS-ALPN-01 only
	LogFormat         string        // "text" or "json"
	AccessLog         bool          // log every HTTP request and upgrade
	MetricsListen     string        // address for /metrics (and pprof); empty: /metrics on Listen
	PProf             bool          // pprof on MetricsListen

	TrustedProxies       []netip.Prefix // reverse proxies whose X-Forwarded-For / Forwarded name the client
	MaxPeersPerIP        int            // connected peers at most per client (IPv4 address, IPv6 /64)
	HTTPRate             float64        // /files and /manifest requests per second per client (burst: twice that)
	MaxMemory            int64          // process memory budget, bytes; 0: auto (cache.DefaultMemoryLimit)
	Procs                int            // GOMAXPROCS; 0: auto (server/internal/procs sizes it to the load)
	NegativeTTL          time.Duration  // how long an origin's "not found" is remembered; 0: not at all
	AllowDotfiles        bool           // a directory origin serves paths with a segment starting with "."
	DebugAddrAllowPublic bool           // --debug-addr may be a non-loopback address

	NATS              []string // NATS server URLs, or ["embedded"]; empty: no mesh
	NATSListen        string   // embedded server's client address; empty: in process only
	NATSClusterListen string   // embedded server's route address; empty: no routes
	NATSRoutes        []string // other embedded servers' route URLs
	NATSCreds         string   // NATS credentials file for an external NATS
	PublicURL         string   // how browsers reach this relay, announced to the cluster
	Region            string   // a label announced to the cluster
	RelayID           string   // the relay's id in the cluster; empty: derived (MeshID)

	File string // the YAML file read (--config); empty: none

	// RelayHooks are installed on the relay once it is built, by the flag
	// that set them. Only testing-only flags set any, and only builds with
	// the p2pcache_faults tag have such flags.
	RelayHooks map[string]func(*relay.Relay, *slog.Logger)
}

// Default returns the configuration with every setting at its default.
func Default() Config {
	return Config{
		Listen:          "127.0.0.1:8080",
		ICEListen:       "127.0.0.1:7881",
		CacheSize:       256 << 20,
		ChunkSize:       64 << 10,
		LogLevel:        slog.LevelInfo,
		PeerFetch:       true,
		PeerTimeoutMin:  200 * time.Millisecond,
		BanStrikes:      3,
		BanDuration:     10 * time.Minute,
		MaxPeers:        10000,
		WSRate:          10,
		ShutdownTimeout: 10 * time.Second,

		TLSReloadInterval: 10 * time.Second,
		LogFormat:         "text",

		MaxPeersPerIP: 32,
		HTTPRate:      100,
		NegativeTTL:   10 * time.Second,
	}
}

// Parse reads the configuration from the command line args (without the
// program name), the environment (P2PCACHE_<NAME>) and the YAML file named
// by --config or P2PCACHE_CONFIG, in that order of precedence over the
// defaults. It returns flag.ErrHelp for -h or --help, ErrVersion for
// --version, an ErrUsage for a malformed command line, and an ErrConfig
// naming the setting, and its source when not the command line, for a bad
// value. Every error is one line.
func Parse(args []string) (Config, error) {
	// The command line first, alone: help, version, unknown flags and bad
	// values, before the environment or a file is looked at. --version is a
	// flag of this pass only, so neither P2PCACHE_VERSION nor a "version"
	// key means anything.
	scratch := Default()
	var rec recorder
	fs := newFlagSet(scratch.settings(), &rec)
	version := fs.Bool("version", false, "")
	if err := fs.Parse(args); err != nil {
		switch {
		case errors.Is(err, flag.ErrHelp):
			return Config{}, flag.ErrHelp
		case rec.err != nil:
			return Config{}, fmt.Errorf("%w: %w", ErrConfig, rec.err)
		}
		return Config{}, fmt.Errorf("%w: %w", ErrUsage, err)
	}
	if *version {
		return Config{}, ErrVersion
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("%w: unexpected argument %q", ErrUsage, fs.Arg(0))
	}

	// Then all three sources, through ff: the command line again (it is
	// known good), the environment for what it did not set, the file for
	// what neither set. A value that fails from here on came from the
	// environment or the file; the file's parser says so itself.
	c := Default()
	rec = recorder{fromEnv: true}
	fs = newFlagSet(c.settings(), &rec)
	err := ff.Parse(fs, args,
		ff.WithEnvVarPrefix(envPrefix),
		ff.WithConfigFileFlag(configFlag),
		ff.WithConfigFileParser(fileParser(&c.File, &rec)))
	var fe *fileError
	switch {
	case errors.As(err, &fe):
		return Config{}, fmt.Errorf("%w: %w", ErrConfig, err)
	case err != nil && rec.err != nil:
		return Config{}, fmt.Errorf("%w: %w", ErrConfig, rec.err)
	case err != nil: // opening the file
		return Config{}, fmt.Errorf("%w: --config: %w", ErrConfig, err)
	}
	return c, c.validate()
}

// validate checks what no single value can: settings that go together.
func (c *Config) validate() error {
	if err := c.validateOps(); err != nil {
		return err
	}
	if err := c.validateSecurity(); err != nil {
		return err
	}
	if err := c.validateMesh(); err != nil {
		return err
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
	return nil
}

// newFlagSet makes the settings flags, quiet: Parse reports its errors and
// the caller prints help.
func newFlagSet(ss []setting, rec *recorder) *flag.FlagSet {
	fs := flag.NewFlagSet("p2pcache", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	for _, s := range ss {
		fs.Var(recorded{s.v, s.name, rec}, s.name, s.help)
	}
	return fs
}

// recorder keeps the first value that failed to set, with its source: the
// flag package and ff flatten a Set error into their own message.
type recorder struct {
	fromEnv bool
	err     error
}

// recorded is a value whose Set failures go to a recorder.
type recorded struct {
	value
	name string
	rec  *recorder
}

func (r recorded) Set(s string) error {
	err := r.value.Set(s)
	if err != nil && r.rec.err == nil {
		r.rec.err = err
		if r.rec.fromEnv {
			r.rec.err = fmt.Errorf("%w (from $%s)", err, envName(r.name))
		}
	}
	return err
}
