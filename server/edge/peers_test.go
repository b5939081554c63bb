package edge_test

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/p2pcache/p2pcache/cache"
	"github.com/p2pcache/p2pcache/relay"
	"github.com/p2pcache/p2pcache/relay/wire"
)

// TestMaxPeersConcurrentUpgrades: upgrades racing for the last places do
// not overshoot MaxPeers: each reserves its place before it upgrades.
// Checking a count of connected peers instead lets some through between
// the check and the session's start; a few rounds show it.
func TestMaxPeersConcurrentUpgrades(t *testing.T) {
	defer http.DefaultClient.CloseIdleConnections()
	const limit, dialers, rounds = 5, 100, 12
	base := startServer(t, t.TempDir(), maxPeers(limit), maxPeersPerIP(dialers), wsRate(1e6))
	for round := range rounds {
		status := upgradeBurst(t, base, dialers)
		if status[101] != limit || status[503] != dialers-limit {
			t.Fatalf("round %d: %d concurrent upgrades with MaxPeers %d: %v by status; want %d upgraded, the rest 503", round+1, dialers, limit, status, limit)
		}
		_, body := get(t, base+"/metrics", nil)
		if want := fmt.Sprintf(`p2pcache_edge_rejected_total{reason="full"} %d`, (round+1)*(dialers-limit)); !strings.Contains(string(body), want) {
			t.Fatalf("round %d: /metrics lacks %s", round+1, want)
		}
		waitPeers(t, base, 0)
	}
}

// upgradeBurst sends n WebSocket upgrades at once, over connections made
// beforehand, and counts the answers by status (0: no answer). Every
// connection stays open until all are answered; they are closed before it
// returns.
func upgradeBurst(t *testing.T, base string, n int) map[int]int {
	t.Helper()
	conns := make([]net.Conn, n)
	for i := range conns {
		var err error
		if conns[i], err = net.Dial("tcp", strings.TrimPrefix(base, "http://")); err != nil {
			t.Fatal(err)
		}
	}
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		status = map[int]int{}
	)
	start := make(chan struct{})
	for _, conn := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := websocket.Dialer{NetDial: func(string, string) (net.Conn, error) { return conn, nil }}
			<-start
			_, resp, err := d.Dial("ws"+strings.TrimPrefix(base, "http")+"/ws", nil)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				status[101]++
			case resp != nil:
				status[resp.StatusCode]++
			default:
				status[0]++
			}
		}()
	}
	close(start)
	wg.Wait()
	for _, c := range conns {
		c.Close()
	}
	return status
}

// waitPeers waits (10 s at most) until /healthz counts n peers.
func waitPeers(t *testing.T, base string, n int) {
	t.Helper()
	want := fmt.Sprintf(`"peers":%d`, n)
	var body []byte
	for start := 0; start < 500; start++ {
		if _, body = get(t, base+"/healthz", nil); strings.Contains(string(body), want) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("/healthz: %s, want %s", body, want)
}

// TestAdmissionOverloaded: when the relay's memory budget cannot take one
// more peer, the upgrade is refused with 503 and Retry-After before any
// WebSocket exists; the place comes back once a peer leaves.
func TestAdmissionOverloaded(t *testing.T) {
	defer http.DefaultClient.CloseIdleConnections()
	b, err := cache.NewBudget(relay.DefaultPeerMemory + 2*wire.MaxMessageSize) // room for one peer
	if err != nil {
		t.Fatal(err)
	}
	base := startServer(t, t.TempDir(), relayConfig(func(c *relay.Config) { c.Budget = b }))
	first, _, err := wsDial(base, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	_, resp, err := wsDial(base, "", nil)
	if err == nil || resp == nil {
		t.Fatalf("a second peer was upgraded with memory for one: %v", err)
	}
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("second peer: %d, Retry-After %q; want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	_, body := get(t, base+"/metrics", nil)
	if want := `p2pcache_edge_rejected_total{reason="overloaded"} 1`; !strings.Contains(string(body), want) {
		t.Errorf("/metrics lacks %s", want)
	}
	first.Close()
	waitAccepted(t, base, "")
}
