package cache

import (
	"errors"
	"io/fs"
	"path"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
)

func TestUsableMemory(t *testing.T) {
	const (
		gib     = 1 << 30
		meminfo = "MemTotal:       16777216 kB\nMemFree:         1000 kB\n"
		v1Unset = "9223372036854771712\n" // v1's "no limit", rounded to pages
	)
	files := func(kv ...string) fstest.MapFS {
		m := fstest.MapFS{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = &fstest.MapFile{Data: []byte(kv[i+1])}
		}
		return m
	}
	tests := []struct {
		name    string
		fsys    fs.FS
		want    int64
		wantErr error
	}{
		{"bare machine", files("proc/meminfo", meminfo), 16 * gib, nil},
		{"v2 container", files(
			"proc/self/cgroup", "0::/\n",
			"sys/fs/cgroup/memory.max", "536870912\n",
			"proc/meminfo", meminfo), 512 << 20, nil},
		{"v2 no limit", files(
			"proc/self/cgroup", "0::/\n",
			"sys/fs/cgroup/memory.max", "max\n",
			"proc/meminfo", meminfo), 16 * gib, nil},
		{"v2 limit above the machine", files(
			"proc/self/cgroup", "0::/\n",
			"sys/fs/cgroup/memory.max", "68719476736\n",
			"proc/meminfo", meminfo), 16 * gib, nil},
		{"v2 nested, an ancestor limits", files(
			"proc/self/cgroup", "0::/system.slice/relay.service\n",
			"sys/fs/cgroup/system.slice/relay.service/memory.max", "max\n",
			"sys/fs/cgroup/system.slice/memory.max", "2147483648\n",
			"proc/meminfo", meminfo), 2 * gib, nil},
		{"v2 nested, the smallest wins", files(
			"proc/self/cgroup", "0::/a/b\n",
			"sys/fs/cgroup/a/b/memory.max", "1073741824\n",
			"sys/fs/cgroup/a/memory.max", "2147483648\n",
			"proc/meminfo", meminfo), 1 * gib, nil},
		{"v2 host path not mounted (no cgroup namespace)", files(
			"proc/self/cgroup", "0::/docker/0123abcd\n",
			"sys/fs/cgroup/memory.max", "268435456\n",
			"proc/meminfo", meminfo), 256 << 20, nil},
		{"v1 container", files(
			"proc/self/cgroup", "12:memory:/docker/0123abcd\n11:cpu,cpuacct:/docker/0123abcd\n",
			"sys/fs/cgroup/memory/memory.limit_in_bytes", "2147483648\n",
			"proc/meminfo", meminfo), 2 * gib, nil},
		{"v1 unset", files(
			"proc/self/cgroup", "4:memory:/process_api/x\n0::/\n",
			"sys/fs/cgroup/memory/process_api/x/memory.limit_in_bytes", v1Unset,
			"sys/fs/cgroup/memory/memory.limit_in_bytes", v1Unset,
			"proc/meminfo", meminfo), 16 * gib, nil},
		{"v1 controllers combined", files(
			"proc/self/cgroup", "5:cpuacct,memory,cpu:/x\n",
			"sys/fs/cgroup/memory/x/memory.limit_in_bytes", "1073741824\n",
			"proc/meminfo", meminfo), 1 * gib, nil},
		{"v1 memory-like name is not memory", files(
			"proc/self/cgroup", "5:memoryless:/x\n",
			"sys/fs/cgroup/memory/x/memory.limit_in_bytes", "1073741824\n",
			"proc/meminfo", meminfo), 16 * gib, nil},
		{"hybrid, v1 memory limit", files(
			"proc/self/cgroup", "4:memory:/m\n0::/u\n",
			"sys/fs/cgroup/memory/m/memory.limit_in_bytes", "3221225472\n",
			"proc/meminfo", meminfo), 3 * gib, nil},
		{"no /proc/self/cgroup: mount roots", files(
			"sys/fs/cgroup/memory.max", "1073741824",
			"proc/meminfo", meminfo), 1 * gib, nil},
		{"limit but no meminfo", files(
			"proc/self/cgroup", "0::/\n",
			"sys/fs/cgroup/memory.max", "1073741824\n"), 1 * gib, nil},
		{"zero limit ignored", files(
			"proc/self/cgroup", "0::/\n",
			"sys/fs/cgroup/memory.max", "0\n",
			"proc/meminfo", meminfo), 16 * gib, nil},
		{"nothing", files(), 0, ErrUnknownMemory},
		{"meminfo without MemTotal", files("proc/meminfo", "MemFree: 1 kB\n"), 0, ErrUnknownMemory},
		{"bad memory.max", files(
			"proc/self/cgroup", "0::/\n",
			"sys/fs/cgroup/memory.max", "lots\n",
			"proc/meminfo", meminfo), 0, ErrUnknownMemory},
		{"negative limit", files(
			"proc/self/cgroup", "0::/\n",
			"sys/fs/cgroup/memory.max", "-1\n",
			"proc/meminfo", meminfo), 0, ErrUnknownMemory},
		{"bad MemTotal", files("proc/meminfo", "MemTotal: many kB\n"), 0, ErrUnknownMemory},
		{"MemTotal in another unit", files("proc/meminfo", "MemTotal: 16 GB\n"), 0, ErrUnknownMemory},
		{"MemTotal overflows", files("proc/meminfo", "MemTotal: 9223372036854775807 kB\n"), 0, ErrUnknownMemory},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := usableMemory(tt.fsys)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("usableMemory = %d, %v; want %v", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("usableMemory = %d, %v; want %d", got, err, tt.want)
			}
		})
	}
}

// TestUsableMemoryHere: on Linux the real files give an answer.
func TestUsableMemoryHere(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("no /proc")
	}
	n, err := UsableMemory()
	if err != nil || n <= 0 {
		t.Fatalf("UsableMemory = %d, %v", n, err)
	}
	d, err := DefaultMemoryLimit()
	if err != nil || d != n/2 {
		t.Errorf("DefaultMemoryLimit = %d, %v; want %d", d, err, n/2)
	}
	t.Logf("usable memory %d MiB, default limit %d MiB", n>>20, d>>20)
}

// FuzzUsableMemory: whatever the kernel files say, usableMemory does not
// panic, and either fails with ErrUnknownMemory or returns a positive size
// no larger than MemTotal or any cgroup limit it read.
func FuzzUsableMemory(f *testing.F) {
	f.Add("0::/\n", "536870912\n", "", "MemTotal: 16777216 kB\n")
	f.Add("0::/a/b\n", "max\n", "", "MemTotal: 1 kB\n")
	f.Add("4:memory:/x\n0::/\n", "", "9223372036854771712\n", "MemTotal:       24683548 kB\n")
	f.Add("5:cpu,memory:/x\n", "", "1073741824", "")
	f.Add("garbage", "-5", "1e9", "MemTotal: -3 kB")
	f.Fuzz(func(t *testing.T, cgroup, max, limit, meminfo string) {
		// The kernel's cgroup paths are absolute and clean; usableMemory
		// cleans them (so "/.." is the root), and so does the test, which
		// puts the limit files where a clean path leads.
		v2, v1 := parseProcCgroup([]byte(cgroup))
		fsys := fstest.MapFS{
			"proc/self/cgroup": {Data: []byte(cgroup)},
			"proc/meminfo":     {Data: []byte(meminfo)},
		}
		if max != "" && fs.ValidPath(path.Join(cgroupRoot, path.Clean(v2), "memory.max")) {
			fsys[path.Join(cgroupRoot, path.Clean(v2), "memory.max")] = &fstest.MapFile{Data: []byte(max)}
		}
		if limit != "" && fs.ValidPath(path.Join(cgroupRoot, "memory", path.Clean(v1), "memory.limit_in_bytes")) {
			fsys[path.Join(cgroupRoot, "memory", path.Clean(v1), "memory.limit_in_bytes")] = &fstest.MapFile{Data: []byte(limit)}
		}
		n, err := usableMemory(fsys)
		if err != nil {
			if !errors.Is(err, ErrUnknownMemory) {
				t.Fatalf("error %v does not wrap ErrUnknownMemory", err)
			}
			return
		}
		if n <= 0 {
			t.Fatalf("usableMemory = %d", n)
		}
		if total, err := memTotal(fsys); err == nil && total > 0 && n > total {
			t.Fatalf("usableMemory = %d, more than MemTotal %d", n, total)
		}
		// Compare with the limits as read back: fstest.MapFS cannot open
		// some names fs.ValidPath accepts (invalid UTF-8), and a limit
		// that cannot be read is no limit.
		for name := range fsys {
			if path.Base(name) != "memory.max" && path.Base(name) != "memory.limit_in_bytes" {
				continue
			}
			b, err := fs.ReadFile(fsys, name)
			if err != nil {
				continue
			}
			if v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && v > 0 && n > v {
				t.Fatalf("usableMemory = %d, more than the limit %d", n, v)
			}
		}
	})
}
