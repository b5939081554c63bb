package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestMeshSettings: the mesh settings parse, the ones that go together
// are checked together, and the relay id is derived from the public URL.
func TestMeshSettings(t *testing.T) {
	clearEnv(t)
	creds := filepath.Join(t.TempDir(), "relay.creds")
	os.WriteFile(creds, []byte("creds"), 0o600)
	const pub = "--public-url"
	tests := []struct {
		name    string
		args    []string
		check   func(c Config) bool
		wantErr string // a substring of the error; "" for none
	}{
		{"no mesh", nil, func(c Config) bool { return !c.Mesh() && !c.EmbeddedNATS() && c.MeshID() == "" }, ""},
		{"embedded, routes", []string{"--nats", "embedded", pub, "https://relay-1.example.com", "--nats-listen", "127.0.0.1:4222",
			"--nats-cluster-listen", "0.0.0.0:6222", "--nats-routes", "nats-route://10.0.0.1:6222, 10.0.0.2:6222", "--region", "eu-west"},
			func(c Config) bool {
				return c.Mesh() && c.EmbeddedNATS() && c.NATSListen == "127.0.0.1:4222" && c.NATSClusterListen == "0.0.0.0:6222" &&
					reflect.DeepEqual(c.NATSRoutes, []string{"nats-route://10.0.0.1:6222", "10.0.0.2:6222"}) && c.Region == "eu-west" &&
					c.MeshID() == "relay-1-example-com-443"
			}, ""},
		{"external", []string{"--nats", "nats://n1:4222,tls://n2.example.com:4222", pub, "http://127.0.0.1:8080/", "--nats-creds", creds},
			func(c Config) bool {
				return c.Mesh() && !c.EmbeddedNATS() && len(c.NATS) == 2 && c.MeshID() == "127-0-0-1-8080" && c.NATSCreds == creds
			}, ""},
		{"explicit id", []string{"--nats", "embedded", pub, "https://a.example", "--relay-id", "eu_1"}, func(c Config) bool { return c.MeshID() == "eu_1" }, ""},
		{"long host", []string{"--nats", "embedded", pub, "https://relay-7." + strings.Repeat("abcdefghij.", 8) + "example.com:8443"},
			func(c Config) bool {
				id := c.MeshID()
				return len(id) <= 64 && strings.HasPrefix(id, "relay-7-abcdefghij-") && strings.HasSuffix(id, "-8443") && checkRelayID(&base{}, id) == nil
			}, ""},
		{"ipv6 public url", []string{"--nats", "embedded", pub, "http://[::1]:9000"}, func(c Config) bool { return c.MeshID() == "1-9000" }, ""},
		{"no public url", []string{"--nats", "embedded"}, nil, "--nats needs --public-url"},
		{"public url alone", []string{pub, "https://a.example"}, nil, "need --nats"},
		{"region alone", []string{"--region", "eu"}, nil, "need --nats"},
		{"bad nats url", []string{"--nats", "http://n1:4222", pub, "https://a.example"}, nil, `--nats "http://n1:4222": want nats://host:port`},
		{"nats url without port", []string{"--nats", "nats://n1", pub, "https://a.example"}, nil, "want nats://host:port"},
		{"embedded and urls", []string{"--nats", "embedded,nats://n1:4222", pub, "https://a.example"}, nil, "--nats embedded goes alone"},
		{"bad public url", []string{"--nats", "embedded", pub, "relay.example.com"}, nil, `--public-url "relay.example.com": want the URL`},
		{"public url without a host", []string{"--nats", "embedded", pub, "http://:"}, nil, `--public-url "http://:": want the URL`},
		{"public url with a bad port", []string{"--nats", "embedded", pub, "https://a.example:99999"}, nil, "bad port"},
		{"public url with an empty port", []string{"--nats", "embedded", pub, "https://a.example:"}, nil, "empty port"},
		{"public url with a query", []string{"--nats", "embedded", pub, "https://a.example/?x=1"}, nil, "--public-url"},
		{"bad relay id", []string{"--nats", "embedded", pub, "https://a.example", "--relay-id", "a.b"}, nil, `--relay-id "a.b": 1 to 64 letters`},
		{"long relay id", []string{"--relay-id", strings.Repeat("a", 65)}, nil, "--relay-id"},
		{"routes without embedded", []string{"--nats", "nats://n1:4222", pub, "https://a.example", "--nats-routes", "n2:6222"}, nil, "need --nats embedded"},
		{"listen without nats", []string{"--nats-listen", "127.0.0.1:4222"}, nil, "need --nats embedded"},
		{"routes without cluster listen", []string{"--nats", "embedded", pub, "https://a.example", "--nats-routes", "n2:6222"}, nil, "--nats-routes needs --nats-cluster-listen"},
		{"bad route", []string{"--nats", "embedded", pub, "https://a.example", "--nats-cluster-listen", ":6222", "--nats-routes", "nats://n2:6222"}, nil, `--nats-routes "nats://n2:6222"`},
		{"route without port", []string{"--nats-routes", "n2"}, nil, `--nats-routes "n2"`},
		{"bad cluster listen", []string{"--nats-cluster-listen", "n2:6222"}, nil, "--nats-cluster-listen"},
		{"same listen twice", []string{"--nats", "embedded", pub, "https://a.example", "--nats-listen", ":6222", "--nats-cluster-listen", ":6222"}, nil, "must differ"},
		{"creds with embedded", []string{"--nats", "embedded", pub, "https://a.example", "--nats-creds", creds}, nil, "--nats-creds is for an external NATS"},
		{"creds missing", []string{"--nats", "nats://n1:4222", pub, "https://a.example", "--nats-creds", creds + ".nope"}, nil, "no such file"},
	}
	for _, tt := range tests {
		c, err := Parse(tt.args)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.wantErr == "" && !tt.check(c):
			t.Errorf("%s: parsed as %+v (id %q)", tt.name, c, c.MeshID())
		case tt.wantErr != "" && (err == nil || !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%s: error %v, want an ErrConfig with %q", tt.name, err, tt.wantErr)
		}
	}
}

// TestMeshSettingsFileAndEnv: the mesh keys in a config file (routes as a
// YAML sequence) and in the environment.
func TestMeshSettingsFileAndEnv(t *testing.T) {
	clearEnv(t)
	f := writeFile(t, "nats: embedded\npublic-url: https://relay-2.example.com:8443\nnats-cluster-listen: 0.0.0.0:6222\n"+
		"nats-routes: [relay-1:6222, relay-2:6222, relay-3:6222]\nregion: us-east\n")
	c, err := Parse([]string{"--config", f})
	if err != nil {
		t.Fatal(err)
	}
	if !c.EmbeddedNATS() || len(c.NATSRoutes) != 3 || c.Region != "us-east" || c.MeshID() != "relay-2-example-com-8443" {
		t.Fatalf("parsed as %+v", c)
	}
	t.Setenv("P2PCACHE_NATS", "nats://10.0.0.5:4222")
	t.Setenv("P2PCACHE_PUBLIC_URL", "https://relay-9.example.com")
	t.Setenv("P2PCACHE_RELAY_ID", "relay-9")
	c, err = Parse(nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.EmbeddedNATS() || !reflect.DeepEqual(c.NATS, []string{"nats://10.0.0.5:4222"}) || c.MeshID() != "relay-9" {
		t.Fatalf("from the environment: %+v", c)
	}
	t.Setenv("P2PCACHE_NATS", "embedded")
	t.Setenv("P2PCACHE_NATS_ROUTES", "relay-1:6222")
	if _, err := Parse(nil); err == nil || !strings.Contains(err.Error(), "--nats-routes needs --nats-cluster-listen") {
		t.Fatalf("routes without a cluster listener from the environment: %v", err)
	}
}

// FuzzMeshID: whatever --public-url the checks accept, the derived relay id
// is one --relay-id would accept (non-empty, at most 64 of [A-Za-z0-9_-]),
// the same every time, and ends in the URL's port.
func FuzzMeshID(f *testing.F) {
	for _, s := range []string{
		"https://relay-1.example.com", "http://127.0.0.1:8080", "http://[::1]:9000/", "https://---.example/",
		"https://" + strings.Repeat("a.", 40) + "example.com:65535", "http://x_y.z", "https://ÄÖÜ.example",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if checkPublicURL(&base{flag: "public-url"}, s) != nil {
			return
		}
		c := Config{PublicURL: s}
		id := c.MeshID()
		if id == "" || checkRelayID(&base{flag: "relay-id"}, id) != nil {
			t.Fatalf("public URL %q: derived id %q is not a valid relay id", s, id)
		}
		if again := c.MeshID(); again != id {
			t.Fatalf("public URL %q: id %q, then %q", s, id, again)
		}
	})
}
