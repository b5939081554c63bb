package config

import (
	"strings"
	"time"

	"github.com/p2pcache/p2pcache/relay/wire"
)

// setting is one configuration key: the flag --NAME, the environment
// variable P2PCACHE_<NAME> and the config-file key NAME.
type setting struct {
	name, help string
	v          value
}

// testingSettings add settings bound to c; only builds with the
// p2pcache_faults tag have any (faults.go).
var testingSettings []func(c *Config) setting

// configFlag names the config file; it is a flag and an environment
// variable (P2PCACHE_CONFIG), not a key in the file.
const configFlag = "config"

// settings binds every setting to c's fields, in the order --help and the
// example file list them; c's values are the defaults shown.
func (c *Config) settings() []setting {
	ss := []setting{
		{"listen", "HTTP + WebSocket address",
			&stringValue{p: &c.Listen, what: "addr", check: checkAddr, required: true}},
		{"ice-listen", "the one TCP address for ICE-TCP (RFC 6544 passive candidates), or shared: on the --listen socket, told apart by first bytes (one port for everything)",
			&stringValue{p: &c.ICEListen, what: "addr", check: checkICEListen, required: true}},
		{"public-ip", "IPs to advertise in ICE candidates when behind NAT, comma list (default: the ICE listen IP)",
			&listValue{p: &c.PublicIPs, what: "ip-list", check: checkIP}},
		{"origin", "an http(s):// base URL or a directory (default: the built-in demo origin)",
			&stringValue{p: &c.Origin, what: "origin", check: checkOrigin}},
		{"cache-size", "chunk cache budget in bytes, human units (256MiB, 1GiB, 500MB)",
			&sizeValue[int64]{p: &c.CacheSize, lo: 1, hi: 1 << 62}},
		{"chunk-size", "chunk size, at most 64KiB",
			&sizeValue[int]{p: &c.ChunkSize, lo: 1, hi: wire.MaxChunkSize, why: " (browser-safe data-channel message size)"}},
		{"tls-cert", "PEM certificate file: serve HTTPS and WSS (with --tls-key)",
			&stringValue{p: &c.TLSCert, what: "file"}},
		{"tls-key", "PEM private key file for --tls-cert",
			&stringValue{p: &c.TLSKey, what: "file"}},
		{"tls-reload-interval", "how often to check --tls-cert and --tls-key for changes and reload them (SIGHUP reloads at once); 0: on SIGHUP only",
			&durationValue{p: &c.TLSReloadInterval, want: "a duration like 10s, or 0"}},
		{"acme-domains", "get and renew certificates for these domains from Let's Encrypt (ACME, TLS-ALPN-01 on --listen), comma list; instead of --tls-cert",
			&listValue{p: &c.ACMEDomains, what: "domain-list", check: checkDomain}},
		{"acme-cache", "directory keeping the ACME account key and certificates (needed with --acme-domains)",
			&stringValue{p: &c.ACMECache, what: "dir"}},
		{"acme-email", "contact address for the ACME account (expiry notices)",
			&stringValue{p: &c.ACMEEmail, what: "email", check: checkEmail}},
		{"acme-http-listen", "also answer ACME HTTP-01 challenges on this address (:80), redirecting other requests to https",
			&stringValue{p: &c.ACMEHTTPListen, what: "addr", check: checkAddr}},
		{"log-level", "debug, info, warn or error",
			&levelValue{p: &c.LogLevel}},
		{"log-format", "text or json (one JSON object a line)",
			&stringValue{p: &c.LogFormat, what: "format", check: checkLogFormat, required: true}},
		{"access-log", "log one line per HTTP request and WebSocket upgrade: method, path, status, bytes, duration, client (on/off)",
			&boolValue{p: &c.AccessLog}},
		{"allowed-origins", "WebSocket Origin allowlist, comma list of scheme://host[:port] or * (default: the relay's own origin and localhost/127.0.0.1 on any port)",
			&listValue{p: &c.AllowedOrigins, what: "url-list", check: checkAllowedOrigin}},
		{"peer-fetch", "fill cache misses from connected peers that hold the chunk (on/off)",
			&boolValue{p: &c.PeerFetch}},
		{"peer-timeout-min", "least time one try at a peer gets (the timeout otherwise follows the peer's RTT)",
			&durationValue{p: &c.PeerTimeoutMin, min: time.Nanosecond, want: "a positive duration like 50ms"}},
		{"ban-strikes", "chunks failing verification before a peer is disconnected and banned",
			&intValue{p: &c.BanStrikes, min: 1}},
		{"ban-duration", "how long a banned peer identity is refused",
			&durationValue{p: &c.BanDuration, min: time.Nanosecond, want: "a positive duration like 10m"}},
		{"auth-secret", "HS256 secret (≥ 32 bytes): /ws, /files and /manifest then need a token (see 'p2pcache token')",
			&stringValue{p: &c.AuthSecret, what: "string", check: checkSecret}},
		{"max-peers", "connected peers at most; more are refused with 503",
			&intValue{p: &c.MaxPeers, min: 1}},
		{"ws-rate", "WebSocket connects per second per client IP (burst: twice that); more are refused with 429",
			&rateValue{p: &c.WSRate, want: "a positive number of connects per second"}},
		{"max-peers-per-ip", "connected peers at most per client (an IPv4 address or an IPv6 /64); more are refused with 503",
			&intValue{p: &c.MaxPeersPerIP, min: 1}},
		{"http-rate", "/files and /manifest requests per second per client IP (burst: twice that); more are refused with 429",
			&rateValue{p: &c.HTTPRate, want: "a positive number of requests per second"}},
		{"trusted-proxies", "reverse proxies in front of the relay, comma list of CIDR ranges or IPs: only from them is the client taken from X-Forwarded-For or Forwarded (default: none, the socket peer is the client)",
			&cidrListValue{p: &c.TrustedProxies}},
		{"max-memory", "memory budget of the process, human units, or auto (half the machine's or the cgroup's memory): the chunk cache plus what peers and manifest builds may hold; past it new peers get 503 and transfers wait",
			&memoryValue{p: &c.MaxMemory}},
		{"procs", "CPU cores the relay runs Go code on (GOMAXPROCS), or auto: as few as keep up with its load, from 1 up to the machine's or the cgroup's cores (fewer idle cores, fewer thread wake-ups per packet); GOMAXPROCS in the environment wins",
			&procsValue{p: &c.Procs}},
		{"negative-ttl", "how long an origin's \"not found\" is remembered (each missing path asks the origin once per this); 0 to ask every time",
			&durationValue{p: &c.NegativeTTL, want: "a duration like 10s, or 0"}},
		{"allow-dotfiles", "a directory origin serves paths with a segment starting with \".\" (.env, .git/config); off: they are not found (on/off)",
			&boolValue{p: &c.AllowDotfiles}},
		{"shutdown-timeout", "on SIGTERM, how long to let transfers in flight finish before closing peers",
			&durationValue{p: &c.ShutdownTimeout, want: "a duration like 10s"}},
		{"metrics-listen", "serve /metrics on this address (keep it private: 127.0.0.1:9090) instead of on --listen, where /metrics is then 404",
			&stringValue{p: &c.MetricsListen, what: "addr", check: checkAddr}},
		{"pprof", "also serve Go's /debug/pprof profiles on --metrics-listen (on/off)",
			&boolValue{p: &c.PProf}},
		{"debug-addr", "serve Go's /debug/pprof profiles on this address, loopback only unless --debug-addr-allow-public (127.0.0.1:6060); off when empty",
			&stringValue{p: &c.DebugAddr, what: "addr", check: checkAddr}},
		{"debug-addr-allow-public", "let --debug-addr, and --metrics-listen with --pprof, listen on a non-loopback address (profiles show the heap: keep them private) (on/off)",
			&boolValue{p: &c.DebugAddrAllowPublic}},
		{"nats", "join a cluster of relays that share one cache tier (the origin sees each chunk once per cluster): NATS server URLs, comma list of nats://host:port, or embedded (a NATS server in this relay; --nats-cluster-listen and --nats-routes link the relays' servers); needs --public-url",
			&listValue{p: &c.NATS, what: "url-list", check: checkNATS}},
		{"nats-listen", "with --nats embedded: also take NATS clients on this address (the relay itself connects in process); empty: none",
			&stringValue{p: &c.NATSListen, what: "addr", check: checkAddr}},
		{"nats-cluster-listen", "with --nats embedded: the address the other relays' NATS servers route to (0.0.0.0:6222)",
			&stringValue{p: &c.NATSClusterListen, what: "addr", check: checkAddr}},
		{"nats-routes", "with --nats embedded: the other relays' --nats-cluster-listen addresses, comma list of nats-route://host:port (listing this relay's own too is fine: one list for all)",
			&listValue{p: &c.NATSRoutes, what: "url-list", check: checkRoute}},
		{"nats-creds", "NATS credentials file (user JWT and NKey seed) for --nats URLs",
			&stringValue{p: &c.NATSCreds, what: "file"}},
		{"public-url", "with --nats: the URL browsers reach this relay at (https://relay-1.example.com), announced to the other relays and listed by GET /cluster",
			&stringValue{p: &c.PublicURL, what: "url", check: checkPublicURL}},
		{"region", "with --nats: a region label announced to the other relays (eu-west)",
			&stringValue{p: &c.Region, what: "name", check: checkRegion}},
		{"relay-id", "with --nats: this relay's id in the cluster, letters, digits, - and _ (default: from --public-url's host and port, so it is the same after a restart)",
			&stringValue{p: &c.RelayID, what: "id", check: checkRelayID}},
		{configFlag, "read settings from this YAML file; its keys are these flags' names (see 'p2pcache config example')",
			&stringValue{p: &c.File, what: "file"}},
	}
	for _, f := range testingSettings {
		ss = append(ss, f(c))
	}
	for _, s := range ss {
		s.v.named(s.name)
	}
	return ss
}

// envName is the environment variable for a setting: --cache-size is
// P2PCACHE_CACHE_SIZE.
func envName(flag string) string {
	return envPrefix + "_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

const envPrefix = "P2PCACHE"
