package config

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// The security settings' values and checks: the trusted proxies, the
// memory budget, the debug listener's exposure.

// cidrListValue is a comma list of CIDR ranges; a bare IP is its /32 or
// /128. Ranges are kept masked, IPv4-mapped ones as IPv4.
type cidrListValue struct {
	base
	p *[]netip.Prefix
}

func (v *cidrListValue) Set(s string) error {
	var out []netip.Prefix
	for _, e := range strings.Split(s, ",") {
		if e = strings.TrimSpace(e); e == "" {
			continue
		}
		p, err := parseCIDR(e)
		if err != nil {
			return v.errorf(" entry %q: want a CIDR range like 10.0.0.0/8 or fd00::/8, or an IP", e)
		}
		out = append(out, p)
	}
	*v.p = out
	return nil
}

func (v *cidrListValue) String() string {
	items := make([]string, len(*v.p))
	for i, p := range *v.p {
		items[i] = p.String()
	}
	return strings.Join(items, ",")
}
func (v *cidrListValue) kind() string { return "cidr-list" }
func (v *cidrListValue) isList()      {}

// parseCIDR reads a CIDR range or a bare IP.
func parseCIDR(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		a, aerr := netip.ParseAddr(s)
		if aerr != nil || a.Zone() != "" {
			return netip.Prefix{}, err
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	if a := p.Addr(); a.Is4In6() {
		if p.Bits() < 96 {
			return netip.Prefix{}, fmt.Errorf("%s: an IPv4-mapped range shorter than /96", s)
		}
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}

// memoryValue is a byte count in human units, or auto (0).
type memoryValue struct {
	base
	p *int64
}

func (v *memoryValue) Set(s string) error {
	if strings.EqualFold(strings.TrimSpace(s), "auto") {
		*v.p = 0
		return nil
	}
	n, err := parseSize(s)
	switch {
	case err != nil:
		return v.errorf(": %w (or auto)", err)
	case n < 1:
		return v.errorf(" %s: want a positive size or auto", strings.TrimSpace(s))
	}
	*v.p = n
	return nil
}

func (v *memoryValue) String() string {
	if *v.p == 0 {
		return "auto"
	}
	return formatSize(*v.p)
}
func (v *memoryValue) kind() string { return "size" }

// validateSecurity checks the security settings that go together.
func (c *Config) validateSecurity() error {
	if c.MaxMemory != 0 && c.CacheSize >= c.MaxMemory/3*2 {
		return fmt.Errorf("%w: --cache-size %s must be less than two thirds of --max-memory %s: the cached chunks count against the memory budget, peers and manifest builds need the rest of those two thirds, and the Go runtime the last third",
			ErrConfig, formatSize(c.CacheSize), formatSize(c.MaxMemory))
	}
	if c.DebugAddr != "" && !c.DebugAddrAllowPublic && !isLoopback(c.DebugAddr) {
		return fmt.Errorf("%w: --debug-addr %s is not a loopback address: its profiles show the process's memory (use 127.0.0.1:PORT, or set --debug-addr-allow-public)", ErrConfig, c.DebugAddr)
	}
	if c.PProf && c.MetricsListen != "" && !c.DebugAddrAllowPublic && !isLoopback(c.MetricsListen) {
		return fmt.Errorf("%w: --pprof on --metrics-listen %s, not a loopback address: its profiles show the process's memory (keep /metrics there and serve the profiles on --debug-addr 127.0.0.1:PORT, or set --debug-addr-allow-public)", ErrConfig, c.MetricsListen)
	}
	return nil
}

// isLoopback reports whether addr (host:port) listens on loopback only.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}
