// Package process is the driver runtime that runs each driver as a child
// process of the agent, in its own process group, with its memory limit
// enforced by a cgroup where one is writable and by sampling RSS otherwise.
package process

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/driverhub/driverhub/internal/driverrt"
	"github.com/driverhub/driverhub/internal/driverrt/cgroupfs"
)

// Options configure the process runtime.
type Options struct {
	// CgroupRoot is the cgroup directory under which driver cgroups
	// (driverhub/<name>) are made; "" detects one: the agent's own memory
	// cgroup, else the root of the hierarchy, cgroup v2 or v1.
	CgroupRoot string
	// DisableCgroups enforces memory limits by sampling RSS even where a
	// cgroup is writable.
	DisableCgroups bool
	// SampleEvery is how often memory is sampled (and OOM kills looked
	// for); default 1 s.
	SampleEvery time.Duration
	// Logger receives the runtime's messages; default slog.Default().
	Logger *slog.Logger
}

// Runtime runs drivers as child processes. It implements driverrt.Runtime.
type Runtime struct {
	opts Options
	log  *slog.Logger

	once  sync.Once
	cg    *cgroupRoot // nil: memory enforced by sampling
	cgErr error       // why no cgroup is used
}

var _ driverrt.Runtime = (*Runtime)(nil)

// cgroupMu serialises creating and removing driver cgroups (and the
// shared driverhub/ parent) across runtimes of this process.
var cgroupMu sync.Mutex

// recordFile is the process record in a driver's StateDir.
const recordFile = "process.json"

// New returns the process runtime: drivers as child processes, each in its own process group.
func New(opts Options) *Runtime {
	if opts.SampleEvery <= 0 {
		opts.SampleEvery = time.Second
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Runtime{opts: opts, log: log.With("runtime", "process")}
}

// Name is "process".
func (r *Runtime) Name() string { return "process" }

// Check always succeeds: the process runtime works everywhere. It logs
// how memory limits will be enforced.
func (r *Runtime) Check() error {
	cg := r.cgroups()
	if cg != nil {
		r.log.Info("memory limits enforced by cgroup", "version", cg.version, "root", cg.dir)
	} else {
		r.log.Info("memory limits enforced by sampling RSS", "every", r.opts.SampleEvery, "reason", r.cgErr)
	}
	return nil
}

// Enforcement names how memory limits are enforced: "cgroup v1",
// "cgroup v2" or "sampling".
func (r *Runtime) Enforcement() string {
	if cg := r.cgroups(); cg != nil {
		return fmt.Sprintf("cgroup v%d", cg.version)
	}
	return "sampling"
}

func (r *Runtime) cgroups() *cgroupRoot {
	r.once.Do(func() {
		if r.opts.DisableCgroups {
			r.cgErr = errors.New("cgroups disabled")
			return
		}
		r.cg, r.cgErr = detectCgroup(r.opts.CgroupRoot)
	})
	return r.cg
}

// record is what process.json holds, for Cleanup after an agent crash.
type record struct {
	Pid       int    `json:"pid"`
	Pgid      int    `json:"pgid"`
	StartTime uint64 `json:"start_time"` // /proc/<pid>/stat field 22
	Cgroup    string `json:"cgroup,omitempty"`
}

// Start starts the driver in its own process group.
func (r *Runtime) Start(spec driverrt.Spec, stdout, stderr io.Writer) (driverrt.Process, error) {
	switch {
	case spec.Name == "":
		return nil, errors.New("process: spec has no name")
	case len(spec.Command) == 0:
		return nil, fmt.Errorf("process: %s: empty command", spec.Name)
	case spec.Dir == "":
		return nil, fmt.Errorf("process: %s: no working directory", spec.Name)
	case spec.StateDir == "":
		return nil, fmt.Errorf("process: %s: no state directory", spec.Name)
	}
	dir, err := filepath.Abs(spec.Dir)
	if err != nil {
		return nil, err
	}
	env := driverEnv(spec.Env)
	path, err := resolveCommand(spec.Command[0], dir, lookupEnv(env, "PATH"))
	if err != nil {
		return nil, fmt.Errorf("process: %s: %w", spec.Name, err)
	}
	if err := os.MkdirAll(spec.StateDir, 0o755); err != nil {
		return nil, fmt.Errorf("process: %s: %w", spec.Name, err)
	}
	limit := spec.MemoryLimitBytes()
	log := r.log.With("driver", spec.Name)

	var cg *cgroup
	if root := r.cgroups(); root != nil {
		cg, err = root.create(driverrt.UnitName(spec.Name, spec.StateDir), limit)
		if errors.Is(err, errCgroupBusy) {
			return nil, fmt.Errorf("process: %s: %w", spec.Name, err)
		}
		if err != nil {
			log.Warn("cannot create cgroup; sampling memory instead", "err", err)
			cg = nil
		}
	}
	p, err := r.spawn(spec, path, dir, env, cg, stdout, stderr)
	if err != nil {
		if cg != nil {
			_ = cg.remove()
		}
		return nil, fmt.Errorf("process: %s: %w", spec.Name, err)
	}
	p.log = log
	p.limit = limit
	p.every = r.opts.SampleEvery
	p.recordPath = filepath.Join(spec.StateDir, recordFile)
	if p.cg != nil && !p.inCgroup {
		if err := p.cg.addProc(p.pid); err != nil {
			log.Warn("cannot move driver into its cgroup; sampling memory instead", "err", err)
			_ = p.cg.remove()
			p.cg = nil
		}
	}
	rec := record{Pid: p.pid, Pgid: p.pgid, StartTime: p.start}
	if p.cg != nil {
		rec.Cgroup = p.cg.Dir
	}
	if err := writeRecord(p.recordPath, rec); err != nil {
		// Without the record a crash could leave the driver running twice.
		go p.run()
		_ = p.signal(unix.SIGKILL)
		p.Wait()
		return nil, fmt.Errorf("process: %s: %w", spec.Name, err)
	}
	go p.run()
	return p, nil
}

// spawn starts the child with its output copied to the writers.
func (r *Runtime) spawn(spec driverrt.Spec, path, dir string, env []string, cg *cgroup, stdout, stderr io.Writer) (*process, error) {
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return nil, err
	}
	defer devnull.Close()
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return nil, err
	}
	attr := &os.ProcAttr{
		Dir:   dir,
		Env:   env,
		Files: []*os.File{devnull, outW, errW},
		// Own process group; no Pdeathsig: a driver outlives an agent crash.
		Sys: &syscall.SysProcAttr{Setpgid: true},
	}
	inCgroup := false
	if cg != nil && cg.Version == 2 {
		// Start the child right inside its cgroup (clone3 CLONE_INTO_CGROUP).
		if fd, err := unix.Open(cg.Dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); err == nil {
			defer unix.Close(fd)
			attr.Sys.UseCgroupFD, attr.Sys.CgroupFD = true, fd
			inCgroup = true
		}
	}
	proc, err := os.StartProcess(path, spec.Command, attr)
	if err != nil && inCgroup {
		// Kernels before 5.7 cannot; move the child after start instead.
		attr.Sys.UseCgroupFD, inCgroup = false, false
		proc, err = os.StartProcess(path, spec.Command, attr)
	}
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		return nil, err
	}
	st, err := readStat(proc.Pid)
	if err != nil {
		// Cannot happen for our unreaped child; kill it to be safe.
		_ = unix.Kill(-proc.Pid, unix.SIGKILL)
		_, _ = proc.Wait()
		outR.Close()
		errR.Close()
		return nil, err
	}
	p := &process{
		proc:     proc,
		pid:      proc.Pid,
		pgid:     proc.Pid,
		start:    st.start,
		cg:       cg,
		inCgroup: inCgroup,
		readers:  []*os.File{outR, errR},
		done:     make(chan struct{}),
	}
	var mu sync.Mutex // stdout and stderr may be one writer
	p.copies.Add(2)
	go p.copy(outR, stdout, &mu)
	go p.copy(errR, stderr, &mu)
	return p, nil
}

// Cleanup stops whatever an earlier agent left running for the driver:
// the process group recorded in stateDir when its leader is still the
// same process (same start time), and the processes in its cgroup.
func (r *Runtime) Cleanup(name, stateDir string) error {
	path := filepath.Join(stateDir, recordFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("process: cleanup %s: %w", name, err)
	}
	log := r.log.With("driver", name)
	var rec record
	if err := json.Unmarshal(data, &rec); err != nil {
		log.Warn("ignoring unreadable process record", "path", path, "err", err)
		rec = record{}
	}
	if rec.Pid > 0 && rec.Pgid > 0 && alive(rec.Pid, rec.StartTime) {
		log.Info("stopping driver left by an earlier agent", "pid", rec.Pid)
		if !killLeftover(rec, unix.SIGTERM, 2*time.Second) &&
			!killLeftover(rec, unix.SIGKILL, 5*time.Second) {
			return fmt.Errorf("process: cleanup %s: process group %d still running", name, rec.Pgid)
		}
	} else if rec.Pid > 0 {
		log.Info("driver left by an earlier agent is gone", "pid", rec.Pid)
	}
	// The driver's cgroup holds only its processes, whatever their group.
	cgDir := ""
	if rec.Cgroup != "" && filepath.Base(filepath.Dir(rec.Cgroup)) == cgroupParent &&
		filepath.Base(rec.Cgroup) == cgroupName(driverrt.UnitName(name, stateDir)) {
		cgDir = rec.Cgroup
	} else if root := r.cgroups(); root != nil {
		cgDir = root.driverDir(driverrt.UnitName(name, stateDir))
	}
	if cgDir != "" {
		if v := cgroupfs.VersionOf(cgDir); v != 0 {
			g := &cgroup{cgroupfs.Group{Version: v, Dir: cgDir}}
			g.kill()
			pollUntil(5*time.Second, 20*time.Millisecond, func() bool { return len(g.procs()) == 0 })
			if err := g.remove(); err != nil {
				return fmt.Errorf("process: cleanup %s: %w", name, err)
			}
		}
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("process: cleanup %s: %w", name, err)
	}
	return nil
}

// killLeftover signals the recorded process group and waits up to timeout
// for it to be gone. The group is signalled only while its leader is
// the recorded process: its pid then cannot name anything else.
func killLeftover(rec record, sig unix.Signal, timeout time.Duration) bool {
	gone := func() bool {
		if alive(rec.Pid, rec.StartTime) {
			return false
		}
		if rec.Pgid != rec.Pid {
			return true
		}
		for _, m := range groupMembers(rec.Pgid) {
			if m.start >= rec.StartTime {
				return false
			}
		}
		return true
	}
	send := func() {
		if alive(rec.Pid, rec.StartTime) {
			if st, err := readStat(rec.Pid); err == nil && st.pgrp == rec.Pgid {
				_ = unix.Kill(-rec.Pgid, sig)
			}
			_ = unix.Kill(rec.Pid, sig)
			return
		}
		if rec.Pgid != rec.Pid {
			return // not a group this runtime made
		}
		// Leader gone: signal the members started after it, one by one.
		for _, m := range groupMembers(rec.Pgid) {
			if m.start >= rec.StartTime {
				_ = unix.Kill(m.pid, sig)
			}
		}
	}
	send()
	return pollUntil(timeout, 20*time.Millisecond, func() bool {
		if gone() {
			return true
		}
		if sig == unix.SIGKILL {
			send() // children forked meanwhile
		}
		return false
	})
}

func writeRecord(path string, rec record) error {
	data, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// driverEnv is PATH, HOME and LANG of the agent, then extra; a later
// KEY=VALUE replaces an earlier one.
func driverEnv(extra []string) []string {
	env := make([]string, 0, 3+len(extra))
	index := map[string]int{}
	add := func(kv string) {
		k, _, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return
		}
		if i, seen := index[k]; seen {
			env[i] = kv
			return
		}
		index[k] = len(env)
		env = append(env, kv)
	}
	for _, k := range []string{"PATH", "HOME", "LANG"} {
		if v, ok := os.LookupEnv(k); ok {
			add(k + "=" + v)
		}
	}
	for _, kv := range extra {
		add(kv)
	}
	return env
}

func lookupEnv(env []string, key string) string {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, key+"="); ok {
			return v
		}
	}
	return ""
}

// defaultPath is what shells search when PATH is unset.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// resolveCommand finds argv[0] like a shell: a name with a slash is a path
// (relative to dir), any other name is searched in PATH.
func resolveCommand(name, dir, path string) (string, error) {
	if strings.Contains(name, "/") {
		p := name
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		if err := executable(p); err != nil {
			return "", err
		}
		return p, nil
	}
	if path == "" {
		path = defaultPath
	}
	for _, d := range filepath.SplitList(path) {
		if d == "" {
			d = "."
		}
		if !filepath.IsAbs(d) {
			d = filepath.Join(dir, d)
		}
		p := filepath.Join(d, name)
		if executable(p) == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: not found in PATH", name)
}

func executable(p string) error {
	fi, err := os.Stat(p)
	switch {
	case err != nil:
		return err
	case !fi.Mode().IsRegular():
		return fmt.Errorf("%s: not a regular file", p)
	case fi.Mode().Perm()&0o111 == 0:
		return fmt.Errorf("%s: not executable", p)
	}
	return nil
}
