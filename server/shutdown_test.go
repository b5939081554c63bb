package main

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"go.uber.org/goleak"

	"github.com/p2pcache/p2pcache/relay/peer"
)

// runMainEnv makes the test binary act as the relay binary (see TestMain),
// so the SIGTERM test runs the real main path in its own process.
const runMainEnv = "P2PCACHE_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	goleak.VerifyTestMain(m,
		// fasthttp's process-wide Date ticker and its worker-pool cleaner
		// (which notices a stopped server only after a 10 s sleep).
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.updateServerDate.func1"),
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*workerPool).Start.func2"),
	)
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestSIGTERM: on SIGTERM the relay stops taking peers, lets a transfer in
// flight finish, closes its peers and exits 0.
func TestSIGTERM(t *testing.T) {
	defer http.DefaultClient.CloseIdleConnections()
	dir := t.TempDir()
	file := bytes.Repeat([]byte("sigterm!"), 1<<20) // 8 MiB: still in flight when the signal lands
	os.WriteFile(filepath.Join(dir, "big.bin"), file, 0o644)
	httpAddr, iceAddr := freePort(t), freePort(t)
	var stderr bytes.Buffer
	logLevel := os.Getenv("P2PCACHE_TEST_LOG") // debug, to see the relay's side
	if logLevel == "" {
		logLevel = "info"
	}
	cmd := exec.Command(os.Args[0], "--listen", httpAddr, "--ice-listen", iceAddr, "--origin", dir,
		"--shutdown-timeout", "30s", "--log-level", logLevel)
	cmd.Env = append(os.Environ(), runMainEnv+"=1")
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("relay stderr:\n%s", stderr.String())
		}
	}()
	base := "http://" + httpAddr
	for start := time.Now(); ; time.Sleep(20 * time.Millisecond) {
		if resp, err := http.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			break
		}
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("relay exited at start: %v", err)
		default:
		}
		if time.Since(start) > time.Minute {
			t.Fatal("relay did not come up")
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	popts := peer.Options{}
	if os.Getenv("P2PCACHE_TEST_LOG") == "debug" {
		popts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	p, err := peer.Dial(ctx, base, popts)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	type result struct {
		b   []byte
		err error
	}
	fetched := make(chan result, 1)
	go func() {
		b, err := p.Fetch(ctx, "/big.bin")
		fetched <- result{b, err}
	}()
	// Signal once the transfer is under way.
	for p.BytesIn() < 1<<20 {
		time.Sleep(5 * time.Millisecond)
	}
	signalled := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	// New peers are refused while the transfer finishes (or the listener is
	// already gone, if it finished first).
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	if c, resp, err := d.Dial("ws"+strings.TrimPrefix(base, "http")+"/ws", nil); err == nil {
		c.Close()
		t.Error("a new WebSocket was accepted after SIGTERM")
	} else if resp != nil && resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("new WebSocket after SIGTERM: %d, want 503", resp.StatusCode)
	}

	r := <-fetched
	t.Logf("fetch returned %v after SIGTERM", time.Since(signalled))
	if r.err != nil || !bytes.Equal(r.b, file) {
		t.Fatalf("transfer in flight at SIGTERM: %d of %d bytes, %v", len(r.b), len(file), r.err)
	}
	select {
	case err := <-exited:
		exited <- err // for the deferred Wait
		if err != nil {
			t.Fatalf("relay exited with %v, want 0", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("relay still running 30 s after SIGTERM")
	}
	t.Logf("transfer finished and relay exited 0, %v after SIGTERM", time.Since(signalled).Round(time.Millisecond))
	// The relay closed the peer's connection.
	deadline := time.Now().Add(10 * time.Second)
	for p.Err() == nil && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if p.Err() == nil {
		t.Error("the peer's connection is still up after the relay exited")
	}
	if !strings.Contains(stderr.String(), "shutting down") {
		t.Errorf("no shutdown log line in:\n%s", stderr.String())
	}
}
