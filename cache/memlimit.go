package cache

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strconv"
	"strings"
)

// UsableMemory returns how many bytes of memory this process may use: the
// smallest of the memory limits of its cgroup and the cgroup's ancestors
// (v2 memory.max, v1 memory.limit_in_bytes) and the machine's MemTotal. On a
// system with neither (not Linux) the error wraps ErrUnknownMemory.
func UsableMemory() (int64, error) { return usableMemory(os.DirFS("/")) }

// DefaultMemoryLimit is a default for a process-wide memory Budget: half of
// UsableMemory, leaving the other half for what no budget counts (the chunk
// LRU if it is not inside the budget, the Go runtime's slack between
// collections, kernel socket buffers). It fails as UsableMemory does.
func DefaultMemoryLimit() (int64, error) {
	n, err := UsableMemory()
	return n / 2, err
}

// cgroupRoot is where cgroup file systems are mounted.
const cgroupRoot = "sys/fs/cgroup"

// usableMemory is UsableMemory over fsys, rooted at "/".
func usableMemory(fsys fs.FS) (int64, error) {
	limit := int64(-1)
	take := func(n int64) {
		if n > 0 && (limit < 0 || n < limit) {
			limit = n
		}
	}
	v2, v1 := "/", "/" // the process's cgroup in each hierarchy; the root if unknown
	if b, err := fs.ReadFile(fsys, "proc/self/cgroup"); err == nil {
		v2, v1 = parseProcCgroup(b)
	}
	for _, h := range []struct{ dir, file, cg string }{
		{cgroupRoot, "memory.max", v2},
		{cgroupRoot + "/memory", "memory.limit_in_bytes", v1},
	} {
		n, err := cgroupLimit(fsys, h.dir, h.file, h.cg)
		if err != nil {
			return 0, err
		}
		take(n)
	}
	total, err := memTotal(fsys)
	if err != nil {
		return 0, err
	}
	take(total)
	if limit < 0 {
		return 0, fmt.Errorf("%w: no cgroup memory limit and no MemTotal in /proc/meminfo", ErrUnknownMemory)
	}
	return limit, nil
}

// parseProcCgroup returns the process's cgroup in the v2 hierarchy (the
// "0::path" line) and in the v1 memory controller's ("N:…memory…:path"),
// "/" for either not listed.
func parseProcCgroup(b []byte) (v2, v1 string) {
	v2, v1 = "/", "/"
	for line := range strings.Lines(string(b)) {
		id, rest, _ := strings.Cut(strings.TrimSpace(line), ":")
		controllers, p, ok := strings.Cut(rest, ":")
		if !ok || !strings.HasPrefix(p, "/") {
			continue
		}
		switch {
		case id == "0" && controllers == "":
			v2 = p
		case strings.Contains(","+controllers+",", ",memory,"):
			v1 = p
		}
	}
	return v2, v1
}

// cgroupLimit returns the smallest limit in file along the cgroup path cg
// and its ancestors under the hierarchy mounted at dir; -1 if none is set.
// The walk up also finds the limit when the mount shows only the process's
// own cgroup as its root (a container without a cgroup namespace, where cg
// is a host path that does not exist inside).
func cgroupLimit(fsys fs.FS, dir, file, cg string) (int64, error) {
	limit := int64(-1)
	for p := path.Clean(cg); ; p = path.Dir(p) {
		name := path.Join(dir, p, file)
		b, err := fs.ReadFile(fsys, name)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return 0, fmt.Errorf("%w: %s: %w", ErrUnknownMemory, name, err)
		case string(bytes.TrimSpace(b)) == "max": // v2: no limit at this level
		default:
			s := string(bytes.TrimSpace(b))
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil || n < 0 {
				return 0, fmt.Errorf("%w: %s: %q is not a byte count", ErrUnknownMemory, name, s)
			}
			if n > 0 && (limit < 0 || n < limit) {
				limit = n
			}
		}
		if p == "/" {
			return limit, nil
		}
	}
}

// memTotal returns MemTotal from /proc/meminfo in bytes; -1 if there is no
// such file.
func memTotal(fsys fs.FS) (int64, error) {
	f, err := fsys.Open("proc/meminfo")
	if errors.Is(err, fs.ErrNotExist) {
		return -1, nil
	}
	if err != nil {
		return 0, fmt.Errorf("%w: /proc/meminfo: %w", ErrUnknownMemory, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		val, ok := strings.CutPrefix(sc.Text(), "MemTotal:")
		if !ok {
			continue
		}
		num, unit, _ := strings.Cut(strings.TrimSpace(val), " ")
		n, err := strconv.ParseInt(num, 10, 64)
		if err != nil || n <= 0 || (unit != "kB" && unit != "") || n > (1<<63-1)/1024 {
			return 0, fmt.Errorf("%w: /proc/meminfo: MemTotal %q", ErrUnknownMemory, strings.TrimSpace(val))
		}
		if unit == "kB" {
			n *= 1024
		}
		return n, nil
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("%w: /proc/meminfo: %w", ErrUnknownMemory, err)
	}
	return -1, nil
}
