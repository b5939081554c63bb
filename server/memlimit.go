package main

import (
	"log/slog"
	"os"
	"runtime/debug"

	"github.com/p2pcache/p2pcache/server/internal/stack"
)

// setMemoryLimit makes the Go runtime's soft memory limit the relay's
// --max-memory (debug.SetMemoryLimit: the collector works harder as the
// heap nears it, instead of letting garbage double the heap), unless the
// environment set one with GOMEMLIMIT, which wins.
func setMemoryLimit(s *stack.Stack, cacheSize int64, log *slog.Logger) {
	goLimit := "GOMEMLIMIT"
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(s.MemoryLimit)
		goLimit = "max-memory"
	}
	log.Info("memory budget", "max_memory", s.MemoryLimit, "cache_size", cacheSize,
		"budget", s.Budget.Max(), "go_memory_limit", goLimit)
}
