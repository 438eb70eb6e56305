// Package cgroupfs reads and sets the memory files of a cgroup, on
// cgroup v1 (the memory controller's own hierarchy) and v2 (the unified
// hierarchy), for both driver runtimes. Every path is under a root
// directory the caller gives, so that tests run it over a fake tree.
package cgroupfs

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// DefaultRoot is where the cgroup hierarchies are mounted.
const DefaultRoot = "/sys/fs/cgroup"

// Group is one memory cgroup directory.
type Group struct {
	Version int    // 1 or 2
	Dir     string // e.g. /sys/fs/cgroup/memory/driverhub/x (v1), /sys/fs/cgroup/driverhub/x (v2)
}

// VersionOf returns 2 for a cgroup2 directory offering the memory
// controller, 1 for a v1 memory cgroup directory, 0 otherwise.
func VersionOf(dir string) int {
	if data, err := os.ReadFile(filepath.Join(dir, "cgroup.controllers")); err == nil {
		if slices.Contains(strings.Fields(string(data)), "memory") {
			return 2
		}
		return 0
	}
	if _, err := os.Stat(filepath.Join(dir, "memory.limit_in_bytes")); err == nil {
		return 1
	}
	return 0
}

// Memory is the memory cgroup of a cgroup path (such as an OCI
// cgroupsPath) under the hierarchies mounted at root: under root itself
// on a unified (v2) host, under root/memory on v1. The cgroup need not
// exist yet.
func Memory(root, path string) Group {
	if _, err := os.Stat(filepath.Join(root, "cgroup.controllers")); err == nil {
		return Group{Version: 2, Dir: filepath.Join(root, path)}
	}
	return Group{Version: 1, Dir: filepath.Join(root, "memory", path)}
}

// File is the path of one of the cgroup's files.
func (g Group) File(name string) string { return filepath.Join(g.Dir, name) }

// OOMEventsFile is the file that changes on an OOM kill: memory.events
// (v2), memory.oom_control (v1).
func (g Group) OOMEventsFile() string {
	if g.Version == 2 {
		return g.File("memory.events")
	}
	return g.File("memory.oom_control")
}

// Usage is the cgroup's memory use in bytes, 0 when unknown.
func (g Group) Usage() int64 {
	name := "memory.usage_in_bytes"
	if g.Version == 2 {
		name = "memory.current"
	}
	n, _ := readInt(g.File(name))
	return n
}

// OOMKills is the number of OOM kills in the cgroup; ok is false when it
// cannot be read, or the kernel does not count them (v1 before Linux 4.13).
func (g Group) OOMKills() (n int64, ok bool) {
	return KeyedValue(g.OOMEventsFile(), "oom_kill")
}

// LimitHits is how often the cgroup's memory use hit its limit: the
// "max" events (v2), memory.failcnt (v1); 0 when unknown.
func (g Group) LimitHits() int64 {
	if g.Version == 2 {
		n, _ := KeyedValue(g.File("memory.events"), "max")
		return n
	}
	n, _ := readInt(g.File("memory.failcnt"))
	return n
}

// SetLimit sets the cgroup's memory limit in bytes; limit <= 0 leaves it
// unlimited. Beyond the limit itself it asks, best effort, for no swap
// (the driver is killed rather than swapped), for the whole cgroup to be
// killed together (v2), and on v1 for the memory a process touched before
// it joined to be charged here.
func (g Group) SetLimit(limit int64) error {
	if limit <= 0 {
		return nil
	}
	v := strconv.FormatInt(limit, 10)
	if g.Version == 2 {
		if err := WriteFile(g.File("memory.max"), v); err != nil {
			return err
		}
		_ = WriteFile(g.File("memory.swap.max"), "0")
		_ = WriteFile(g.File("memory.oom.group"), "1")
		return nil
	}
	if err := WriteFile(g.File("memory.limit_in_bytes"), v); err != nil {
		return err
	}
	_ = WriteFile(g.File("memory.move_charge_at_immigrate"), "3")
	// memsw exists only with swap accounting; it must be >= the limit.
	if _, err := os.Stat(g.File("memory.memsw.limit_in_bytes")); err == nil {
		_ = WriteFile(g.File("memory.memsw.limit_in_bytes"), v)
	}
	return nil
}

// KeyedValue reads the value of key in a file of "key value" lines
// (memory.events, memory.oom_control); ok is false when there is none.
func KeyedValue(path, key string) (n int64, ok bool) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	for line := range strings.Lines(string(data)) {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == key {
			n, err := strconv.ParseInt(f[1], 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}

func readInt(path string) (int64, bool) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
	return n, err == nil
}

// WriteFile writes a control file of cgroupfs: it must exist (cgroupfs
// makes them; no create, no truncate).
func WriteFile(path, value string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(value)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
