package edge

import (
	"net/http"

	"github.com/gofiber/fiber/v2"
)

// GET /cluster reports the relay's view of its cluster (the mesh of relays
// joined over NATS): whatever Config.Cluster returns, as JSON. The edge
// knows nothing of the mesh; the binary wires the hook when it joins one.
// A relay that is not in a cluster answers 404.

// handleCluster is GET /cluster.
func (e *Edge) handleCluster(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "no-cache")
	if e.cfg.Cluster == nil {
		return jsonError(c, http.StatusNotFound, "this relay is not in a cluster (no --nats)")
	}
	return c.JSON(e.cfg.Cluster())
}
