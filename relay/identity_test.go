package relay_test

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/p2pcache/p2pcache/relay"
)

func TestIdentityOf(t *testing.T) {
	for _, tt := range []struct{ ip, want string }{
		{"192.0.2.7", "192.0.2.7"},
		{"::ffff:192.0.2.7", "192.0.2.7"}, // IPv4-mapped: the IPv4 client
		{"2001:db8:1:2::1", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"},
		{"2001:db8:1:3::1", "2001:db8:1:3::/64"},
		{"fe80::1%eth0", "fe80::/64"},
		{"::1", "::/64"},
	} {
		if got := relay.IdentityOf(netip.MustParseAddr(tt.ip)); got != tt.want {
			t.Errorf("IdentityOf(%s) = %q, want %q", tt.ip, got, tt.want)
		}
	}
}

func ExampleIdentityOf() {
	for _, ip := range []string{"198.51.100.4", "2001:db8:aa:bb:1:2:3:4", "2001:db8:aa:bb::99"} {
		fmt.Println(relay.IdentityOf(netip.MustParseAddr(ip)))
	}
	// Output:
	// 198.51.100.4
	// 2001:db8:aa:bb::/64
	// 2001:db8:aa:bb::/64
}
