package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestOpsSettings: the operator settings parse, from the command line and
// a file, and the ones that go together are checked together.
func TestOpsSettings(t *testing.T) {
	clearEnv(t)
	dir := t.TempDir()
	tests := []struct {
		name    string
		args    []string
		check   func(c Config) bool
		wantErr string // a substring of the error; "" for none
	}{
		{"defaults", nil, func(c Config) bool {
			return c.ICEListen == "127.0.0.1:7881" && !c.Shared() && !c.TLS() && c.LogFormat == "text" && !c.AccessLog &&
				c.MetricsListen == "" && !c.PProf && c.TLSReloadInterval == 10*time.Second
		}, ""},
		{"shared", []string{"--ice-listen", "shared"}, func(c Config) bool { return c.Shared() }, ""},
		{"ice-listen neither", []string{"--ice-listen", "both"}, nil, `--ice-listen "both": want host:port`},
		{"json logs, access log", []string{"--log-format", "json", "--access-log", "on"}, func(c Config) bool { return c.LogFormat == "json" && c.AccessLog }, ""},
		{"log format", []string{"--log-format", "xml"}, nil, `--log-format "xml": want text or json`},
		{"empty log format", []string{"--log-format", ""}, nil, `--log-format "": want text or json`},
		{"metrics and pprof", []string{"--metrics-listen", "127.0.0.1:9090", "--pprof", "on"}, func(c Config) bool { return c.MetricsListen == "127.0.0.1:9090" && c.PProf }, ""},
		{"pprof alone", []string{"--pprof", "on"}, nil, "--pprof needs --metrics-listen"},
		{"metrics on listen", []string{"--metrics-listen", "127.0.0.1:8080"}, nil, "--metrics-listen must differ from --listen"},
		{"acme", []string{"--acme-domains", "relay.example.com, cdn.Example.com", "--acme-cache", dir, "--acme-email", "ops@example.com", "--acme-http-listen", ":80"},
			func(c Config) bool {
				return reflect.DeepEqual(c.ACMEDomains, []string{"relay.example.com", "cdn.Example.com"}) && c.TLS() && c.ACMECache == dir && c.ACMEEmail == "ops@example.com" && c.ACMEHTTPListen == ":80"
			}, ""},
		{"acme without a cache", []string{"--acme-domains", "relay.example.com"}, nil, "--acme-domains needs --acme-cache"},
		{"acme and files", []string{"--acme-domains", "relay.example.com", "--acme-cache", dir, "--tls-cert", "c.pem", "--tls-key", "k.pem"}, nil, "--acme-domains and --tls-cert: choose one"},
		{"acme wildcard", []string{"--acme-domains", "*.example.com"}, nil, `--acme-domains "*.example.com": want a domain name`},
		{"acme IP", []string{"--acme-domains", "203.0.113.1"}, nil, "want a domain name"},
		{"acme with port", []string{"--acme-domains", "relay.example.com:443"}, nil, "want a domain name"},
		{"acme email alone", []string{"--acme-email", "ops@example.com"}, nil, "--acme-email needs --acme-domains"},
		{"acme bad email", []string{"--acme-email", "ops"}, nil, `--acme-email "ops": want an address`},
		{"acme http alone", []string{"--acme-http-listen", ":80"}, nil, "--acme-http-listen needs --acme-domains"},
		{"acme cache alone (the image sets it)", []string{"--acme-cache", dir}, func(c Config) bool { return !c.TLS() }, ""},
		{"reload off", []string{"--tls-reload-interval", "0"}, func(c Config) bool { return c.TLSReloadInterval == 0 }, ""},
		{"reload negative", []string{"--tls-reload-interval", "-1s"}, nil, "--tls-reload-interval"},
	}
	for _, tt := range tests {
		c, err := Parse(tt.args)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.wantErr == "" && !tt.check(c):
			t.Errorf("%s: parsed as %+v", tt.name, c)
		case tt.wantErr != "" && (err == nil || !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%s: error %v, want an ErrConfig with %q", tt.name, err, tt.wantErr)
		}
	}
}

// TestOpsSettingsFile: the same keys in a config file, lists as YAML
// sequences.
func TestOpsSettingsFile(t *testing.T) {
	clearEnv(t)
	dir := t.TempDir()
	f := writeFile(t, "ice-listen: shared\nlog-format: json\naccess-log: on\nmetrics-listen: 127.0.0.1:9090\npprof: on\n"+
		"acme-domains: [relay.example.com, cdn.example.com]\nacme-cache: "+dir+"\ntls-reload-interval: 1m\n")
	c, err := Parse([]string{"--config", f})
	if err != nil {
		t.Fatal(err)
	}
	if !c.Shared() || c.LogFormat != "json" || !c.AccessLog || c.MetricsListen != "127.0.0.1:9090" || !c.PProf ||
		len(c.ACMEDomains) != 2 || c.TLSReloadInterval != time.Minute {
		t.Fatalf("parsed as %+v", c)
	}
	f = writeFile(t, "log-format: yaml\n")
	if _, err := Parse([]string{"--config", f}); err == nil || !strings.Contains(err.Error(), ":1: --log-format") {
		t.Fatalf("bad log-format in a file: %v, want its line", err)
	}
}
