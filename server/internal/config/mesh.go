package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
)

// The relay mesh's settings (relay/mesh): --nats joins this relay to a
// cluster of relays on NATS, an existing deployment or a server embedded
// in each relay with routes between them.

// EmbeddedNATS is the --nats value that runs a NATS server in the relay.
const EmbeddedNATS = "embedded"

// maxRelayID is relay/mesh's limit on an id: one NATS subject token.
const maxRelayID = 64

// checkNATS vets one entry of --nats: embedded, or a nats:// or tls://
// URL with a host and a port.
func checkNATS(b *base, s string) error {
	if s == EmbeddedNATS {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "nats" && u.Scheme != "tls") || u.Hostname() == "" || u.Port() == "" || (u.Path != "" && u.Path != "/") {
		return b.errorf(" %q: want nats://host:port (or tls://host:port), a comma list of them, or %s", s, EmbeddedNATS)
	}
	if p, err := strconv.Atoi(u.Port()); err != nil || p < 1 || p > 65535 {
		return b.errorf(" %q: bad port", s)
	}
	return nil
}

// checkRoute vets one entry of --nats-routes: nats-route://host:port or
// host:port.
func checkRoute(b *base, s string) error {
	hp := s
	if rest, ok := strings.CutPrefix(s, "nats-route://"); ok {
		hp = rest
	} else if strings.Contains(s, "://") {
		return b.errorf(" %q: want nats-route://host:port or host:port", s)
	}
	host, port, err := net.SplitHostPort(hp)
	if p, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || p < 1 || p > 65535 {
		return b.errorf(" %q: want nats-route://host:port or host:port", s)
	}
	return nil
}

// checkPublicURL vets --public-url: an absolute http(s) URL with a host.
func checkPublicURL(b *base, s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return b.errorf(" %q: want the URL browsers reach this relay at, like https://relay-1.example.com", s)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return b.errorf(" %q: bad port", s)
		}
	} else if strings.HasSuffix(u.Host, ":") {
		return b.errorf(" %q: empty port", s)
	}
	if len(s) > 2048 {
		return b.errorf(" is over 2048 bytes")
	}
	return nil
}

// checkRelayID vets --relay-id: 1 to 64 of [A-Za-z0-9_-].
func checkRelayID(b *base, s string) error {
	if len(s) > maxRelayID || strings.IndexFunc(s, func(r rune) bool { return !idRune(r) }) >= 0 {
		return b.errorf(" %q: 1 to %d letters, digits, '-' and '_'", s, maxRelayID)
	}
	return nil
}

// checkRegion vets --region: a short printable label.
func checkRegion(b *base, s string) error {
	if len(s) > 64 || strings.IndexFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f }) >= 0 {
		return b.errorf(" %q: at most 64 printable characters", s)
	}
	return nil
}

func idRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_'
}

// Mesh reports whether the relay joins a cluster (--nats).
func (c *Config) Mesh() bool { return len(c.NATS) > 0 }

// EmbeddedNATS reports whether the relay runs its own NATS server.
func (c *Config) EmbeddedNATS() bool { return len(c.NATS) == 1 && c.NATS[0] == EmbeddedNATS }

// MeshID is the relay's id in the cluster: --relay-id, or one derived from
// --public-url's host and port (https://relay-1.example.com becomes
// relay-1-example-com-443). Derived, not random, so that it survives a
// restart: ownership follows ids, and a relay that comes back under the
// same id takes its old place (and its old entry in the others' tables) at
// once, instead of leaving a ghost member until it expires and moving keys
// twice. Two relays behind one public URL must be given distinct ids.
func (c *Config) MeshID() string {
	if c.RelayID != "" {
		return c.RelayID
	}
	u, err := url.Parse(c.PublicURL)
	if err != nil || u.Hostname() == "" {
		return ""
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	var b strings.Builder
	for _, r := range strings.ToLower(u.Hostname()) {
		if !idRune(r) {
			r = '-'
		}
		b.WriteRune(r)
	}
	host := strings.Trim(b.String(), "-")
	// A long name keeps its start (the most specific labels) and the port.
	host = strings.TrimRight(host[:min(len(host), maxRelayID-1-len(port))], "-")
	return host + "-" + port
}

// validateMesh checks the mesh settings that go together.
func (c *Config) validateMesh() error {
	embedded := c.EmbeddedNATS()
	switch {
	case slices.Contains(c.NATS, EmbeddedNATS) && !embedded:
		return fmt.Errorf("%w: --nats %s goes alone, not with URLs", ErrConfig, EmbeddedNATS)
	case !c.Mesh() && (c.PublicURL != "" || c.RelayID != "" || c.Region != "" || c.NATSCreds != ""):
		return fmt.Errorf("%w: --public-url, --relay-id, --region and --nats-creds need --nats", ErrConfig)
	case !embedded && (c.NATSListen != "" || c.NATSClusterListen != "" || len(c.NATSRoutes) > 0):
		return fmt.Errorf("%w: --nats-listen, --nats-cluster-listen and --nats-routes need --nats %s", ErrConfig, EmbeddedNATS)
	case len(c.NATSRoutes) > 0 && c.NATSClusterListen == "":
		return fmt.Errorf("%w: --nats-routes needs --nats-cluster-listen (the routes connect to it)", ErrConfig)
	case embedded && c.NATSCreds != "":
		return fmt.Errorf("%w: --nats-creds is for an external NATS (--nats URL); the embedded server needs none", ErrConfig)
	case c.Mesh() && c.PublicURL == "":
		return fmt.Errorf("%w: --nats needs --public-url: how browsers reach this relay, told to the other relays", ErrConfig)
	case c.Mesh() && c.MeshID() == "":
		return fmt.Errorf("%w: no relay id can be derived from --public-url %q: set --relay-id", ErrConfig, c.PublicURL)
	case c.NATSListen != "" && c.NATSListen == c.NATSClusterListen:
		return fmt.Errorf("%w: --nats-listen and --nats-cluster-listen must differ", ErrConfig)
	}
	if c.NATSCreds != "" {
		if _, err := os.Stat(c.NATSCreds); err != nil {
			return fmt.Errorf("%w: --nats-creds %q: %w", ErrConfig, c.NATSCreds, errors.Unwrap(err))
		}
	}
	return nil
}
