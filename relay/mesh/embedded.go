package mesh

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Embedded is a NATS server running in this process: the --nats embedded
// mode, and the servers of tests. Its client connections are in process
// (see Mesh) or on Listen; its routes make a cluster with other servers.
type Embedded struct {
	srv  *server.Server
	once sync.Once
}

// StartEmbedded starts a NATS server and waits, until ctx ends, for its
// listeners to be up. Routes to servers not up yet are retried in the
// background (a cluster's servers may start in any order).
func StartEmbedded(ctx context.Context, cfg EmbeddedConfig) (*Embedded, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	opts := &server.Options{
		ServerName: cfg.ServerName, // empty: the server's generated id
		NoSigs:     true,           // the process's signals are main's
	}
	switch {
	case cfg.Listen != "":
		opts.Host, opts.Port, _ = splitHostPort(cfg.Listen)
	case cfg.ClusterListen != "":
		// nats-server starts routing only once its client listener is up
		// (with DontListen it never does): listen on loopback.
		opts.Host, opts.Port = "127.0.0.1", server.RANDOM_PORT
	default:
		opts.DontListen = true
	}
	if cfg.ClusterListen != "" {
		host, port, _ := splitHostPort(cfg.ClusterListen)
		opts.Cluster = server.ClusterOpts{Name: cmp.Or(cfg.ClusterName, "p2pcache"), Host: host, Port: port}
		for _, r := range cfg.Routes {
			u, _ := parseRoute(r)
			opts.Routes = append(opts.Routes, u)
		}
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("%w: embedded server: %w", ErrNATS, err)
	}
	if cfg.Logger != nil {
		srv.SetLoggerV2(natsLogger{cfg.Logger}, false, false, false)
	}
	srv.Start()
	e := &Embedded{srv: srv}
	wait := 10 * time.Second
	if d, ok := ctx.Deadline(); ok {
		wait = time.Until(d)
	}
	if !srv.ReadyForConnections(wait) {
		e.Close()
		return nil, fmt.Errorf("%w: embedded server not ready within %v (ports in use?)", ErrNATS, wait)
	}
	return e, nil
}

// Server is the NATS server, for nats.InProcessServer and monitoring.
func (e *Embedded) Server() *server.Server { return e.srv }

// ClientURL is the nats:// URL of the client listener; "" without one.
func (e *Embedded) ClientURL() string {
	if e.srv.Addr() == nil {
		return ""
	}
	return e.srv.ClientURL()
}

// RouteURL is the nats-route:// URL of the route listener, for other
// servers' Routes; "" without one.
func (e *Embedded) RouteURL() string {
	a := e.srv.ClusterAddr()
	if a == nil {
		return ""
	}
	return "nats-route://" + net.JoinHostPort(a.IP.String(), strconv.Itoa(a.Port))
}

// NumRoutes is how many route connections the server has.
func (e *Embedded) NumRoutes() int { return e.srv.NumRoutes() }

// Close shuts the server down and waits for it. It is idempotent.
func (e *Embedded) Close() error {
	e.once.Do(func() {
		e.srv.Shutdown()
		e.srv.WaitForShutdown()
	})
	return nil
}

func (c *EmbeddedConfig) validate() error {
	if c.Listen != "" {
		if _, _, err := splitHostPort(c.Listen); err != nil {
			return fmt.Errorf("%w: embedded listen: %w", ErrBadConfig, err)
		}
	}
	if c.ClusterListen != "" {
		if _, _, err := splitHostPort(c.ClusterListen); err != nil {
			return fmt.Errorf("%w: embedded cluster listen: %w", ErrBadConfig, err)
		}
	} else if len(c.Routes) > 0 {
		return fmt.Errorf("%w: embedded routes without a cluster listen address", ErrBadConfig)
	}
	for _, r := range c.Routes {
		if _, err := parseRoute(r); err != nil {
			return fmt.Errorf("%w: embedded route: %w", ErrBadConfig, err)
		}
	}
	if c.ClusterName != "" && validID(c.ClusterName) != nil {
		return fmt.Errorf("%w: cluster name %q: letters, digits, '-' and '_'", ErrBadConfig, c.ClusterName)
	}
	if c.ServerName != "" && validID(c.ServerName) != nil {
		return fmt.Errorf("%w: server name %q: letters, digits, '-' and '_'", ErrBadConfig, c.ServerName)
	}
	return nil
}

// splitHostPort splits host:port; port 0 becomes NATS's "any free port".
func splitHostPort(s string) (string, int, error) {
	host, ps, err := net.SplitHostPort(s)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(ps)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("bad port in %q", s)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	return host, port, nil
}

// parseRoute parses nats-route://host:port, or host:port.
func parseRoute(s string) (*url.URL, error) {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "://") {
		s = "nats-route://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, err
	}
	if u.Hostname() == "" || u.Port() == "" {
		return nil, fmt.Errorf("route %q: want host:port", s)
	}
	return u, nil
}

// natsLogger sends the server's logs to slog: notices at debug level (a
// started server says a lot), warnings and errors as such.
type natsLogger struct{ l *slog.Logger }

func (n natsLogger) Noticef(format string, v ...any) { n.l.Debug(fmt.Sprintf(format, v...)) }
func (n natsLogger) Warnf(format string, v ...any)   { n.l.Warn(fmt.Sprintf(format, v...)) }
func (n natsLogger) Fatalf(format string, v ...any)  { n.l.Error(fmt.Sprintf(format, v...)) }
func (n natsLogger) Errorf(format string, v ...any)  { n.l.Error(fmt.Sprintf(format, v...)) }
func (n natsLogger) Debugf(format string, v ...any)  { n.l.Debug(fmt.Sprintf(format, v...)) }
func (n natsLogger) Tracef(format string, v ...any)  {}
