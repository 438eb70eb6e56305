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

	"github.com/driverhub/driverhub"
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

var (
	_ driverrt.Runtime          = (*Runtime)(nil)
	_ driverrt.ContainerChecker = (*Runtime)(nil)
)

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
	// Devices are the device ACL entries given to the driver, taken back
	// by Cleanup when the agent could not.
	Devices []grant `json:"devices,omitempty"`
}

// Start starts the driver in its own process group, as spec.User, with
// exactly spec.Env, no supplementary groups and, unless it is privileged,
// no way to gain privileges (no_new_privs: setuid binaries do not raise it).
func (r *Runtime) Start(spec driverrt.Spec, stdout, stderr io.Writer) (driverrt.Process, error) {
	l, err := r.plan(spec)
	if err != nil {
		return nil, fmt.Errorf("process: %s: %w", spec.Name, err)
	}
	if err := os.MkdirAll(spec.StateDir, 0o700); err != nil {
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
	var devs []grant
	if u := spec.User; u != nil && !u.IsRoot() {
		if devs, err = grantDevices(spec.Container.DeviceMappings, u.UID); err != nil {
			if cg != nil {
				_ = cg.remove()
			}
			return nil, fmt.Errorf("process: %s: %w", spec.Name, err)
		}
	}
	p, err := r.spawn(l, cg, stdout, stderr)
	if err != nil {
		revokeDevices(devs)
		if cg != nil {
			_ = cg.remove()
		}
		return nil, fmt.Errorf("process: %s: %w", spec.Name, err)
	}
	p.log, p.limit, p.every, p.devices = log, limit, r.opts.SampleEvery, devs
	p.recordPath = filepath.Join(spec.StateDir, recordFile)
	if p.cg != nil && !p.inCgroup {
		if err := p.cg.addProc(p.pid); err != nil {
			log.Warn("cannot move driver into its cgroup; sampling memory instead", "err", err)
			_ = p.cg.remove()
			p.cg = nil
		}
	}
	rec := record{Pid: p.pid, Pgid: p.pgid, StartTime: p.start, Devices: devs}
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

// launch is what Start works out before it starts anything.
type launch struct {
	argv       []string
	path, dir  string
	env        []string
	cred       *syscall.Credential // nil: the agent's own user
	noNewPrivs bool
}

// plan checks the spec and resolves the command as the driver's user
// would find it.
func (r *Runtime) plan(spec driverrt.Spec) (*launch, error) {
	switch {
	case spec.Name == "":
		return nil, errors.New("spec has no name")
	case len(spec.Command) == 0:
		return nil, errors.New("empty command")
	case spec.Dir == "":
		return nil, errors.New("no working directory")
	case spec.StateDir == "":
		return nil, errors.New("no state directory")
	case spec.User.IsRoot() && !spec.Container.Privileged:
		return nil, errors.New("only a privileged driver runs as root")
	}
	if err := r.CheckContainer(spec.Container); err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(spec.Dir)
	if err != nil {
		return nil, err
	}
	env := driverEnv(spec.Env)
	path, err := resolveCommand(spec.Command[0], dir, lookupEnv(env, "PATH"), spec.User)
	if err != nil {
		return nil, err
	}
	l := &launch{argv: spec.Command, path: path, dir: dir, env: env, noNewPrivs: !spec.Container.Privileged}
	if u := spec.User; u != nil && os.Geteuid() == 0 {
		// An empty Groups clears the agent's supplementary groups.
		l.cred = &syscall.Credential{Uid: u.UID, Gid: u.GID, Groups: []uint32{}}
	}
	return l, nil
}

// CheckContainer refuses the settings only a container can enforce: a
// private network (and so port mappings) and volume mappings. The process
// runtime enforces the memory limit, privileged and device mappings.
func (r *Runtime) CheckContainer(c driverhub.Container) error {
	var refused []string
	if !c.HostNetwork {
		refused = append(refused, "a private network (host_network false)")
	}
	if len(c.PortMappings) > 0 {
		refused = append(refused, "port_mappings")
	}
	if len(c.VolumeMappings) > 0 {
		refused = append(refused, "volume_mappings")
	}
	if len(refused) == 0 {
		return nil
	}
	return fmt.Errorf("the process runtime cannot enforce %s: it runs drivers as plain processes; run the agent with --runtime runc", strings.Join(refused, ", "))
}

// spawn starts the child with its output copied to the writers.
func (r *Runtime) spawn(l *launch, cg *cgroup, stdout, stderr io.Writer) (*process, error) {
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
		Dir:   l.dir,
		Env:   l.env,
		Files: []*os.File{devnull, outW, errW},
		// Own process group; no Pdeathsig: a driver outlives an agent crash.
		Sys: &syscall.SysProcAttr{Setpgid: true, Credential: l.cred},
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
	proc, err := startProcess(l, attr)
	if err != nil && inCgroup {
		// Kernels before 5.7 cannot; move the child after start instead.
		attr.Sys.UseCgroupFD, inCgroup = false, false
		proc, err = startProcess(l, attr)
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
	revokeDevices(rec.Devices)
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
	if err := os.WriteFile(tmp, append(data, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
