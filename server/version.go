package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/p2pcache/p2pcache/server/edge"
)

// version and commit are stamped at build time:
//
//	go build -ldflags "-X main.version=v1.2.3 -X main.commit=$(git rev-parse HEAD)" ./server
//
// Unstamped, buildInfo falls back to what the Go toolchain recorded.
var version, commit string

// buildInfo is the build's version and commit: the stamped ones, else the
// module version and VCS revision Go recorded (go install, a build in a
// git checkout), else "dev" and "unknown".
func buildInfo() edge.BuildInfo {
	b := edge.BuildInfo{Version: version, Commit: commit}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if b.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			b.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && b.Commit == "" {
				b.Commit = s.Value
			}
		}
	}
	if b.Version == "" {
		b.Version = "dev"
	}
	if b.Commit == "" {
		b.Commit = "unknown"
	}
	return b
}

// printVersion writes one line: version, commit, Go version and platform.
func printVersion(w io.Writer) {
	b := buildInfo()
	fmt.Fprintf(w, "p2pcache %s (commit %s, %s %s/%s)\n", b.Version, b.Commit, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// runVersion is the "version" subcommand.
func runVersion(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		fmt.Fprintf(stderr, "p2pcache version: unexpected argument %q\n", args[0])
		return 2
	}
	printVersion(stdout)
	return 0
}
