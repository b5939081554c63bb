package mesh_test

import (
	"context"
	"fmt"
	"log"
	"testing/fstest"

	"github.com/p2pcache/p2pcache/cache"
	"github.com/p2pcache/p2pcache/relay/mesh"
	"github.com/p2pcache/p2pcache/relay/wire"
)

// Every relay computes the same owners from the same members; when one
// leaves, only its keys move, each to its next owner.
func ExampleOwners() {
	members := []string{"relay-a", "relay-b", "relay-c"}
	page := mesh.ManifestKey("index.html")
	chunk := mesh.ChunkKey(wire.Sum([]byte("some chunk")))
	fmt.Println(page, mesh.Owners(page, members))
	fmt.Println(chunk[:8], mesh.Owners(chunk, members))
	fmt.Println("without relay-c:", mesh.Owner(page, members[:2]), mesh.Owner(chunk, members[:2]))
	// Output:
	// manifest:index.html [relay-b relay-a relay-c]
	// c8eddf34 [relay-c relay-b relay-a]
	// without relay-c: relay-b relay-b
}

// A relay with an embedded NATS server and no routes: a cluster of one,
// which owns every key, so its cache goes to the origin as without the
// mesh. With Embedded.ClusterListen and Routes (or NATSURLs) it would
// share its cache with the other relays.
func ExampleNew() {
	files := fstest.MapFS{"hello.txt": {Data: []byte("hello, cluster")}}
	c, err := cache.New(cache.NewFSOrigin(files, cache.FSOriginConfig{}), cache.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	m, err := mesh.New(context.Background(), mesh.Config{
		Embedded:  &mesh.EmbeddedConfig{},
		ID:        "relay-a",
		PublicURL: "https://a.example",
		Region:    "eu-west",
		Load:      func() mesh.Load { return mesh.Load{Peers: 2, Egress: 1 << 20} },
	}, c)
	if err != nil {
		log.Fatal(err)
	}
	c.SetTier(m)
	defer func() {
		c.SetTier(nil)
		m.Close()
	}()

	// GET /cluster serves m.Cluster() as JSON: {"self": ..., "relays": [...]}.
	cl := m.Cluster()
	r := cl.Relays[0]
	fmt.Println(m.Ready(), cl.Self, len(cl.Relays), r.ID, r.URL, r.Region, r.Peers, r.Self)

	man, err := c.Manifest(context.Background(), "hello.txt")
	if err != nil {
		log.Fatal(err)
	}
	st := c.Stats()
	fmt.Println(man.Size, "bytes;", st.ManifestBuilds, "built here,", st.TierManifests, "from the tier")
	// Output:
	// true relay-a 1 relay-a https://a.example eu-west 2 true
	// 14 bytes; 1 built here, 0 from the tier
}
