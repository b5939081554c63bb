package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// moduleRoot finds the directory holding this module's go.mod, walking up
// from the working directory.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.Contains(string(b), "module github.com/p2pcache/p2pcache\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside the p2pcache module (no go.mod naming github.com/p2pcache/p2pcache above the working directory); use --relay-bin")
		}
		dir = parent
	}
}

// buildRelay builds ./server into dir and returns the binary's path.
func buildRelay(ctx context.Context, dir string) (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "p2pcache")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./server")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build ./server: %w\n%s", err, out)
	}
	return bin, nil
}

// relaySetup is what every relay process of the bench gets.
type relaySetup struct {
	bin        string
	originURL  string
	cacheBytes int64
	peerFetch  string
	oneWay     time.Duration // delay proxy, per direction
	bandwidth  float64
	tls        *benchTLS  // the self-signed certificate for the HTTPS baseline
	extraArgs  []string   // --relay-args
	mesh       *relayMesh // a member of a --relays cluster; nil alone
}

// relayProc is a relay the bench started (or one it targets with --relay:
// then cmd is nil and there are no process metrics).
type relayProc struct {
	cmd       *exec.Cmd
	pid       int
	direct    string // http://addr the bench scrapes (never delayed)
	public    string // http://addr peers and HTTP clients use (the proxy's, with --rtt)
	iceAddr   string // the relay's ICE-TCP listen address
	proxies   []*delayProxy
	logs      *tailBuffer
	exited    chan struct{}
	exitErr   error
	startedAt time.Time
	client    *http.Client // for /healthz and /metrics (trusts the bench's certificate)
}

// startRelay starts the relay on free loopback ports. Behind the delay
// proxy the relay listens on 127.0.0.1 and advertises 127.0.0.2 in its ICE
// candidates (--public-ip rewrites the IP only, so the proxy listens on the
// same port number on 127.0.0.2). A port taken between choosing and binding
// is retried with new ports.
func startRelay(ctx context.Context, s relaySetup, withTLS bool) (*relayProc, error) {
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		rp, err := startRelayOnce(ctx, s, withTLS)
		if err == nil {
			return rp, nil
		}
		lastErr = err
		if ctx.Err() != nil {
			break
		}
	}
	return nil, lastErr
}

func startRelayOnce(ctx context.Context, s relaySetup, withTLS bool) (*relayProc, error) {
	proxied := s.oneWay > 0 || s.bandwidth > 0
	rp := &relayProc{logs: &tailBuffer{max: 16 << 10}, exited: make(chan struct{}), client: &http.Client{Timeout: 10 * time.Second}}
	scheme := "http://"
	if withTLS {
		if s.tls == nil {
			return nil, errors.New("HTTPS relay without a certificate")
		}
		scheme = "https://"
		rp.client.Transport = &http.Transport{TLSClientConfig: s.tls.clientConfig()}
	}
	var listen, iceListen string
	args := []string{}
	if proxied {
		// The proxies hold 127.0.0.2:P; the relay binds 127.0.0.1:P and
		// advertises 127.0.0.2 (--public-ip rewrites the IP, not the port).
		// Not the other way round: pion's ICE-TCP mux matches accepted
		// connections by their local IP against the interface addresses
		// it enumerates (127.0.0.1 on lo), so a relay bound to 127.0.0.2
		// never sees its ICE-TCP connections.
		httpLn, err := listenLoopback("127.0.0.2")
		if err != nil {
			return nil, err
		}
		iceLn, err := listenLoopback("127.0.0.2")
		if err != nil {
			httpLn.Close()
			return nil, err
		}
		hp := httpLn.Addr().(*net.TCPAddr).Port
		ip := iceLn.Addr().(*net.TCPAddr).Port
		listen = net.JoinHostPort("127.0.0.1", strconv.Itoa(hp))
		iceListen = net.JoinHostPort("127.0.0.1", strconv.Itoa(ip))
		rp.proxies = []*delayProxy{
			newDelayProxy(httpLn, listen, s.oneWay, s.bandwidth),
			newDelayProxy(iceLn, iceListen, s.oneWay, s.bandwidth),
		}
		rp.public = scheme + httpLn.Addr().String()
		args = append(args, "--public-ip", "127.0.0.2")
	} else {
		hp, err := freePort("127.0.0.1")
		if err != nil {
			return nil, err
		}
		ip, err := freePort("127.0.0.1")
		if err != nil {
			return nil, err
		}
		listen = net.JoinHostPort("127.0.0.1", strconv.Itoa(hp))
		iceListen = net.JoinHostPort("127.0.0.1", strconv.Itoa(ip))
		rp.public = scheme + listen
	}
	rp.direct = scheme + listen
	rp.iceAddr = iceListen
	args = append(args,
		"--listen", listen,
		"--ice-listen", iceListen,
		"--origin", s.originURL,
		"--cache-size", strconv.FormatInt(s.cacheBytes, 10),
		"--peer-fetch", s.peerFetch,
		"--log-level", "warn",
		// The bench connects every peer from one IP: lift the per-IP
		// limits (WebSocket connects, default 10/s; /files requests,
		// default 100/s; peers, default 32) and the peer cap.
		"--ws-rate", "100000",
		"--http-rate", "1000000",
		"--max-peers-per-ip", "100000",
		"--max-peers", "100000",
	)
	if withTLS {
		args = append(args, "--tls-cert", s.tls.certFile, "--tls-key", s.tls.keyFile)
	}
	if m := s.mesh; m != nil {
		args = append(args, "--nats", "embedded", "--relay-id", m.id, "--public-url", rp.public,
			"--nats-cluster-listen", m.clusterListen, "--nats-routes", strings.Join(m.routes, ","))
	}
	args = append(args, s.extraArgs...)
	cmd := exec.Command(s.bin, args...)
	cmd.Stdout = rp.logs
	cmd.Stderr = rp.logs
	// Only the relay's own environment variables would change its flags; a
	// P2PCACHE_* in the bench's environment must not leak into the run.
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "P2PCACHE_") {
			cmd.Env = append(cmd.Env, e)
		}
	}
	if err := cmd.Start(); err != nil {
		rp.closeProxies()
		return nil, fmt.Errorf("start relay %s: %w", s.bin, err)
	}
	rp.cmd, rp.pid, rp.startedAt = cmd, cmd.Process.Pid, time.Now()
	go func() {
		rp.exitErr = cmd.Wait()
		close(rp.exited)
	}()
	if err := rp.waitReady(ctx, 30*time.Second); err != nil {
		rp.stop()
		return nil, err
	}
	return rp, nil
}

// waitReady polls /healthz until the relay answers.
func (rp *relayProc) waitReady(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	client := &http.Client{Timeout: time.Second, Transport: rp.client.Transport}
	for {
		select {
		case <-rp.exited:
			return fmt.Errorf("relay exited at start (%v): %s", rp.exitErr, strings.TrimSpace(rp.logs.String()))
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		resp, err := client.Get(rp.direct + "/healthz")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("relay not ready after %v: %s", limit, strings.TrimSpace(rp.logs.String()))
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// stop ends the relay (SIGTERM, then SIGKILL after 10 s) and its proxies.
func (rp *relayProc) stop() {
	if rp.cmd != nil {
		select {
		case <-rp.exited:
		default:
			rp.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-rp.exited:
			case <-time.After(10 * time.Second):
				rp.cmd.Process.Kill()
				<-rp.exited
			}
		}
	}
	rp.closeProxies()
}

func (rp *relayProc) closeProxies() {
	for _, p := range rp.proxies {
		p.Close()
	}
	rp.proxies = nil
}

// alive reports whether a started relay is still running.
func (rp *relayProc) alive() bool {
	if rp.cmd == nil {
		return true
	}
	select {
	case <-rp.exited:
		return false
	default:
		return true
	}
}

// freePort asks the kernel for a free port on ip.
func freePort(ip string) (int, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append(t.b[:0], t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}

// metrics is one scrape of the relay's /metrics: series (name plus labels
// exactly as exposed, e.g. p2pcache_chunks_served_total{source="cache"}) to
// value.
type metrics map[string]float64

func scrapeMetrics(ctx context.Context, client *http.Client, base string) (metrics, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scrape %s/metrics: %w", base, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scrape %s/metrics: %s", base, resp.Status)
	}
	return parseMetrics(resp.Body)
}

// parseMetrics reads the Prometheus text exposition format: comments are
// skipped; each sample line is `name{labels} value [timestamp]`.
func parseMetrics(r io.Reader) (metrics, error) {
	m := metrics{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		series, rest, err := splitSeries(line)
		if err != nil {
			return nil, err
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			return nil, fmt.Errorf("metrics: no value in %q", line)
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			return nil, fmt.Errorf("metrics: value of %q: %w", series, err)
		}
		m[series] = v
	}
	return m, sc.Err()
}

// splitSeries splits a sample line after its series (name and labels; label
// values are quoted and may hold spaces, braces and escaped quotes).
func splitSeries(line string) (series, rest string, err error) {
	i := strings.IndexAny(line, "{ \t")
	if i < 0 {
		return "", "", fmt.Errorf("metrics: bad line %q", line)
	}
	if line[i] != '{' {
		return line[:i], line[i:], nil
	}
	inQuote := false
	for j := i + 1; j < len(line); j++ {
		switch c := line[j]; {
		case inQuote && c == '\\':
			j++
		case c == '"':
			inQuote = !inQuote
		case !inQuote && c == '}':
			return line[:j+1], line[j+1:], nil
		}
	}
	return "", "", fmt.Errorf("metrics: unterminated labels in %q", line)
}

// get returns a series' value: name alone, or name with one label.
func (m metrics) get(name string, label ...string) float64 {
	if len(label) == 2 {
		return m[name+"{"+label[0]+"=\""+label[1]+"\"}"]
	}
	return m[name]
}

// delta is m − before for one series.
func (m metrics) delta(before metrics, name string, label ...string) float64 {
	return m.get(name, label...) - before.get(name, label...)
}
