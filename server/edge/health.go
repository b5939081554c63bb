package edge

import (
	"net/http"
	"slices"
	"sync"

	"github.com/gofiber/fiber/v2"
)

// Readiness: GET /healthz says the process serves HTTP (liveness); GET
// /readyz says whether the relay takes new peers now (readiness), for load
// balancers and orchestrators. It answers 200 {"status":"ready"}, or 503
// {"status":"unready","reasons":[...]} while:
//
//   - "draining": Drain was called (a graceful shutdown is under way);
//   - "full": MaxPeers peers are connected;
//   - any reason held with Unready: the binary holds "starting" until all
//     its listeners serve; a mesh of relays would hold "cut off" while it
//     cannot reach its peers.

// readiness is the set of reasons held with Unready.
type readiness struct {
	mu    sync.Mutex // guards the following
	next  int
	holds map[int]string
}

// Unready makes /readyz answer 503 with reason until release is called.
// Reasons may repeat; each hold is released on its own. release is
// idempotent.
func (e *Edge) Unready(reason string) (release func()) {
	r := &e.ready
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.holds == nil {
		r.holds = make(map[int]string)
	}
	id := r.next
	r.next++
	r.holds[id] = reason
	var once sync.Once
	return func() {
		once.Do(func() {
			r.mu.Lock()
			delete(r.holds, id)
			r.mu.Unlock()
		})
	}
}

// Readiness reports whether the edge takes new peers, and if not, why
// (sorted, each reason once).
func (e *Edge) Readiness() (ready bool, reasons []string) {
	if e.draining.Load() {
		reasons = append(reasons, "draining")
	}
	if e.relay.PeerCount() >= e.cfg.MaxPeers {
		reasons = append(reasons, "full")
	}
	e.ready.mu.Lock()
	for _, why := range e.ready.holds {
		reasons = append(reasons, why)
	}
	e.ready.mu.Unlock()
	slices.Sort(reasons)
	reasons = slices.Compact(reasons)
	return len(reasons) == 0, reasons
}

// handleReady is GET /readyz.
func (e *Edge) handleReady(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	ready, reasons := e.Readiness()
	if !ready {
		return c.Status(http.StatusServiceUnavailable).JSON(fiber.Map{"status": "unready", "reasons": reasons})
	}
	return c.JSON(fiber.Map{"status": "ready", "peers": e.relay.PeerCount()})
}
