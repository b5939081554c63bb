//go:build !p2pcache_faults

package main

import (
	"regexp"
	"strings"
	"testing"
)

// TestHelpNoFaultFlag: the default build (no p2pcache_faults tag) lists no
// testing-only flag and refuses --fault-corrupt-chunk as unknown.
func TestHelpNoFaultFlag(t *testing.T) {
	_, out, _ := runCLI("--help")
	if regexp.MustCompile(`(?i)\bfault|testing only`).MatchString(out) {
		t.Errorf("--help lists a testing-only flag:\n%s", out)
	}
	code, _, errOut := runCLI("--fault-corrupt-chunk", "/a.png#1")
	if code != 2 || !strings.Contains(errOut, "flag provided but not defined: -fault-corrupt-chunk") {
		t.Errorf("--fault-corrupt-chunk: exit %d, %q; want an unknown flag", code, errOut)
	}
}
