//go:build !p2pcache_faults

package config

import (
	"bytes"
	"errors"
	"regexp"
	"strings"
	"testing"
)

// TestNoFaultFlag: a production build (no p2pcache_faults tag) has no
// testing-only setting: not in --help, the example file, the command line
// or a config file.
func TestNoFaultFlag(t *testing.T) {
	clearEnv(t)
	var help, example bytes.Buffer
	PrintFlags(&help)
	if err := WriteExample(&example); err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{"help": help.String(), "example": example.String()} {
		if regexp.MustCompile(`(?i)\bfault|testing only`).MatchString(text) {
			t.Errorf("the %s mentions a fault flag:\n%s", name, text)
		}
	}
	if _, err := Parse([]string{"--fault-corrupt-chunk", "/a.png#1"}); !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), "not defined") {
		t.Errorf("--fault-corrupt-chunk: %v, want an unknown flag", err)
	}
	if _, err := Parse([]string{"--config", writeFile(t, "fault-corrupt-chunk: /a.png#1\n")}); err == nil || !strings.Contains(err.Error(), `unknown key "fault-corrupt-chunk"`) {
		t.Errorf("fault-corrupt-chunk in a file: %v, want an unknown key", err)
	}
}
