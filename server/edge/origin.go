package edge

import (
	"net/url"
	"strings"
)

// originPolicy decides which WebSocket Origin headers may upgrade. Browsers
// always send Origin; without this check any web page could open a socket to
// the relay from a visitor's browser (cross-site WebSocket hijacking), which
// the contrib middleware's default (any Origin) allows. Clients that are not
// browsers send none, and are allowed: Origin protects browser users only.
type originPolicy struct {
	any   bool            // "*" was listed
	exact map[string]bool // scheme://host[:port], lowercase
}

func newOriginPolicy(list []string) originPolicy {
	p := originPolicy{exact: map[string]bool{}}
	for _, o := range list {
		if o == "*" {
			p.any = true
			continue
		}
		p.exact[strings.ToLower(strings.TrimSuffix(o, "/"))] = true
	}
	return p
}

// allowed reports whether a page of origin may connect to the relay reached
// at host (the request's Host header). The relay's own origin always may;
// with no list configured, so may localhost and 127.0.0.1 on any port.
func (p originPolicy) allowed(origin, host string) bool {
	if origin == "" || p.any {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return false
	}
	if strings.EqualFold(u.Host, host) {
		return true
	}
	if len(p.exact) > 0 {
		return p.exact[strings.ToLower(u.Scheme+"://"+u.Host)]
	}
	switch strings.ToLower(u.Hostname()) {
	case "localhost", "127.0.0.1", "::1":
		return true
	}
	return false
}
