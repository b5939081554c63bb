package config

import (
	"bytes"
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestPrecedence: a flag wins over the environment, which wins over the
// file, which wins over the default, for each kind of setting.
func TestPrecedence(t *testing.T) {
	type src struct{ flag, env, file string } // "" means not given there
	tests := []struct {
		name string
		key  string
		src  src
		want string // the setting's value as String gives it
	}{
		{"default", "cache-size", src{}, "256MiB"},
		{"file", "cache-size", src{file: "1GiB"}, "1GiB"},
		{"env over file", "cache-size", src{env: "2GiB", file: "1GiB"}, "2GiB"},
		{"flag over env and file", "cache-size", src{flag: "3GiB", env: "2GiB", file: "1GiB"}, "3GiB"},
		{"flag over file", "cache-size", src{flag: "3GiB", file: "1GiB"}, "3GiB"},
		{"flag over env", "cache-size", src{flag: "3GiB", env: "2GiB"}, "3GiB"},
		{"env", "cache-size", src{env: "2GiB"}, "2GiB"},
		{"bool file", "peer-fetch", src{file: "off"}, "false"},
		{"bool env over file", "peer-fetch", src{env: "on", file: "off"}, "true"},
		{"bool flag over env", "peer-fetch", src{flag: "no", env: "yes"}, "false"},
		{"duration file", "ban-duration", src{file: "1h"}, "1h"},
		{"duration env over file", "ban-duration", src{env: "30m", file: "1h"}, "30m"},
		{"list file", "public-ip", src{file: "[203.0.113.1, 203.0.113.2]"}, "203.0.113.1,203.0.113.2"},
		{"list env over file", "public-ip", src{env: "198.51.100.9", file: "[203.0.113.1]"}, "198.51.100.9"},
		{"list flag over env", "public-ip", src{flag: "192.0.2.1,192.0.2.2", env: "198.51.100.9"}, "192.0.2.1,192.0.2.2"},
		{"addr file", "listen", src{file: "0.0.0.0:80"}, "0.0.0.0:80"},
		{"level env", "log-level", src{env: "warn", file: "debug"}, "warn"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			var args []string
			if tt.src.flag != "" {
				args = append(args, "--"+tt.key, tt.src.flag)
			}
			if tt.src.env != "" {
				t.Setenv(envName(tt.key), tt.src.env)
			}
			if tt.src.file != "" {
				args = append(args, "--config", writeFile(t, tt.key+": "+tt.src.file+"\n"))
			}
			c, err := Parse(args)
			if err != nil {
				t.Fatal(err)
			}
			if got := lookup(t, &c, tt.key); got != tt.want {
				t.Errorf("%s = %q, want %q", tt.key, got, tt.want)
			}
		})
	}
}

// lookup is a setting's value in c, as String writes it.
func lookup(t *testing.T, c *Config, key string) string {
	t.Helper()
	for _, s := range c.settings() {
		if s.name == key {
			return s.v.String()
		}
	}
	t.Fatalf("no setting %q", key)
	return ""
}

func TestConfigFileFromEnv(t *testing.T) {
	clearEnv(t)
	t.Setenv("P2PCACHE_CONFIG", writeFile(t, "max-peers: 12\n"))
	c, err := Parse(nil)
	if err != nil || c.MaxPeers != 12 {
		t.Fatalf("P2PCACHE_CONFIG: max peers %d, %v; want 12 from the file", c.MaxPeers, err)
	}
}

func TestConfigFileValues(t *testing.T) {
	clearEnv(t)
	file := writeFile(t, `# a relay behind NAT
listen: 0.0.0.0:8080
ice-listen: "0.0.0.0:7881"
public-ip:
  - 203.0.113.10
  - 203.0.113.11
allowed-origins: https://www.example.com, https://example.com
cache-size: 1GiB
chunk-size: 16384
peer-fetch: off
peer-timeout-min: 50ms
ban-strikes: 5
ws-rate: 2.5
shutdown-timeout: 0s
log-level: WARN
origin:            # null: the built-in demo
debug-addr: ~
`)
	c, err := Parse([]string{"--config", file})
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.Listen, want.ICEListen = "0.0.0.0:8080", "0.0.0.0:7881"
	want.PublicIPs = []string{"203.0.113.10", "203.0.113.11"}
	want.AllowedOrigins = []string{"https://www.example.com", "https://example.com"}
	want.CacheSize, want.ChunkSize = 1<<30, 16384
	want.PeerFetch, want.PeerTimeoutMin, want.BanStrikes = false, 50*time.Millisecond, 5
	want.WSRate, want.ShutdownTimeout, want.LogLevel = 2.5, 0, want.LogLevel+4
	want.File = file
	if !reflect.DeepEqual(c, want) {
		t.Errorf("got  %+v\nwant %+v", c, want)
	}
}

// TestConfigFileErrors: every mistake in the file is refused with the
// file's name and the line, even for a key a flag overrides.
func TestConfigFileErrors(t *testing.T) {
	tests := []struct {
		name, text string
		args       []string
		want       string // after "FILE:"
	}{
		{"unknown key", "listen: 127.0.0.1:8080\n\nfuture-setting: 10.0.0.0/8\n", nil, `3: unknown key "future-setting"`},
		{"dashed key", "--listen: 127.0.0.1:8080\n", nil, `1: unknown key "--listen"`},
		{"config key", "config: other.yaml\n", nil, `1: unknown key "config"`},
		{"bad size", "listen: 127.0.0.1:8080\ncache-size: lots\n", nil, `2: --cache-size: "lots": no number`},
		{"bad int", "max-peers: true\n", nil, `1: --max-peers "true": want a whole number ≥ 1`},
		{"bad bool", "# comment\npeer-fetch: maybe\n", nil, `2: --peer-fetch "maybe": want on or off`},
		{"bad addr", "listen: 8080\n", nil, `1: --listen "8080": want host:port`},
		{"bad list entry", "public-ip:\n  - 203.0.113.1\n  - example.com\n", nil, `2: --public-ip "example.com" is not an IP address`},
		{"list for a scalar", "listen: [127.0.0.1:1, 127.0.0.1:2]\n", nil, `1: listen: want one addr value, not a list`},
		{"mapping value", "cache-size:\n  value: 1GiB\n", nil, `2: cache-size: want a plain size value`},
		{"nested list", "public-ip: [[203.0.113.1]]\n", nil, `1: public-ip: want a list of plain values`},
		{"repeated key", "ws-rate: 5\nmax-peers: 3\nws-rate: 6\n", nil, `3: key "ws-rate" repeats line 1`},
		{"overridden key still checked", "cache-size: lots\n", []string{"--cache-size", "1GiB"}, `1: --cache-size: "lots": no number`},
		{"not a mapping", "- listen\n- 127.0.0.1:8080\n", nil, `1: want key: value lines`},
		{"syntax", "listen: 127.0.0.1:1\n  oops: [\n", nil, ` yaml: line 2`},
		{"two documents", "listen: 127.0.0.1:1\n---\nlisten: 127.0.0.1:2\n", nil, ` want one YAML document`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			file := writeFile(t, tt.text)
			_, err := Parse(append(tt.args, "--config", file))
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("err = %v, want ErrConfig", err)
			}
			if want := file + ":" + tt.want; !strings.Contains(err.Error(), want) {
				t.Fatalf("err = %q, want it to contain %q", err, want)
			}
		})
	}
}

func TestConfigFileEmpty(t *testing.T) {
	clearEnv(t)
	for _, text := range []string{"", "# nothing set\n", "---\n"} {
		c, err := Parse([]string{"--config", writeFile(t, text)})
		if err != nil {
			t.Fatalf("%q: %v", text, err)
		}
		c.File = ""
		if !reflect.DeepEqual(c, Default()) {
			t.Errorf("%q: %+v, want the defaults", text, c)
		}
	}
}

// TestExampleRoundTrip: the example file names every setting but --config,
// each under its help, and reads back as the defaults.
func TestExampleRoundTrip(t *testing.T) {
	clearEnv(t)
	var b bytes.Buffer
	if err := WriteExample(&b); err != nil {
		t.Fatal(err)
	}
	text := b.String()
	def := Default()
	for _, s := range def.settings() {
		if s.name == configFlag {
			if strings.Contains(text, "\nconfig:") {
				t.Error("the example sets config")
			}
			continue
		}
		if !strings.Contains(text, "\n"+s.name+": ") {
			t.Errorf("the example lacks %s", s.name)
		}
		if !strings.Contains(text, envName(s.name)) {
			t.Errorf("the example does not name %s", envName(s.name))
		}
		if first := strings.Fields(s.help)[0]; !strings.Contains(strings.ToLower(text), "# "+strings.ToLower(first)) {
			t.Errorf("the example lacks the help of %s", s.name)
		}
	}
	for i, l := range strings.Split(text, "\n") {
		if len(l) > 80 {
			t.Errorf("line %d is %d bytes: %q", i+1, len(l), l)
		}
	}
	file := writeFile(t, text)
	c, err := Parse([]string{"--config", file})
	if err != nil {
		t.Fatalf("the example does not parse: %v\n%s", err, text)
	}
	want := Default()
	want.File = file
	if !reflect.DeepEqual(c, want) {
		t.Errorf("the example reads back as\n%+v, want the defaults\n%+v", c, want)
	}
}

// TestExampleNonDefault: a value that is not a plain YAML word (a list, an
// odd character) still reads back as itself.
func TestExampleNonDefault(t *testing.T) {
	c := Default()
	c.PublicIPs = []string{"203.0.113.1", "2001:db8::1"}
	c.AuthSecret = "s3cret: with # and \"quotes\" 0123456789abcdef"
	c.AllowedOrigins = []string{"*"}
	c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32")}
	c.MaxMemory, c.NegativeTTL, c.AllowDotfiles = 3<<30, 0, true
	clearEnv(t)
	var b strings.Builder
	for _, s := range c.settings() {
		if s.name != configFlag {
			b.WriteString(s.name + ": " + yamlScalar(s.v) + "\n")
		}
	}
	got, err := Parse([]string{"--config", writeFile(t, b.String())})
	if err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	got.File = ""
	if !reflect.DeepEqual(got, c) {
		t.Errorf("read back %+v, want %+v", got, c)
	}
}

// TestHelpFlags: --help's flags show each type and typed default, the
// environment variable, and --config, --version and --help.
func TestHelpFlags(t *testing.T) {
	var b bytes.Buffer
	PrintFlags(&b)
	help := b.String()
	for _, want := range []string{
		"  --cache-size size (default 256MiB)\n",
		"  --chunk-size size (default 64KiB)\n",
		"  --peer-fetch bool (default true)\n",
		"  --ban-duration duration (default 10m)\n",
		"  --peer-timeout-min duration (default 200ms)\n",
		"  --listen addr (default 127.0.0.1:8080)\n",
		"  --public-ip ip-list\n",
		"  --allowed-origins url-list\n",
		"  --ws-rate number (default 10)\n",
		"  --max-peers int (default 10000)\n",
		"  --log-level level (default info)\n",
		"  --auth-secret string\n",
		"  --config file\n",
		"[$P2PCACHE_CACHE_SIZE]",
		"  --version\n",
		"  -h, --help\n",
	} {
		if !strings.Contains(help, want) {
			t.Errorf("help lacks %q", want)
		}
	}
}

// FuzzConfigFile: the file parser never panics, and what it accepts once it
// accepts again with the same values.
func FuzzConfigFile(f *testing.F) {
	var ex bytes.Buffer
	WriteExample(&ex)
	for _, s := range []string{ex.String(), "", "listen: [a, b]\n", "public-ip:\n  - 203.0.113.1\n", "a: &x 1\nb: *x\n", "- 1\n", "{cache-size: 1GiB}", "cache-size: !!binary aGk=\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		read := func() (map[string]string, error) {
			got := map[string]string{}
			name := "fuzz.yaml"
			err := fileParser(&name, new(recorder))(strings.NewReader(text), func(k, v string) error {
				got[k] = v
				return nil
			})
			return got, err
		}
		a, err := read()
		if err != nil {
			return
		}
		b, err := read()
		if err != nil || !reflect.DeepEqual(a, b) {
			t.Fatalf("accepted %q as %v, then %v, %v", text, a, b, err)
		}
	})
}
