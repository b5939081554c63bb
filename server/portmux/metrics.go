package portmux

import "github.com/prometheus/client_golang/prometheus"

// Stats counts the accepted connections by what became of them.
type Stats struct {
	Handed      map[Protocol]uint64 // handed over, by protocol
	Garbage     uint64              // first bytes of no protocol
	Timeout     uint64              // too few bytes before PeekTimeout
	ClosedEarly uint64              // closed before their protocol was known
	Unserved    uint64              // a protocol nobody listened for
}

// Stats returns the counts so far.
func (m *Mux) Stats() Stats {
	return Stats{
		Handed: map[Protocol]uint64{
			STUN: m.handed[STUN].Load(),
			TLS:  m.handed[TLS].Load(),
			HTTP: m.handed[HTTP].Load(),
		},
		Garbage:     m.others[Garbage].Load(),
		Timeout:     m.others[Timeout].Load(),
		ClosedEarly: m.others[ClosedEarly].Load(),
		Unserved:    m.others[Unserved].Load(),
	}
}

var descConns = prometheus.NewDesc("p2pcache_portmux_connections_total",
	"Connections accepted on the shared port (--ice-listen shared), by protocol (stun, tls, http) when handed over, else by outcome (garbage, timeout, closed_early, unserved).",
	[]string{"result"}, nil)

// Collector exports Stats as p2pcache_portmux_connections_total{result}.
func (m *Mux) Collector() prometheus.Collector { return collector{m} }

type collector struct{ m *Mux }

func (c collector) Describe(ch chan<- *prometheus.Desc) { ch <- descConns }

func (c collector) Collect(ch chan<- prometheus.Metric) {
	s := c.m.Stats()
	for p, n := range s.Handed {
		ch <- prometheus.MustNewConstMetric(descConns, prometheus.CounterValue, float64(n), p.String())
	}
	for o, n := range map[Outcome]uint64{Garbage: s.Garbage, Timeout: s.Timeout, ClosedEarly: s.ClosedEarly, Unserved: s.Unserved} {
		ch <- prometheus.MustNewConstMetric(descConns, prometheus.CounterValue, float64(n), o.String())
	}
}
