// Command p2pcache is the relay: it serves static files to browsers over
// WebRTC data channels on ICE-TCP (one TCP port, no UDP), with a WebSocket
// and plain-HTTP fallback, from a byte-bounded chunk cache in front of an
// origin. Run it with no flags to serve the built-in demo origin on
// http://127.0.0.1:8080.
//
// main is thin: flags, the environment and a config file become a
// config.Config (server/internal/config); stack.New builds the origin, the
// cache, the relay and the HTTP edge (server/edge) from it; serve.go runs
// them until SIGTERM and drains. The subcommands: "fetch PATH..." is a Go
// peer that fetches files from a running relay over WebRTC and verifies
// them; "token" prints an access token for a relay started with
// --auth-secret; "config example" prints a commented config file; "version"
// prints the build; "healthcheck" probes a running relay's /readyz.
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/p2pcache/p2pcache/server/internal/config"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is the program: it returns the exit status (0 done, 1 failed, 2 bad
// usage or configuration).
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "fetch":
			return runFetch(args[1:], stdout, stderr)
		case "token":
			return runToken(args[1:], os.Getenv, stdout, stderr)
		case "config":
			return runConfig(args[1:], stdout, stderr)
		case "version":
			return runVersion(args[1:], stdout, stderr)
		case "healthcheck":
			return runHealthcheck(args[1:], stdout, stderr)
		}
	}
	return serve(args, stdout, stderr)
}

// printHelp is --help: the commands, then the relay's flags.
func printHelp(w io.Writer) {
	fmt.Fprint(w, `Usage: p2pcache [flags]            run the relay
       p2pcache COMMAND [flags]

Serves static files to browsers over WebRTC data channels on ICE-TCP, with a
WebSocket and plain-HTTP fallback, from a chunk cache in front of an origin.

Commands:
  fetch [flags] PATH...   fetch files from a relay over WebRTC as a Go peer, verifying every chunk
  token [flags]           print an access token for a relay started with --auth-secret
  config example          print a YAML config file with every key, its default and its help
  version                 print the version, the commit and the Go version
  healthcheck [flags]     exit 0 if the relay's /readyz answers 200 (for container health checks)
'p2pcache COMMAND --help' lists a command's flags.

`)
	config.PrintFlags(w)
}
