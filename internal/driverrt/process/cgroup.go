package process

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/driverhub/driverhub/internal/driverrt/cgroupfs"
)

// cgroupRoot is a writable cgroup directory with the memory controller,
// under which the runtime creates driverhub/<driver name>.
type cgroupRoot struct {
	version int    // 1 or 2
	dir     string // e.g. /sys/fs/cgroup/memory/<agent's cgroup>
}

// cgroupParent is the directory under the root holding the drivers' cgroups.
const cgroupParent = "driverhub"

// errCgroupBusy says that a driver's cgroup still holds processes.
var errCgroupBusy = errors.New("cgroup still in use")

func (c *cgroupRoot) String() string { return fmt.Sprintf("cgroup v%d under %s", c.version, c.dir) }

func (c *cgroupRoot) driverDir(name string) string {
	return filepath.Join(c.dir, cgroupParent, cgroupName(name))
}

// cgroupName turns a driver name into a safe directory name.
func cgroupName(name string) string {
	b := []byte(name)
	for i, ch := range b {
		switch {
		case ch >= 'a' && ch <= 'z', ch >= 'A' && ch <= 'Z', ch >= '0' && ch <= '9', ch == '-', ch == '_', ch == '.':
		default:
			b[i] = '_'
		}
	}
	s := string(b)
	if s == "" || s == "." || s == ".." {
		s = "_" + s
	}
	return s
}

// detectCgroup finds where the runtime can create memory cgroups: root when
// given, else the agent's own cgroup or the hierarchy's root, v2 or v1.
func detectCgroup(root string) (*cgroupRoot, error) {
	if root != "" {
		v := cgroupfs.VersionOf(root)
		if v == 0 {
			return nil, fmt.Errorf("%s is not a cgroup with the memory controller", root)
		}
		c := &cgroupRoot{version: v, dir: root}
		return c, c.probe()
	}
	cands := cgroupCandidates()
	if len(cands) == 0 {
		return nil, errors.New("no mounted cgroup hierarchy with the memory controller")
	}
	var errs []error
	for _, c := range cands {
		err := c.probe()
		if err == nil {
			return c, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", c, err))
	}
	return nil, errors.Join(errs...)
}

// cgroupCandidates lists the agent's own memory cgroups and the roots of
// the hierarchies, from /proc/self/mountinfo and /proc/self/cgroup.
func cgroupCandidates() []*cgroupRoot {
	var v2Path, v1Path string
	if data, err := os.ReadFile("/proc/self/cgroup"); err == nil {
		for line := range strings.Lines(string(data)) {
			f := strings.SplitN(strings.TrimSpace(line), ":", 3)
			if len(f) != 3 {
				continue
			}
			if f[0] == "0" && f[1] == "" {
				v2Path = f[2]
			} else if slices.Contains(strings.Split(f[1], ","), "memory") {
				v1Path = f[2]
			}
		}
	}
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	var cands []*cgroupRoot
	add := func(version int, dir string) {
		if cgroupfs.VersionOf(dir) != version {
			return
		}
		for _, c := range cands {
			if c.dir == dir {
				return
			}
		}
		cands = append(cands, &cgroupRoot{version: version, dir: dir})
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		sep := slices.Index(f, "-")
		if sep < 5 || len(f) < sep+4 {
			continue
		}
		fstype, super := f[sep+1], f[sep+3]
		mroot, mpoint := unescapeMount(f[3]), unescapeMount(f[4])
		switch {
		case fstype == "cgroup2" && v2Path != "":
			add(2, filepath.Join(mpoint, relCgroup(v2Path, mroot)))
			add(2, mpoint)
		case fstype == "cgroup" && v1Path != "" && slices.Contains(strings.Split(super, ","), "memory"):
			add(1, filepath.Join(mpoint, relCgroup(v1Path, mroot)))
			add(1, mpoint)
		}
	}
	return cands
}

// relCgroup is a cgroup path relative to the root of its mount.
func relCgroup(path, mountRoot string) string {
	if mountRoot != "/" {
		if rel, ok := strings.CutPrefix(path, mountRoot); ok {
			return rel
		}
	}
	return path
}

// unescapeMount undoes the octal escapes (\040) of mountinfo.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// probe checks that driver cgroups can be created under c.
func (c *cgroupRoot) probe() error {
	cgroupMu.Lock()
	defer cgroupMu.Unlock()
	parent := filepath.Join(c.dir, cgroupParent)
	created, err := c.ensureParent()
	if created {
		defer os.Remove(parent)
	}
	if err != nil {
		return err
	}
	if c.version == 2 {
		if cgroupfs.VersionOf(parent) != 2 {
			return errors.New("memory controller not delegated")
		}
		return nil
	}
	f, err := os.OpenFile(filepath.Join(parent, "memory.limit_in_bytes"), os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	return f.Close()
}

// ensureParent creates driverhub/ under the root and, on v2, enables the
// memory controller for its children. cgroupMu must be held.
func (c *cgroupRoot) ensureParent() (created bool, err error) {
	parent := filepath.Join(c.dir, cgroupParent)
	if c.version == 2 {
		if err := enableMemory(c.dir); err != nil {
			return false, err
		}
	}
	if err := os.Mkdir(parent, 0o755); err == nil {
		created = true
	} else if !errors.Is(err, os.ErrExist) {
		return false, err
	}
	if c.version == 2 {
		if err := enableMemory(parent); err != nil {
			return created, err
		}
	}
	return created, nil
}

func enableMemory(dir string) error {
	ctl := filepath.Join(dir, "cgroup.subtree_control")
	data, err := os.ReadFile(ctl)
	if err != nil {
		return err
	}
	if slices.Contains(strings.Fields(string(data)), "memory") {
		return nil
	}
	return cgroupfs.WriteFile(ctl, "+memory")
}

// create makes the driver's cgroup with the memory limit (none when limit <= 0).
func (c *cgroupRoot) create(name string, limit int64) (*cgroup, error) {
	cgroupMu.Lock()
	defer cgroupMu.Unlock()
	if _, err := c.ensureParent(); err != nil {
		return nil, err
	}
	dir := c.driverDir(name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		if !errors.Is(err, os.ErrExist) {
			return nil, err
		}
		// A leftover of an earlier run: reusable only when empty.
		if err := os.Remove(dir); err != nil {
			return nil, fmt.Errorf("%s: %w (%v)", dir, errCgroupBusy, err)
		}
		if err := os.Mkdir(dir, 0o755); err != nil {
			return nil, err
		}
	}
	g := &cgroup{cgroupfs.Group{Version: c.version, Dir: dir}}
	if err := g.SetLimit(limit); err != nil {
		os.Remove(dir)
		return nil, err
	}
	return g, nil
}

// cgroup is one driver's cgroup.
type cgroup struct{ cgroupfs.Group }

func (g *cgroup) addProc(pid int) error {
	return cgroupfs.WriteFile(g.File("cgroup.procs"), strconv.Itoa(pid))
}

// procs lists the live processes in the cgroup.
func (g *cgroup) procs() []int {
	data, err := os.ReadFile(g.File("cgroup.procs"))
	if err != nil {
		return nil
	}
	var pids []int
	for _, s := range strings.Fields(string(data)) {
		pid, err := strconv.Atoi(s)
		if err != nil || pid <= 0 {
			continue
		}
		if st, err := readStat(pid); err == nil && !st.zombie() {
			pids = append(pids, pid)
		}
	}
	return pids
}

// kill sends SIGKILL to every process in the cgroup.
func (g *cgroup) kill() {
	if g.Version == 2 {
		_ = cgroupfs.WriteFile(g.File("cgroup.kill"), "1")
	}
	for _, pid := range g.procs() {
		_ = unix.Kill(pid, unix.SIGKILL)
	}
}

// remove deletes the cgroup, waiting a little for exiting processes to
// leave it, and then driverhub/ if that is empty.
func (g *cgroup) remove() error {
	var err error
	pollUntil(2*time.Second, 20*time.Millisecond, func() bool {
		err = os.Remove(g.Dir)
		if errors.Is(err, os.ErrNotExist) {
			err = nil
		}
		return err == nil
	})
	cgroupMu.Lock()
	_ = os.Remove(filepath.Dir(g.Dir)) // fails while other drivers run
	cgroupMu.Unlock()
	return err
}
