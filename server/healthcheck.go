package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/p2pcache/p2pcache/server/internal/config"
)

const healthcheckUsage = `Usage: p2pcache healthcheck [--url URL] [--timeout 2s] [relay flags]

GETs the relay's /readyz and exits 0 on 200, 1 otherwise (not ready, not
listening, too slow), 2 on a bad command line: the container image's
HEALTHCHECK. Without --url it finds the relay the way the relay finds its
configuration (the flags after these, P2PCACHE_* variables, --config): the
--listen address, 0.0.0.0 and :: asked on loopback, https when TLS is on
(--tls-cert or --acme-domains). A loopback address's certificate is not
verified (it names the domain, not 127.0.0.1); with --acme-domains the
first domain is sent as the server name.

Flags:
  --url URL         the readiness URL (default: from the configuration, as above)
  --timeout DURATION  give up after this long (default 2s)`

// runHealthcheck is the "healthcheck" subcommand.
func runHealthcheck(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("p2pcache healthcheck", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	target := fs.String("url", "", "")
	timeout := fs.Duration("timeout", 2*time.Second, "")
	own, rest := splitHealthcheckArgs(args)
	if err := fs.Parse(own); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stdout, healthcheckUsage)
			return 0
		}
		fmt.Fprintf(stderr, "p2pcache healthcheck: %v\n%s\n", err, healthcheckUsage)
		return 2
	}
	if *timeout <= 0 {
		fmt.Fprintf(stderr, "p2pcache healthcheck: --timeout %v: want a positive duration\n", *timeout)
		return 2
	}
	cfg, err := config.Parse(rest)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprintln(stdout, healthcheckUsage)
		return 0
	case errors.Is(err, config.ErrUsage), errors.Is(err, config.ErrVersion):
		fmt.Fprintf(stderr, "p2pcache healthcheck: %v\n", err)
		return 2
	case err != nil && *target == "":
		fmt.Fprintf(stderr, "p2pcache healthcheck: the relay's configuration: %v\n", err)
		return 1
	}
	u := *target
	if u == "" {
		u = readyURL(cfg)
	}
	pu, err := url.Parse(u)
	if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
		fmt.Fprintf(stderr, "p2pcache healthcheck: --url %q: want http(s)://host:port/path\n", u)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	status, body, err := probe(ctx, pu, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "p2pcache healthcheck: %s: %v\n", u, err)
		return 1
	}
	if status != http.StatusOK {
		fmt.Fprintf(stderr, "p2pcache healthcheck: %s: %d %s\n", u, status, body)
		return 1
	}
	fmt.Fprintf(stdout, "ok: %s: %d %s\n", u, status, body)
	return 0
}

// splitHealthcheckArgs takes the healthcheck's own flags (--url,
// --timeout, -h) out of args; the rest are the relay's.
func splitHealthcheckArgs(args []string) (own, rest []string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		switch {
		case !strings.HasPrefix(a, "-"):
			rest = append(rest, a)
		case name == "h" || name == "help":
			own = append(own, a)
		case name == "url" || name == "timeout":
			own = append(own, a)
			if !hasValue && i+1 < len(args) {
				i++
				own = append(own, args[i])
			}
		default:
			rest = append(rest, a)
		}
	}
	return own, rest
}

// readyURL is the relay's /readyz as cfg places it: the --listen address,
// an unspecified host asked on loopback, https with TLS on.
func readyURL(cfg config.Config) string {
	host, port, _ := net.SplitHostPort(cfg.Listen)
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
		if ip != nil && ip.To4() == nil {
			host = "::1"
		}
	}
	scheme := "http"
	if cfg.TLS() {
		scheme = "https"
	}
	return scheme + "://" + net.JoinHostPort(host, port) + "/readyz"
}

// isLoopback: localhost or a loopback IP.
func isLoopback(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}

// probe GETs u once, following no redirect, and returns the status and
// the start of the body.
func probe(ctx context.Context, u *url.URL, cfg config.Config) (int, string, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if isLoopback(u.Hostname()) {
		tc.InsecureSkipVerify = true // the certificate names the domain, not loopback
		if len(cfg.ACMEDomains) > 0 {
			tc.ServerName = cfg.ACMEDomains[0] // ACME answers only the names it has certificates for
		}
	}
	tr := &http.Transport{TLSClientConfig: tc, DisableKeepAlives: true, Proxy: nil}
	defer tr.CloseIdleConnections()
	client := &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
	return resp.StatusCode, strings.TrimSpace(string(b)), nil
}
