package relay

import (
	"fmt"
	"net/netip"
	"time"
)

// IdentityOf is the identity bans apply to for a client at ip, and what the
// edge keys its per-client limits by: the address for IPv4 (an IPv4-mapped
// IPv6 address counts as its IPv4 one), its /64 for IPv6: one subscriber
// commonly gets a /64 (RFC 6177) and may take any address in it, so a
// finer key would let one client cycle addresses past a ban or a limit.
// The form is the address's ("192.0.2.1") or the prefix's
// ("2001:db8:1:2::/64"); a zone is dropped.
func IdentityOf(ip netip.Addr) string {
	ip = ip.Unmap().WithZone("")
	if !ip.Is6() {
		return ip.String()
	}
	p, _ := ip.Prefix(64) // cannot fail for an IPv6 address
	return p.String()
}

// strike counts a verification failure against s; at BanStrikes the peer's
// identity is banned and every session of it dropped.
func (r *Relay) strike(s *session, why error) {
	n := s.up.strike()
	s.log.Warn("peer sent bad bytes", "strike", n, "of", r.cfg.BanStrikes, "err", why)
	if n < r.cfg.BanStrikes {
		return
	}
	closed := r.ban(s.identity, fmt.Errorf("%w: %d bad chunks", ErrBanned, n))
	r.stats.bans.Add(1)
	s.log.Warn("peer banned", "identity", s.identity, "for", r.cfg.BanDuration, "sessions_closed", closed)
}

// ban refuses identity for BanDuration (Accept and newSession check it) and
// closes every session of it with cause: the same client in another tab is
// the same client. It returns how many sessions it closed.
func (r *Relay) ban(identity string, cause error) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	for id, until := range r.bans { // keep the list to the live bans
		if now.After(until) {
			delete(r.bans, id)
		}
	}
	r.bans[identity] = now.Add(r.cfg.BanDuration)
	n := 0
	for s := range r.sessions {
		if s.identity == identity {
			s.close(cause)
			n++
		}
	}
	return n
}

// Banned reports whether identity is banned now.
func (r *Relay) Banned(identity string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	until, ok := r.bans[identity]
	return ok && time.Now().Before(until)
}
