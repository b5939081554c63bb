package main

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"maps"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// --relays N: the WebRTC phase runs N relay processes that make one
// cluster (relay/mesh): each embeds a NATS server, routed to the others on
// loopback, and its cache asks the cluster's owner of a file or chunk
// before the origin. Peers are spread over the relays round-robin (peer k
// dials relay k mod N), as users spread over regions would be; relay i's
// peers reach it through the delay proxy with --relay-rtt's i-th RTT, so a
// relay can stand for a far region. The relays talk to each other
// undelayed. Every relay is scraped before and after the requests: its
// origin requests and bytes, its egress to peers, what it took from the
// cluster and what it served to it. The bench's origin counts the
// cluster's total. The process figures (CPU, RSS) are relay 1's.

// relayMesh is what makes a relay a member of the bench's cluster.
type relayMesh struct {
	id            string
	clusterListen string   // its embedded NATS server's route listener
	routes        []string // every member's, its own included
}

// relayCluster is the relays of one WebRTC phase.
type relayCluster struct {
	relays []*relayProc
	rtts   []time.Duration
}

// clusterFormTimeout bounds the wait for every relay to see the others.
const clusterFormTimeout = 20 * time.Second

// startCluster starts o.relays relays on one embedded-NATS cluster and
// waits until each lists all of them in GET /cluster; with --mesh off,
// as many independent relays.
func (b *bench) startCluster(ctx context.Context) (*relayCluster, error) {
	n := b.o.relays
	c := &relayCluster{}
	listens := make([]string, n)
	routes := make([]string, n)
	for i := range n {
		p, err := freePort("127.0.0.1")
		if err != nil {
			return nil, err
		}
		listens[i] = net.JoinHostPort("127.0.0.1", strconv.Itoa(p))
		routes[i] = "nats-route://" + listens[i]
	}
	for i := range n {
		s := b.setup
		s.oneWay = b.o.clusterRTT(i) / 2
		if b.o.mesh {
			s.mesh = &relayMesh{id: fmt.Sprintf("relay-%d", i+1), clusterListen: listens[i], routes: routes}
		}
		rp, err := startRelay(ctx, s, false)
		if err != nil {
			c.stop()
			return nil, fmt.Errorf("relay %d of %d: %w", i+1, n, err)
		}
		c.relays = append(c.relays, rp)
		c.rtts = append(c.rtts, b.o.clusterRTT(i))
	}
	if !b.o.mesh {
		return c, nil
	}
	deadline := time.Now().Add(clusterFormTimeout)
	for _, rp := range c.relays {
		for {
			got, err := clusterSize(ctx, rp)
			if err == nil && got == n {
				break
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				c.stop()
				return nil, fmt.Errorf("the cluster did not form in %v: %s lists %d relays of %d (%v)", clusterFormTimeout, rp.direct, got, n, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return c, nil
}

// clusterSize is how many relays rp's GET /cluster lists.
func clusterSize(ctx context.Context, rp *relayProc) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rp.direct+"/cluster", nil)
	if err != nil {
		return 0, err
	}
	resp, err := rp.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, resp.Body)
		return 0, fmt.Errorf("GET /cluster: %s", resp.Status)
	}
	var cl struct {
		Relays []json.RawMessage `json:"relays"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&cl); err != nil {
		return 0, err
	}
	return len(cl.Relays), nil
}

// stop stops every relay, at once.
func (c *relayCluster) stop() {
	var wg sync.WaitGroup
	for _, rp := range c.relays {
		wg.Go(rp.stop)
	}
	wg.Wait()
}

// scrape reads every relay's /metrics; a relay that fails gets nil.
func (c *relayCluster) scrape(ctx context.Context) []metrics {
	out := make([]metrics, len(c.relays))
	var wg sync.WaitGroup
	for i, rp := range c.relays {
		wg.Go(func() {
			if m, err := scrapeMetrics(ctx, rp.client, rp.direct); err == nil {
				out[i] = m
			}
		})
	}
	wg.Wait()
	return out
}

// clusterOut is what the WebRTC phase measured on each relay of a cluster.
type clusterOut struct {
	mesh          bool
	rtts          []time.Duration
	peers         []int // peers placed on each relay
	before, after []metrics
}

// clusterJSON is a run's cluster: one entry per relay.
type clusterJSON struct {
	Relays        int                `json:"relays"`
	Mesh          bool               `json:"mesh"` // false: --mesh off, independent relays
	PeerPlacement string             `json:"peer_placement"`
	Members       []clusterRelayJSON `json:"members"`
}

// clusterRelayJSON is one relay's figures during the WebRTC requests.
type clusterRelayJSON struct {
	ID             string  `json:"id"`
	RTTMS          float64 `json:"rtt_ms"`
	Peers          int     `json:"peers"`
	OriginRequests int64   `json:"origin_requests"`
	OriginBytes    int64   `json:"origin_bytes"`
	EgressBytes    int64   `json:"egress_bytes"` // to its peers
	// ChunksFromCluster and ManifestsFromCluster are its misses filled by
	// another relay instead of the origin; ServedBytes what it sent to the
	// other relays.
	ChunksFromCluster    int64 `json:"chunks_from_cluster"`
	ManifestsFromCluster int64 `json:"manifests_from_cluster"`
	ServedBytes          int64 `json:"served_to_cluster_bytes"`
	// ChunksBySource are the chunks it sent its peers, by where it got them.
	ChunksBySource map[string]int64 `json:"chunks_by_source"`
	// Requests are its requests to the other relays, by result (ok, miss,
	// timeout, unreachable, …), all kinds and members together.
	Requests map[string]int64 `json:"requests_to_cluster"`
	Scraped  bool             `json:"scraped"` // false: its /metrics could not be read
}

// clusterOf summarizes a phase's cluster; nil for one relay.
func clusterOf(c *clusterOut) *clusterJSON {
	if c == nil {
		return nil
	}
	j := &clusterJSON{Relays: len(c.rtts), Mesh: c.mesh, PeerPlacement: "round-robin: peer k on relay k mod N"}
	for i := range c.rtts {
		r := clusterRelayJSON{ID: fmt.Sprintf("relay-%d", i+1), RTTMS: ms(c.rtts[i]), Peers: c.peers[i]}
		a, b := c.after[i], c.before[i]
		if a != nil && b != nil {
			d := func(name string, label ...string) int64 { return int64(a.delta(b, name, label...)) }
			r.Scraped = true
			r.OriginRequests = d("p2pcache_origin_fetches_total")
			r.OriginBytes = d("p2pcache_origin_bytes_total")
			r.EgressBytes = d("p2pcache_bytes_sent_total")
			r.ChunksFromCluster = d("p2pcache_mesh_fills_total", "kind", "chunk")
			r.ManifestsFromCluster = d("p2pcache_mesh_fills_total", "kind", "manifest")
			r.ServedBytes = d("p2pcache_mesh_served_bytes_total")
			r.ChunksBySource = map[string]int64{}
			for _, src := range []string{"cache", "peer", "relay", "origin"} {
				r.ChunksBySource[src] = d("p2pcache_chunks_served_total", "source", src)
			}
			r.Requests = map[string]int64{}
			for series, v := range a {
				if !strings.HasPrefix(series, "p2pcache_mesh_requests_total{") {
					continue
				}
				_, res, _ := strings.Cut(series, `result="`)
				res, _, _ = strings.Cut(res, `"`)
				if n := int64(v - b[series]); n != 0 {
					r.Requests[res] += n
				}
			}
		}
		j.Members = append(j.Members, r)
	}
	return j
}

// printCluster writes a run's per-relay table.
func printCluster(w io.Writer, c *clusterJSON) {
	if c == nil {
		return
	}
	what := "one mesh on embedded NATS"
	if !c.Mesh {
		what = "independent, no mesh (--mesh off)"
	}
	fmt.Fprintf(w, "  %d relays, %s; peers %s:\n", c.Relays, what, c.PeerPlacement)
	const format = "  %-9s %7s %6s %15s %10s %10s %17s %10s %31s  %s\n"
	fmt.Fprintf(w, format, "relay", "rtt ms", "peers", "origin req/MB", "egress MB", "from mesh", "manifests (mesh)", "served MB", "chunks cache/peer/relay/origin", "requests to the mesh")
	for _, m := range c.Members {
		if !m.Scraped {
			fmt.Fprintf(w, "  %-9s %7s %6d  (no /metrics)\n", m.ID, fnum(m.RTTMS), m.Peers)
			continue
		}
		s := m.ChunksBySource
		fmt.Fprintf(w, format, m.ID, fnum(m.RTTMS), strconv.Itoa(m.Peers),
			fmt.Sprintf("%d / %s", m.OriginRequests, mb(m.OriginBytes)), mb(m.EgressBytes),
			strconv.FormatInt(m.ChunksFromCluster, 10), strconv.FormatInt(m.ManifestsFromCluster, 10), mb(m.ServedBytes),
			fmt.Sprintf("%d/%d/%d/%d", s["cache"], s["peer"], s["relay"], s["origin"]), results(m.Requests))
	}
}

// results formats counts by result, sorted: "ok 12, timeout 1".
func results(m map[string]int64) string {
	keys := slices.Sorted(maps.Keys(m))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	if len(parts) == 0 {
		return "–"
	}
	return strings.Join(parts, ", ")
}

// clusterTable is printCluster for the HTML report; "" for one relay.
func clusterTable(c *clusterJSON) string {
	if c == nil {
		return ""
	}
	esc := html.EscapeString
	var b strings.Builder
	what := "one mesh on embedded NATS"
	if !c.Mesh {
		what = "independent, no mesh"
	}
	fmt.Fprintf(&b, "<h3>%d relays, %s; peers %s</h3>\n", c.Relays, esc(what), esc(c.PeerPlacement))
	b.WriteString("<table><thead><tr><th>relay</th><th>RTT ms</th><th>peers</th><th>origin requests</th><th>origin MB</th><th>egress MB</th>" +
		"<th>chunks from the mesh</th><th>manifests from the mesh</th><th>served to the mesh MB</th><th>chunks cache / peer / relay / origin</th><th>requests to the mesh</th></tr></thead><tbody>\n")
	for _, m := range c.Members {
		if !m.Scraped {
			fmt.Fprintf(&b, "<tr><td>%s</td><td>%s</td><td>%d</td><td colspan=\"8\">no /metrics</td></tr>\n", esc(m.ID), fnum(m.RTTMS), m.Peers)
			continue
		}
		s := m.ChunksBySource
		fmt.Fprintf(&b, "<tr><td>%s</td><td>%s</td><td>%d</td><td>%d</td><td>%s</td><td>%s</td><td>%d</td><td>%d</td><td>%s</td><td>%d / %d / %d / %d</td><td>%s</td></tr>\n",
			esc(m.ID), fnum(m.RTTMS), m.Peers, m.OriginRequests, mb(m.OriginBytes), mb(m.EgressBytes),
			m.ChunksFromCluster, m.ManifestsFromCluster, mb(m.ServedBytes), s["cache"], s["peer"], s["relay"], s["origin"], esc(results(m.Requests)))
	}
	b.WriteString("</tbody></table>\n")
	return b.String()
}
