package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/p2pcache/p2pcache/relay/peer"
	"github.com/p2pcache/p2pcache/server/internal/config"
	"github.com/p2pcache/p2pcache/server/internal/stack"
	"github.com/p2pcache/p2pcache/server/internal/testcert"
	"github.com/p2pcache/p2pcache/server/portmux"
)

func servedCN(t testing.TB, addr string) string {
	t.Helper()
	c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].Subject.CommonName
}

// inProcess runs the relay as serve does (sockets, stack, side servers),
// in the test's process, for cfg; it returns the HTTP base URL and the
// parts. Everything stops at cleanup.
func inProcess(t testing.TB, cfg config.Config) (string, *sockets, *stack.Stack) {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	socks, err := openSockets(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	s, err := stack.New(cfg, buildInfo(), log, socks.ice, socks.collectors()...)
	if err != nil {
		socks.close()
		t.Fatal(err)
	}
	side := startSideServers(socks, s, cfg, log)
	served := make(chan error, 1)
	go func() { served <- s.Serve(socks.http) }()
	s.Started()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
		side.stop()
		<-served
	})
	scheme := "http"
	if s.TLS {
		scheme = "https"
	}
	return scheme + "://" + socks.public.Addr().String(), socks, s
}

// TestReadyURL: healthcheck's default URL follows --listen and TLS.
func TestReadyURL(t *testing.T) {
	for _, tt := range []struct {
		listen string
		tls    bool
		want   string
	}{
		{"0.0.0.0:8080", false, "http://127.0.0.1:8080/readyz"},
		{":8080", false, "http://127.0.0.1:8080/readyz"},
		{"[::]:443", true, "https://[::1]:443/readyz"},
		{"127.0.0.2:8443", true, "https://127.0.0.2:8443/readyz"},
		{"10.0.0.5:80", false, "http://10.0.0.5:80/readyz"},
		{"localhost:8080", false, "http://localhost:8080/readyz"},
	} {
		cfg := config.Default()
		cfg.Listen = tt.listen
		if tt.tls {
			cfg.ACMEDomains = []string{"relay.example.com"}
		}
		if got := readyURL(cfg); got != tt.want {
			t.Errorf("--listen %s, TLS %v: %s, want %s", tt.listen, tt.tls, got, tt.want)
		}
	}
}

// TestHealthcheckCommand: exit 0 against a ready relay (found through the
// relay's own flags or environment), 1 against a relay that is not ready
// or not there, 2 for a bad command line.
func TestHealthcheckCommand(t *testing.T) {
	defer http.DefaultClient.CloseIdleConnections()
	for _, k := range []string{"P2PCACHE_LISTEN", "P2PCACHE_CONFIG", "P2PCACHE_TLS_CERT", "P2PCACHE_ACME_DOMAINS"} {
		t.Setenv(k, "")
	}
	cfg := config.Default()
	cfg.Listen, cfg.ICEListen = "127.0.0.1:0", "shared"
	base, socks, s := inProcess(t, cfg)
	addr := socks.public.Addr().String()

	code, out, errOut := runCLI("healthcheck", "--listen", addr, "--ice-listen", "shared", "--timeout", "5s")
	if code != 0 || !strings.HasPrefix(out, "ok: "+base+"/readyz: 200") {
		t.Fatalf("ready relay: exit %d, %q %q", code, out, errOut)
	}
	t.Setenv("P2PCACHE_LISTEN", addr)
	if code, out, errOut := runCLI("healthcheck"); code != 0 {
		t.Fatalf("from P2PCACHE_LISTEN: exit %d, %q %q", code, out, errOut)
	}
	release := s.Edge.Unready("cut off")
	code, _, errOut = runCLI("healthcheck", "--url", base+"/readyz")
	release()
	if code != 1 || !strings.Contains(errOut, `503 {"reasons":["cut off"],"status":"unready"}`) {
		t.Fatalf("unready relay: exit %d, %q", code, errOut)
	}
	free := freePort(t)
	if code, _, errOut := runCLI("healthcheck", "--url", "http://"+free+"/readyz", "--timeout", "1s"); code != 1 || !strings.Contains(errOut, "refused") {
		t.Fatalf("no relay: exit %d, %q", code, errOut)
	}
	for _, args := range [][]string{{"--timeout"}, {"--timeout", "-1s"}, {"--url", "ftp://x/readyz"}, {"--bogus"}, {"stray"}} {
		if code, out, errOut := runCLI(append([]string{"healthcheck"}, args...)...); code != 2 || out != "" {
			t.Errorf("%q: exit %d, %q %q; want 2", args, code, out, errOut)
		}
	}
	if code, out, _ := runCLI("healthcheck", "--help"); code != 0 || !strings.HasPrefix(out, "Usage: p2pcache healthcheck") {
		t.Errorf("--help: exit %d, %q", code, out)
	}
}

// TestOnePort: with --ice-listen shared and TLS off, a Go peer's WebSocket
// and its ICE-TCP connection share the one port (the selected pair's
// remote port is the HTTP port), the file arrives verified, and HTTP works
// beside it.
func TestOnePort(t *testing.T) {
	defer http.DefaultClient.CloseIdleConnections()
	cfg := config.Default()
	cfg.Listen, cfg.ICEListen = "127.0.0.1:0", "shared"
	base, socks, _ := inProcess(t, cfg)
	port := socks.public.Addr().(*net.TCPAddr).Port
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := peer.Dial(ctx, base, peer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	pair, err := p.SelectedCandidatePair()
	if err != nil || pair == nil {
		t.Fatalf("no selected pair: %v", err)
	}
	if pair.Remote.Port != uint16(port) || pair.Remote.Protocol.String() != "tcp" {
		t.Fatalf("ICE pair %s <-> %s: want the relay's side on TCP port %d", pair.Local, pair.Remote, port)
	}
	b, err := p.Fetch(ctx, "index.json")
	if err != nil || len(b) == 0 {
		t.Fatalf("fetch over the shared port: %d bytes, %v", len(b), err)
	}
	resp, err := http.Get(base + "/files/index.json")
	if err != nil {
		t.Fatal(err)
	}
	hb, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(hb, b) {
		t.Fatalf("HTTP on the same port: %d %d bytes", resp.StatusCode, len(hb))
	}
	st := socks.mux.Stats()
	if st.Handed[portmux.STUN] < 1 || st.Handed[portmux.HTTP] < 2 || st.Handed[portmux.TLS] != 0 {
		t.Errorf("the shared port handed over %v", st.Handed)
	}
	t.Logf("ICE pair %s <-> %s; shared port handed over %v", pair.Local, pair.Remote, st.Handed)
}

// startChild runs the relay binary (this test binary, see TestMain) with
// args and waits until its log says it is ready; it returns the log so far
// and a stop func (SIGTERM, wait) that cleanup also runs.
func startChild(t *testing.T, args ...string) (logs func() string, signal func(os.Signal)) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), runMainEnv+"=1")
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var mu = make(chan struct{}, 1)
	var buf bytes.Buffer
	ready := make(chan struct{})
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(pr)
		once := false
		for sc.Scan() {
			mu <- struct{}{}
			buf.WriteString(sc.Text() + "\n")
			<-mu
			if !once && strings.Contains(sc.Text(), "p2pcache relay ready") {
				once = true
				close(ready)
			}
		}
	}()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); pw.Close() }()
	logs = func() string {
		mu <- struct{}{}
		defer func() { <-mu }()
		return buf.String()
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		<-scanned
		if t.Failed() {
			t.Logf("relay log:\n%s", logs())
		}
	})
	select {
	case <-ready:
	case err := <-exited:
		exited <- err
		t.Fatalf("relay exited at start: %v\n%s", err, logs())
	case <-time.After(time.Minute):
		t.Fatalf("relay not ready after a minute:\n%s", logs())
	}
	return logs, func(s os.Signal) { cmd.Process.Signal(s) }
}

// TestOnePortTLS: the relay binary with --ice-listen shared and TLS: the
// Go peer (p2pcache fetch, trusting the test certificate through
// SSL_CERT_FILE) gets its file over an ICE pair on the HTTPS port;
// healthcheck finds the relay from the same flags; SIGHUP reloads the
// certificate for new handshakes while an open WSS WebSocket stays up.
func TestOnePortTLS(t *testing.T) {
	dir := t.TempDir()
	cf, kf := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	testcert.Write(t, cf, kf, "first")
	addr := freePort(t)
	flags := []string{"--listen", addr, "--ice-listen", "shared", "--tls-cert", cf, "--tls-key", kf, "--tls-reload-interval", "0"}
	logs, signal := startChild(t, append(flags, "--log-level", "debug")...)
	port := addr[strings.LastIndexByte(addr, ':')+1:]

	// The Go peer, as a child: it trusts the certificate via SSL_CERT_FILE.
	fetch := exec.Command(os.Args[0], "fetch", "-relay", "https://"+addr, "-timeout", "30s", "/index.json")
	fetch.Env = append(os.Environ(), runMainEnv+"=1", "SSL_CERT_FILE="+cf)
	out, err := fetch.CombinedOutput()
	if err != nil {
		t.Fatalf("p2pcache fetch over one port with TLS: %v\n%s", err, out)
	}
	pair := regexp.MustCompile(`ice pair: .* <-> (.*)`).FindStringSubmatch(string(out))
	if pair == nil || !strings.Contains(pair[1], "tcp4 host 127.0.0.1:"+port) {
		t.Fatalf("ICE pair not on the HTTPS port %s:\n%s", port, out)
	}
	if !regexp.MustCompile(`index\.json: \d+ bytes, .* verified`).Match(out) {
		t.Fatalf("no verified file:\n%s", out)
	}
	t.Logf("fetch: %s", strings.TrimSpace(string(out)))

	// healthcheck from the relay's own flags: https on loopback.
	if code, hout, herr := runCLI(append([]string{"healthcheck"}, flags...)...); code != 0 {
		t.Fatalf("healthcheck: exit %d, %q %q", code, hout, herr)
	}

	// An open WSS WebSocket, then a new certificate and SIGHUP.
	if cn := servedCN(t, addr); cn != "first" {
		t.Fatalf("certificate %q", cn)
	}
	ws := testcert.DialWSS(t, addr)
	ws.Ping(t, "before")
	testcert.Write(t, cf, kf, "second")
	time.Sleep(50 * time.Millisecond)
	if cn := servedCN(t, addr); cn != "first" {
		t.Fatalf("reloaded without SIGHUP (--tls-reload-interval 0): %q", cn)
	}
	signal(syscall.SIGHUP)
	deadline := time.Now().Add(10 * time.Second)
	for servedCN(t, addr) != "second" {
		if time.Now().After(deadline) {
			t.Fatalf("SIGHUP did not reload the certificate:\n%s", logs())
		}
		time.Sleep(20 * time.Millisecond)
	}
	ws.Ping(t, "after") // the connection made under the old certificate is still up
	if !strings.Contains(logs(), "TLS certificate reloaded") {
		t.Errorf("no reload in the log")
	}
}

// BenchmarkConnect: a Go peer's connect (WebSocket, offer/answer, ICE-TCP,
// DTLS, SCTP, data channel open) to a relay with two ports and with one
// (--ice-listen shared), TLS off. go test -run '^$' -bench Connect
// -benchtime 20x ./server/
func BenchmarkConnect(b *testing.B) {
	for _, mode := range []string{"two-ports", "one-port"} {
		b.Run(mode, func(b *testing.B) {
			cfg := config.Default()
			cfg.Listen, cfg.ICEListen = "127.0.0.1:0", "127.0.0.1:0"
			if mode == "one-port" {
				cfg.ICEListen = "shared"
			}
			base, _, s := inProcess(b, cfg)
			var total, ws, dc, gone time.Duration
			b.ResetTimer()
			for range b.N {
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				start := time.Now()
				p, err := peer.Dial(ctx, base, peer.Options{NoServe: true})
				cancel()
				if err != nil {
					b.Fatal(err)
				}
				total += time.Since(start)
				tm := p.Timings()
				ws += tm.WebSocket
				dc += tm.DataChannel - tm.WebSocket
				closed := time.Now()
				p.Close()
				for s.Relay.PeerCount() > 0 {
					time.Sleep(time.Millisecond)
				}
				gone += time.Since(closed)
			}
			n := time.Duration(b.N)
			b.ReportMetric(float64((total/n).Microseconds())/1000, "ms/connect")
			b.ReportMetric(float64((ws/n).Microseconds())/1000, "ms/websocket")
			b.ReportMetric(float64((dc/n).Microseconds())/1000, "ms/ws-to-datachannel")
			b.ReportMetric(float64((gone/n).Microseconds())/1000, "ms/close-to-gone")
		})
	}
}

// TestDeployConfigExample: deploy/config.example.yaml, as shipped, is a
// configuration this relay takes: every key exists and every value passes.
func TestDeployConfigExample(t *testing.T) {
	for _, k := range []string{"P2PCACHE_CONFIG", "P2PCACHE_LISTEN", "P2PCACHE_ICE_LISTEN", "P2PCACHE_LOG_FORMAT", "P2PCACHE_METRICS_LISTEN"} {
		t.Setenv(k, "")
	}
	cfg, err := config.Parse([]string{"--config", "../deploy/config.example.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MetricsListen == "" || cfg.LogFormat != "json" || len(cfg.TrustedProxies) == 0 {
		t.Errorf("the example read as %+v", cfg)
	}
}

// TestSideListeners: --metrics-listen serves /metrics (pprof with --pprof)
// while the public /metrics is 404; --acme-http-listen answers HTTP-01
// challenges and redirects the rest; with --acme-domains the shared port's
// TLS serves the certificate ACME keeps in --acme-cache (no CA is asked: it
// is there and valid), and healthcheck names the domain to get it; JSON
// logs are JSON.
func TestSideListeners(t *testing.T) {
	defer http.DefaultClient.CloseIdleConnections()
	dir := t.TempDir()
	cf, kf := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	testcert.Write(t, cf, kf, "from-acme-cache", "127.0.0.1", "relay.example.com")
	c, _ := os.ReadFile(cf)
	k, _ := os.ReadFile(kf)
	cache := filepath.Join(dir, "acme")
	os.Mkdir(cache, 0o700)
	if err := os.WriteFile(filepath.Join(cache, "relay.example.com"), append(k, c...), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, pprofOn := range []bool{true, false} {
		cfg := config.Default()
		cfg.Listen, cfg.ICEListen, cfg.MetricsListen, cfg.PProf = "127.0.0.1:0", "shared", "127.0.0.1:0", pprofOn
		cfg.ACMEDomains, cfg.ACMECache, cfg.ACMEHTTPListen = []string{"relay.example.com"}, cache, "127.0.0.1:0"
		base, socks, _ := inProcess(t, cfg)
		addr := socks.public.Addr().String()

		conn, err := tls.Dial("tcp", addr, &tls.Config{ServerName: "relay.example.com", InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		if cn := conn.ConnectionState().PeerCertificates[0].Subject.CommonName; cn != "from-acme-cache" {
			t.Fatalf("certificate %q, want ACME's cached one", cn)
		}
		conn.Close()
		if code, out, errOut := runCLI("healthcheck", "--url", base+"/readyz", "--acme-domains", "relay.example.com", "--acme-cache", cache); code != 0 {
			t.Fatalf("healthcheck with ACME: exit %d, %q %q", code, out, errOut)
		}

		tr := &http.Transport{TLSClientConfig: &tls.Config{ServerName: "relay.example.com", InsecureSkipVerify: true}}
		client := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		get := func(url string) (int, string) {
			t.Helper()
			resp, err := client.Get(url)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, resp.Header.Get("Location") + string(b)
		}
		if code, _ := get(base + "/metrics"); code != 404 {
			t.Errorf("public /metrics: %d, want 404", code)
		}
		metrics := "http://" + socks.metrics.Addr().String()
		if code, body := get(metrics + "/metrics"); code != 200 || !strings.Contains(body, "p2pcache_portmux_connections_total{result=\"tls\"}") {
			t.Errorf("--metrics-listen /metrics: %d", code)
		}
		wantPProf := 404
		if pprofOn {
			wantPProf = 200
		}
		if code, _ := get(metrics + "/debug/pprof/"); code != wantPProf {
			t.Errorf("pprof %v: /debug/pprof/ %d, want %d", pprofOn, code, wantPProf)
		}
		acme := "http://" + socks.acme.Addr().String()
		req, _ := http.NewRequest("GET", acme+"/.well-known/acme-challenge/nothing", nil)
		req.Host = "relay.example.com" // the CA asks for the domain
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 404 {
			t.Errorf("HTTP-01 for no token: %d, want 404", resp.StatusCode)
		}
		if code, _ := get(acme + "/.well-known/acme-challenge/nothing"); code != 403 {
			t.Errorf("HTTP-01 for a host not listed: %d, want 403", code)
		}
		if code, loc := get(acme + "/files/x"); code != 302 || !strings.HasPrefix(loc, "https://") {
			t.Errorf("--acme-http-listen /files/x: %d %q, want a redirect to https", code, loc)
		}
		tr.CloseIdleConnections()
	}

	var buf bytes.Buffer
	cfg := config.Default()
	cfg.LogFormat = "json"
	newLogger(cfg, &buf).Info("hello", "k", 1)
	if !strings.HasPrefix(buf.String(), `{"time":`) || !strings.Contains(buf.String(), `"msg":"hello","k":1}`) {
		t.Errorf("--log-format json wrote %q", buf.String())
	}
}
