package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// procSample is what /proc says about a process at one moment.
type procSample struct {
	CPUTicks uint64 // utime + stime, in clock ticks
	RSS      int64  // VmRSS, bytes
	HWM      int64  // VmHWM (peak RSS), bytes
	WChar    int64  // bytes passed to write-like syscalls (sockets included); -1 unknown
}

// procReader reads /proc/<pid>/{stat,status}; root is "/proc" except in
// tests.
type procReader struct {
	root string
	hz   float64 // clock ticks per second
}

func newProcReader() procReader { return procReader{root: "/proc", hz: clockTicks()} }

// clockTicks is sysconf(_SC_CLK_TCK): asked of getconf, else 100, the value
// on every Linux architecture Go runs on.
func clockTicks() float64 {
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	if err == nil {
		if v, err := strconv.Atoi(strings.TrimSpace(string(out))); err == nil && v > 0 {
			return float64(v)
		}
	}
	return 100
}

// available reports whether /proc can be read at all (Linux).
func (r procReader) available() bool {
	_, err := os.Stat(filepath.Join(r.root, "self", "stat"))
	return err == nil
}

func (r procReader) read(pid int) (procSample, error) {
	var s procSample
	dir := filepath.Join(r.root, strconv.Itoa(pid))
	b, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return s, err
	}
	u, st, err := parseStat(b)
	if err != nil {
		return s, err
	}
	s.CPUTicks = u + st
	b, err = os.ReadFile(filepath.Join(dir, "status"))
	if err != nil {
		return s, err
	}
	s.RSS, s.HWM, err = parseStatus(b)
	s.WChar = -1
	if b, err := os.ReadFile(filepath.Join(dir, "io")); err == nil {
		s.WChar = parseIOWChar(b)
	}
	return s, err
}

// parseIOWChar extracts wchar from /proc/<pid>/io; -1 when absent.
func parseIOWChar(b []byte) int64 {
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "wchar:"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err == nil {
				return n
			}
		}
	}
	return -1
}

// cpuSeconds converts a tick difference.
func (r procReader) cpuSeconds(from, to procSample) float64 {
	if to.CPUTicks < from.CPUTicks {
		return 0
	}
	return float64(to.CPUTicks-from.CPUTicks) / r.hz
}

// parseStat extracts utime and stime (fields 14 and 15, clock ticks) from
// /proc/<pid>/stat. The command name (field 2) is in parentheses and may hold
// spaces and parentheses itself, so fields are counted from the last ')'.
func parseStat(b []byte) (utime, stime uint64, err error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("proc stat: no ')' in %q", truncate(string(b), 80))
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state), so field k is f[k-3].
	if len(f) < 13 {
		return 0, 0, fmt.Errorf("proc stat: %d fields after the name, want ≥ 13", len(f))
	}
	if utime, err = strconv.ParseUint(f[11], 10, 64); err != nil {
		return 0, 0, fmt.Errorf("proc stat: utime %q: %w", f[11], err)
	}
	if stime, err = strconv.ParseUint(f[12], 10, 64); err != nil {
		return 0, 0, fmt.Errorf("proc stat: stime %q: %w", f[12], err)
	}
	return utime, stime, nil
}

// parseStatus extracts VmRSS and VmHWM (reported in kB) from
// /proc/<pid>/status, in bytes.
func parseStatus(b []byte) (rss, hwm int64, err error) {
	found := 0
	for _, line := range strings.Split(string(b), "\n") {
		key, val, ok := strings.Cut(line, ":")
		if !ok || (key != "VmRSS" && key != "VmHWM") {
			continue
		}
		f := strings.Fields(val)
		if len(f) != 2 || f[1] != "kB" {
			return 0, 0, fmt.Errorf("proc status: %s: %q", key, strings.TrimSpace(val))
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("proc status: %s: %w", key, err)
		}
		if key == "VmRSS" {
			rss = n << 10
		} else {
			hwm = n << 10
		}
		found++
	}
	if found != 2 {
		return 0, 0, fmt.Errorf("proc status: no VmRSS/VmHWM (a kernel thread or a zombie?)")
	}
	return rss, hwm, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
