package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/p2pcache/p2pcache/server/internal/config"
)

// runCLI runs the program in-process and returns its exit status and
// output.
func runCLI(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// TestHelp: --help prints the commands and the typed flags once, on
// stdout, and exits 0.
func TestHelp(t *testing.T) {
	for _, arg := range []string{"--help", "-h", "-help"} {
		code, out, errOut := runCLI(arg)
		if code != 0 || errOut != "" {
			t.Fatalf("%s: exit %d, stderr %q; want 0 and nothing", arg, code, errOut)
		}
		if n := strings.Count(out, "Usage: p2pcache"); n != 1 {
			t.Errorf("%s: usage printed %d times", arg, n)
		}
		for _, want := range []string{
			"\n  fetch [flags] PATH...", "\n  token [flags]", "\n  config example", "\n  version",
			"\n  --cache-size size (default 256MiB)\n", "\n  --peer-fetch bool (default true)\n",
			"\n  --config file\n", "\n  --version\n", "[$P2PCACHE_LISTEN]",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("%s: help lacks %q", arg, want)
			}
		}
	}
}

// TestBadCommandLine: an unknown flag, a flag without its value or a stray
// argument is one line on stderr that points at --help, and exit 2; so is a
// bad value, naming the flag.
func TestBadCommandLine(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--nope"}, "p2pcache: command line: flag provided but not defined: -nope (see p2pcache --help)\n"},
		{[]string{"--listen"}, "p2pcache: command line: flag needs an argument: -listen (see p2pcache --help)\n"},
		{[]string{"serve"}, "p2pcache: command line: unexpected argument \"serve\" (see p2pcache --help)\n"},
		{[]string{"--chunk-size", "128KiB"}, "p2pcache: invalid configuration: --chunk-size 128KiB is over the 64KiB limit (browser-safe data-channel message size)\n"},
		{[]string{"config"}, "Usage: p2pcache config example\n"},
		{[]string{"config", "nope"}, "Usage: p2pcache config example\n"},
		{[]string{"version", "--short"}, "p2pcache version: unexpected argument \"--short\"\n"},
	}
	for _, tt := range tests {
		code, out, errOut := runCLI(tt.args...)
		if code != 2 || out != "" || !strings.HasPrefix(errOut, tt.want) {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want 2, nothing, %q", tt.args, code, out, errOut, tt.want)
		}
	}
}

// TestVersion: --version and the version command print the stamped
// version and commit and the Go version, and exit 0.
func TestVersion(t *testing.T) {
	defer func(v, c string) { version, commit = v, c }(version, commit)
	version, commit = "v9.8.7", "0123456789abcdef"
	want := "p2pcache v9.8.7 (commit 0123456789abcdef, " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH + ")\n"
	for _, args := range [][]string{{"--version"}, {"-version"}, {"version"}, {"--log-level", "debug", "--version"}} {
		code, out, errOut := runCLI(args...)
		if code != 0 || out != want || errOut != "" {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want 0, %q", args, code, out, errOut, want)
		}
	}
	// Unstamped: what the toolchain recorded, or dev and unknown.
	version, commit = "", ""
	if b := buildInfo(); b.Version == "" || b.Commit == "" {
		t.Errorf("unstamped build info %+v, want a version and a commit", b)
	}
}

// TestVersionLdflags builds the binary the way the Dockerfile does (-X
// main.version, -X main.commit) and runs it: the stamp is what --version
// prints, and --help works and shows no testing-only flag.
func TestVersionLdflags(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	bin := filepath.Join(t.TempDir(), "p2pcache")
	build := exec.Command(gobin, "build", "-ldflags", "-X main.version=v1.2.3-ldflags -X main.commit=feedc0ffee", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "--version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "p2pcache v1.2.3-ldflags (commit feedc0ffee, go") {
		t.Fatalf("--version: %v, %q", err, out)
	}
	out, err = exec.Command(bin, "--help").Output()
	if err != nil || !strings.Contains(string(out), "--cache-size size") {
		t.Fatalf("--help: %v, %q", err, out)
	}
	if strings.Contains(string(out), "--fault") {
		t.Errorf("the default build's --help lists a fault flag:\n%s", out)
	}
}

// TestConfigExampleCommand: "config example" prints the example file.
func TestConfigExampleCommand(t *testing.T) {
	code, out, errOut := runCLI("config", "example")
	if code != 0 || errOut != "" || !strings.HasPrefix(out, "# p2pcache configuration") || !strings.Contains(out, "\ncache-size: 256MiB\n") {
		t.Fatalf("exit %d, stderr %q, stdout %q", code, errOut, out)
	}
	file := filepath.Join(t.TempDir(), "p2pcache.yaml")
	if err := os.WriteFile(file, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
	// The relay takes it, as the defaults.
	cfg, err := config.Parse([]string{"--config", file})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.File != file || cfg.CacheSize != 256<<20 || cfg.Listen != "127.0.0.1:8080" {
		t.Fatalf("the example read back as %+v", cfg)
	}
}

func TestTokenCommand(t *testing.T) {
	const secret = "0123456789abcdef0123456789abcdef"
	code, out, errOut := runCLI("token", "--auth-secret", secret, "--sub", "alice", "--paths", "/images/, /css/", "--ttl", "5m")
	if code != 0 || strings.Count(strings.TrimSpace(out), ".") != 2 || errOut != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q; want a JWT", code, out, errOut)
	}
	if code, _, errOut := runCLI("token", "--auth-secret", "short"); code != 2 || !strings.Contains(errOut, "at least 32 bytes") {
		t.Fatalf("short secret: exit %d, %q", code, errOut)
	}
}
