package config

import (
	"fmt"
	"net/mail"
	"regexp"
	"strings"
)

// The operator settings' checks: one port (--ice-listen shared), ACME,
// logs and the metrics listener.

// SharedICE is the --ice-listen value that puts ICE-TCP on the --listen
// socket (server/portmux).
const SharedICE = "shared"

// checkICEListen vets --ice-listen: host:port, or "shared".
func checkICEListen(b *base, s string) error {
	if s == SharedICE {
		return nil
	}
	if err := checkAddr(b, s); err != nil {
		return fmt.Errorf("%w (or %s)", err, SharedICE)
	}
	return nil
}

// domainName is a DNS name of two labels or more: ACME's HTTP-01 and
// TLS-ALPN-01 challenges take neither wildcards nor IP addresses.
var domainName = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$`)

func checkDomain(b *base, s string) error {
	if len(s) > 253 || !domainName.MatchString(strings.ToLower(s)) {
		return b.errorf(" %q: want a domain name like relay.example.com (no wildcard, no IP, no port)", s)
	}
	return nil
}

func checkEmail(b *base, s string) error {
	if a, err := mail.ParseAddress(s); err != nil || a.Address != s {
		return b.errorf(" %q: want an address like ops@example.com", s)
	}
	return nil
}

func checkLogFormat(b *base, s string) error {
	if s != "text" && s != "json" {
		return b.errorf(" %q: want text or json", s)
	}
	return nil
}

// validateOps checks the operator settings that go together.
func (c *Config) validateOps() error {
	acme := len(c.ACMEDomains) > 0
	switch {
	case acme && c.TLSCert != "":
		return fmt.Errorf("%w: --acme-domains and --tls-cert: choose one", ErrConfig)
	case acme && c.ACMECache == "":
		return fmt.Errorf("%w: --acme-domains needs --acme-cache (without it every restart asks Let's Encrypt for new certificates, and its rate limits soon refuse)", ErrConfig)
	case !acme && c.ACMEHTTPListen != "":
		return fmt.Errorf("%w: --acme-http-listen needs --acme-domains", ErrConfig)
	case !acme && c.ACMEEmail != "":
		return fmt.Errorf("%w: --acme-email needs --acme-domains", ErrConfig)
	case c.PProf && c.MetricsListen == "":
		return fmt.Errorf("%w: --pprof needs --metrics-listen (or use --debug-addr)", ErrConfig)
	case c.MetricsListen != "" && c.MetricsListen == c.Listen:
		return fmt.Errorf("%w: --metrics-listen must differ from --listen", ErrConfig)
	}
	return nil
}

// TLS reports whether the relay serves HTTPS: certificate files or ACME.
func (c *Config) TLS() bool { return c.TLSCert != "" || len(c.ACMEDomains) > 0 }

// Shared reports whether ICE-TCP shares the --listen socket.
func (c *Config) Shared() bool { return c.ICEListen == SharedICE }
