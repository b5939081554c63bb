// Package stack assembles the relay binary from its configuration: an
// origin (the built-in demo, an HTTP base URL or a directory), the chunk
// cache in front of it, the relay core on the ICE-TCP listener and the HTTP
// edge in front of both; and it takes them down in the order a graceful
// stop needs. The binary's main is flags → config.Parse → stack.New → Serve.
package stack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/net/netutil"

	"github.com/p2pcache/p2pcache/cache"
	"github.com/p2pcache/p2pcache/relay"
	"github.com/p2pcache/p2pcache/relay/mesh"
	"github.com/p2pcache/p2pcache/server/demo"
	"github.com/p2pcache/p2pcache/server/edge"
	"github.com/p2pcache/p2pcache/server/internal/config"
)

// originTimeout bounds one origin fetch, and an HTTP request's wait on the
// cache.
const originTimeout = 60 * time.Second

// Stack is a running relay: its parts, built by New.
type Stack struct {
	Edge       *edge.Edge
	Relay      *relay.Relay
	Cache      *cache.Cache
	Mesh       *mesh.Mesh // the cluster of relays (--nats), the cache's tier; nil without --nats (mesh.go)
	OriginName string     // "built-in demo", the URL or the directory
	TLS        bool       // the edge serves HTTPS
	// MemoryLimit is --max-memory resolved (auto: half the machine's or
	// the cgroup's memory): the chunk cache plus Budget.
	MemoryLimit int64
	// Budget is the memory budget the cache and the relay share (memory.go).
	Budget *cache.Budget

	ops // TLS certificates and readiness (ops.go)

	closeOrigin func() error
	once        sync.Once
}

// New builds the stack for cfg; the relay takes iceLn over (at most a few
// connections per peer are accepted at once, the rest wait in the backlog).
// build and the extra collectors are reported in /metrics. /readyz answers
// 503 "starting" until Started. The caller serves HTTP with Serve and ends
// with Shutdown or Close.
func New(cfg config.Config, build edge.BuildInfo, log *slog.Logger, iceLn net.Listener, collectors ...prometheus.Collector) (*Stack, error) {
	s := &Stack{closeOrigin: func() error { return nil }}
	s.MemoryLimit = memoryLimit(cfg, log)
	var err error
	if s.Budget, err = newBudget(cfg, s.MemoryLimit); err != nil {
		return nil, err
	}
	var origin cache.Origin
	switch o := cfg.Origin; {
	case o == "":
		origin = cache.NewFSOrigin(demo.FS(), cache.FSOriginConfig{MaxAge: 24 * time.Hour})
		s.OriginName = "built-in demo"
	case strings.Contains(o, "://"):
		h, err := cache.NewHTTPOrigin(o, cache.HTTPOriginConfig{})
		if err != nil {
			return nil, fmt.Errorf("%w: --origin: %w", config.ErrConfig, err)
		}
		origin, s.OriginName = h, o
	default:
		d, closeDir, err := cache.DirOrigin(o, cache.FSOriginConfig{AllowDotfiles: cfg.AllowDotfiles})
		if err != nil {
			return nil, fmt.Errorf("%w: --origin: %w", config.ErrConfig, err)
		}
		origin, s.OriginName, s.closeOrigin = d, o, closeDir
	}
	negTTL := cfg.NegativeTTL
	if negTTL == 0 {
		negTTL = -1 // the cache's "never"
	}
	c, err := cache.New(origin, cache.Config{
		ChunkSize:     cfg.ChunkSize,
		MaxBytes:      cfg.CacheSize,
		OriginTimeout: originTimeout,
		NegativeTTL:   negTTL,
		Budget:        s.Budget,
		Logger:        log.With("component", "cache"),
	})
	if err != nil {
		s.closeOrigin()
		return nil, err
	}
	s.Cache = c
	r, err := relay.New(c, netutil.LimitListener(iceLn, 4*cfg.MaxPeers+64), relay.Config{
		PublicIPs:        cfg.PublicIPs,
		Logger:           log.With("component", "relay"),
		DisablePeerFetch: !cfg.PeerFetch,
		PeerTimeoutMin:   cfg.PeerTimeoutMin,
		BanStrikes:       cfg.BanStrikes,
		BanDuration:      cfg.BanDuration,
		Budget:           s.Budget,
	})
	if err != nil {
		s.abort()
		return nil, err
	}
	s.Relay = r
	for _, hook := range cfg.RelayHooks {
		hook(r, log)
	}
	if cfg.PeerFetch {
		c.SetPeers(r) // the relay fills the cache's misses from peers
	}
	m, mc, err := newMesh(cfg, c, r, log)
	if err != nil {
		s.abort()
		return nil, err
	}
	if m != nil {
		s.Mesh = m
		collectors = append(collectors[:len(collectors):len(collectors)], mc)
	}
	ecfg := edge.Config{
		Logger:         log,
		AuthSecret:     cfg.AuthSecret,
		AllowedOrigins: cfg.AllowedOrigins,
		MaxPeers:       cfg.MaxPeers,
		WSRate:         cfg.WSRate,
		RequestTimeout: originTimeout,
		MaxPeersPerIP:  cfg.MaxPeersPerIP,
		HTTPRate:       cfg.HTTPRate,
		TrustedProxies: cfg.TrustedProxies,
		Build:          build,

		AccessLog:       cfg.AccessLog,
		NoPublicMetrics: cfg.MetricsListen != "",
		Collectors:      collectors,
	}
	if m != nil {
		ecfg.Cluster = func() any { return m.Cluster() }
	}
	if ecfg.TLS, err = s.newTLS(cfg, log); err != nil {
		s.abort()
		return nil, err
	}
	s.TLS = ecfg.TLS != nil
	if s.Edge, err = edge.New(r, c, ecfg); err != nil {
		s.abort()
		return nil, err
	}
	s.starting = s.Edge.Unready("starting")
	return s, nil
}

// Serve serves HTTP (HTTPS with TLS) on ln until Shutdown or Close.
func (s *Stack) Serve(ln net.Listener) error { return s.Edge.Serve(ln) }

// Shutdown stops gracefully: the edge refuses new peers, the cache stops
// asking peers for its misses (the origin fills them: no fill is asked of
// a relay being closed), the relay lets the transfers in flight finish
// until ctx ends and closes its peers, the HTTP server stops (it gets at
// least a second more for the requests in flight), the mesh leaves the
// cluster (the cache stops asking it first; it answers the other relays'
// requests in flight), and the cache and the origin close. Only the first
// call of Shutdown or Close does the work; the others wait for it.
func (s *Stack) Shutdown(ctx context.Context) error {
	var err error
	s.once.Do(func() {
		s.Edge.Drain()
		s.Cache.SetPeers(nil)
		err = s.Relay.Shutdown(ctx)
		hctx, cancel := context.WithoutCancel(ctx), func() {}
		if d, ok := ctx.Deadline(); ok {
			hctx, cancel = context.WithTimeout(hctx, max(time.Second, time.Until(d)))
		}
		defer cancel()
		err = errors.Join(err, s.Edge.Shutdown(hctx))
		s.closeMesh()
		err = errors.Join(err, s.Cache.Close(), s.closeOrigin())
		s.stopOps()
	})
	return err
}

// Close stops at once: Shutdown with no time for transfers in flight (the
// HTTP server still gets its second).
func (s *Stack) Close() error {
	ctx, cancel := context.WithDeadline(context.Background(), time.Now())
	defer cancel()
	return s.Shutdown(ctx)
}

// closeMesh leaves the cluster, if in one: the cache stops asking it,
// then it closes (it waits for its work for other relays).
func (s *Stack) closeMesh() {
	if s.Mesh != nil {
		s.Cache.SetTier(nil)
		s.Mesh.Close()
	}
}

// abort releases what New built before it failed.
func (s *Stack) abort() {
	if s.Relay != nil {
		s.Cache.SetPeers(nil)
		s.Relay.Close()
	}
	s.closeMesh()
	s.Cache.Close()
	s.closeOrigin()
	s.stopOps()
}
