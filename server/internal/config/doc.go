// Package config is the relay binary's configuration: every setting is a
// typed flag (--cache-size), an environment variable (P2PCACHE_CACHE_SIZE)
// and a key of a YAML file (cache-size: 256MiB) named by --config or
// P2PCACHE_CONFIG. Parse reads them in that order of precedence over the
// defaults: a flag wins over the environment, which wins over the file.
//
// # One definition per setting
//
// settings.go binds each setting to its Config field through a typed
// value (values.go: addresses, sizes in human units, durations, on/off
// switches, whole numbers, log levels, lists of IPs or origins; security.go:
// lists of CIDR ranges, a memory size or "auto"). A value parses and
// validates its text once, whichever source it comes from, and
// formats itself the way it reads back: that is the default --help shows
// (PrintFlags) and the value the example file writes (WriteExample), so
// neither can drift from what Parse accepts. Validate-after-parse is left
// to what no single value can check (TLS files go in pairs).
//
// # Sources
//
// The command line is parsed first on its own, so -h, --version, an
// unknown flag and a bad value are reported before anything else is read.
// Then github.com/peterbourgon/ff/v3 layers the command line, the
// environment and the file onto the standard library's flag.FlagSet. The
// file is YAML read into a yaml.Node tree (file.go) so that every error
// names its line: an unknown key, a repeated key, a value of the wrong
// shape or one its setting refuses. Every key of the file is checked, even
// one a flag overrides. Environment variables for settings that do not
// exist are ignored, so deployments can set variables for newer relays.
//
// Errors are one line and wrap ErrConfig (a bad value, naming the setting
// and where it came from) or ErrUsage (a malformed command line).
//
// # Testing-only settings
//
// Builds with the p2pcache_faults tag add --fault-corrupt-chunk (faults.go)
// through testingSettings; it reaches the relay as a Config.RelayHooks
// entry. Production builds have no such flag: their --help, environment
// and file know nothing of it.
package config
