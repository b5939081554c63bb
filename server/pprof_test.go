package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestPProfNoCmdline: the profiles are served, but not the command line,
// which may hold --auth-secret.
func TestPProfNoCmdline(t *testing.T) {
	mux := http.NewServeMux()
	handlePProf(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	defer srv.Client().CloseIdleConnections()
	for _, tc := range []struct {
		path   string
		status int
	}{
		{"/debug/pprof/", 200},
		{"/debug/pprof/heap?debug=1", 200},
		{"/debug/pprof/cmdline", 404},
		{"/debug/pprof/cmdline?x=1", 404},
	} {
		resp, err := srv.Client().Get(srv.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("GET %s: %d, want %d", tc.path, resp.StatusCode, tc.status)
		}
		if strings.Contains(string(body), "-test.") {
			t.Errorf("GET %s shows the command line", tc.path)
		}
	}
}

// TestDebugAddrLoopbackOnly: a public --debug-addr is refused before
// anything listens, unless --debug-addr-allow-public. (The lone --tls-cert
// makes a relay that took the address fail too, rather than serve.)
func TestDebugAddrLoopbackOnly(t *testing.T) {
	code, out, errOut := runCLI("--debug-addr", "0.0.0.0:0", "--tls-cert", "cert.pem")
	if code != 2 || out != "" || !strings.Contains(errOut, "--debug-addr 0.0.0.0:0 is not a loopback address") {
		t.Fatalf("exit %d, stdout %q, stderr %q; want 2 and the refusal", code, out, errOut)
	}
}
