package runc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/driverrt"
)

// runtimeDirs are the host directories that make up the gateway's
// runtimes. Those that exist are bind-mounted read-only; those that are
// symlinks (usr-merge: /bin -> usr/bin) are recreated as symlinks. /etc is
// not one of them: a container gets its own (etc.go).
var runtimeDirs = []string{"/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32"}

// initScript is the container's pid 1. The kernel drops signals without a
// handler that are sent to a pid namespace's init, so a driver run as pid 1
// would ignore SIGTERM unless it installed a handler; this shim forwards
// the usual stop signals to the driver and exits with its status.
const initScript = `trap 'kill -TERM $c 2>/dev/null' TERM
trap 'kill -INT $c 2>/dev/null' INT
trap 'kill -HUP $c 2>/dev/null' HUP
"$@" &
c=$!
wait $c; s=$?
while kill -0 $c 2>/dev/null; do wait $c; s=$?; done
exit $s`

const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// allCaps is every capability up to CAP_CHECKPOINT_RESTORE (Linux 5.9),
// indexed by number.
var allCaps = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
	"CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
	"CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
	"CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
	"CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
	"CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
	"CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
	"CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
}

// hostCaps is every capability in the agent's bounding set (allCaps when
// it cannot be read): a container cannot get more than its runtime has.
func hostCaps() []string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return allCaps
	}
	for _, line := range strings.Split(string(b), "\n") {
		v, ok := strings.CutPrefix(line, "CapBnd:")
		if !ok {
			continue
		}
		mask, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		if err != nil {
			break
		}
		var caps []string
		for i, c := range allCaps {
			if mask&(1<<uint(i)) != 0 {
				caps = append(caps, c)
			}
		}
		return caps
	}
	return allCaps
}

// standardDevices are the devices every container may use (runc creates
// their nodes itself): null, zero, full, random, urandom, tty, console,
// ptmx and the pseudo-terminals.
var standardDevices = []struct {
	major, minor int64 // minor -1: any
}{{1, 3}, {1, 5}, {1, 7}, {1, 8}, {1, 9}, {5, 0}, {5, 1}, {5, 2}, {136, -1}}

// bundle is what Start prepares before running runc.
type bundle struct {
	dir    string // <StateDir>/bundle
	spec   *specs.Spec
	cgroup string            // linux.cgroupsPath
	etc    map[string][]byte // the rootfs's /etc
}

func bundleDir(stateDir string) string { return filepath.Join(stateDir, "bundle") }

func containerID(name, stateDir string) string { return "dh-" + driverrt.UnitName(name, stateDir) }

func cgroupsPath(name, stateDir string) string {
	return "/driverhub/" + driverrt.UnitName(name, stateDir)
}

// makeBundle checks the spec against the host and builds the OCI config.
func makeBundle(s driverrt.Spec) (*bundle, error) {
	if err := checkSpec(s); err != nil {
		return nil, err
	}
	hostPath := os.Getenv("PATH")
	if hostPath == "" {
		hostPath = defaultPath
	}
	argv0, err := resolveCommand(s.Command[0], s.Dir, hostPath)
	if err != nil {
		return nil, err
	}
	c := s.Container
	u := containerUser(s)
	b := &bundle{dir: bundleDir(s.StateDir), cgroup: cgroupsPath(s.Name, s.StateDir), etc: etcFiles(u, s.Dir)}
	args := append([]string{"/bin/sh", "-c", initScript, "driverhub-init", argv0}, s.Command[1:]...)
	// No capabilities unless privileged, not even runc's defaults: a driver
	// that serves a port below 1024 does so from a private network.
	caps := []string{}
	if c.Privileged {
		caps = hostCaps()
	}
	// Up to 65536 open files, within the agent's own hard limit (runc
	// sets it after dropping capabilities, so it cannot be raised).
	nofile := uint64(65536)
	var rl unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &rl) == nil && rl.Max < nofile {
		nofile = rl.Max
	}
	sp := &specs.Spec{
		Version: specs.Version,
		Process: &specs.Process{
			Args: args,
			Env:  buildEnv(hostPath, s.Dir, s.Env),
			Cwd:  s.Dir,
			User: specs.User{UID: u.UID, GID: u.GID},
			Capabilities: &specs.LinuxCapabilities{
				Bounding: caps, Effective: caps, Permitted: caps,
			},
			Rlimits:         []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: nofile, Soft: nofile}},
			NoNewPrivileges: !c.Privileged,
		},
		Root: &specs.Root{Path: "rootfs", Readonly: true},
		Linux: &specs.Linux{
			CgroupsPath: b.cgroup,
			Resources:   &specs.LinuxResources{},
			Namespaces: []specs.LinuxNamespace{
				{Type: specs.PIDNamespace}, {Type: specs.IPCNamespace}, {Type: specs.MountNamespace},
			},
		},
	}
	if !c.HostNetwork {
		sp.Linux.Namespaces = append(sp.Linux.Namespaces,
			specs.LinuxNamespace{Type: specs.NetworkNamespace}, specs.LinuxNamespace{Type: specs.UTSNamespace})
		sp.Hostname = s.Name
		// Its own network: any port of it is the driver's to serve, as
		// they were when drivers ran as root.
		sp.Linux.Sysctl = map[string]string{"net.ipv4.ip_unprivileged_port_start": "0"}
	}
	if c.MemoryLimitMB > 0 {
		limit := s.MemoryLimitBytes()
		sp.Linux.Resources.Memory = &specs.LinuxMemory{Limit: &limit, Swap: &limit}
	}
	if sp.Mounts, err = mounts(s, argv0, hostPath); err != nil {
		return nil, err
	}
	if err := addDevices(sp, u, c.Privileged, c.DeviceMappings); err != nil {
		return nil, err
	}
	b.spec = sp
	return b, nil
}

// containerUser is whom the container's process runs as: the spec's
// user, root for a privileged driver; root when the spec names none (the
// runc runtime needs the agent to be root).
func containerUser(s driverrt.Spec) driverrt.User {
	if s.Container.Privileged || s.User == nil {
		return driverrt.Root
	}
	return *s.User
}

// checkSpec refuses a spec runc cannot run.
func checkSpec(s driverrt.Spec) error {
	if !validName(s.Name) {
		return fmt.Errorf("runc: invalid driver name %q", s.Name)
	}
	if !filepath.IsAbs(s.Dir) {
		return fmt.Errorf("runc: driver directory %q is not absolute", s.Dir)
	}
	if fi, err := os.Stat(s.Dir); err != nil || !fi.IsDir() {
		return fmt.Errorf("runc: driver directory %s does not exist", s.Dir)
	}
	if s.StateDir == "" || !filepath.IsAbs(s.StateDir) {
		return fmt.Errorf("runc: state directory %q is not absolute", s.StateDir)
	}
	if len(s.Command) == 0 {
		return errors.New("runc: empty command")
	}
	if s.User.IsRoot() && !s.Container.Privileged {
		return errors.New("runc: only a privileged driver runs as root")
	}
	return nil
}

// mounts lists the container's mounts: the system ones, the interpreter's
// directories (read-only), the driver's directory and its volumes.
func mounts(s driverrt.Spec, argv0, hostPath string) ([]specs.Mount, error) {
	ms := append(systemMounts(s.Container.Privileged), etcMounts()...)
	extra, err := interpreterDirs(argv0, s.Dir, hostPath)
	if err != nil {
		return nil, err
	}
	for _, d := range extra {
		ms = append(ms, bindMount(d, d, true))
	}
	ms = append(ms, bindMount(s.Dir, s.Dir, false))
	for _, v := range s.Container.VolumeMappings {
		if !filepath.IsAbs(v.HostPath) || !filepath.IsAbs(v.ContainerPath) || filepath.Clean(v.ContainerPath) == "/" {
			return nil, fmt.Errorf("runc: volume %s:%s: paths must be absolute", v.HostPath, v.ContainerPath)
		}
		if _, err := os.Stat(v.HostPath); err != nil {
			return nil, fmt.Errorf("runc: volume %s: host path does not exist", v.HostPath)
		}
		ms = append(ms, bindMount(v.HostPath, filepath.Clean(v.ContainerPath), v.Permission != "rw"))
	}
	return ms, nil
}

// addDevices fills linux.devices and the device cgroup rules. A listed
// device's node in the container belongs to the driver's user, readable,
// or writable too, as its permission says.
func addDevices(sp *specs.Spec, u driverrt.User, privileged bool, maps []driverhub.DeviceMapping) error {
	if privileged {
		sp.Linux.Resources.Devices = []specs.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}}
		return nil
	}
	sp.Linux.MaskedPaths = []string{"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
		"/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
		"/sys/firmware", "/proc/scsi"}
	sp.Linux.ReadonlyPaths = []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}
	rules := []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}
	for _, d := range standardDevices {
		major, minor := d.major, d.minor
		r := specs.LinuxDeviceCgroup{Allow: true, Type: "c", Major: &major, Access: "rwm"}
		if minor >= 0 {
			r.Minor = &minor
		}
		rules = append(rules, r)
	}
	for _, m := range maps {
		p := filepath.Clean(m.HostPath)
		var st unix.Stat_t
		if err := unix.Stat(p, &st); err != nil {
			return fmt.Errorf("runc: device %s does not exist", m.HostPath)
		}
		typ := ""
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFCHR:
			typ = "c"
		case unix.S_IFBLK:
			typ = "b"
		default:
			return fmt.Errorf("runc: %s is not a device", m.HostPath)
		}
		major, minor := int64(unix.Major(st.Rdev)), int64(unix.Minor(st.Rdev))
		mode := os.FileMode(0o400)
		if m.Permission == "rw" {
			mode = 0o600
		}
		uid, gid := u.UID, u.GID
		sp.Linux.Devices = append(sp.Linux.Devices, specs.LinuxDevice{
			Path: p, Type: typ, Major: major, Minor: minor, FileMode: &mode, UID: &uid, GID: &gid,
		})
		access := "r"
		if m.Permission == "rw" {
			access = "rw"
		}
		rules = append(rules, specs.LinuxDeviceCgroup{Allow: true, Type: typ, Major: &major, Minor: &minor, Access: access})
	}
	sp.Linux.Resources.Devices = rules
	return nil
}

// systemMounts are proc, dev, sys and /tmp, then the runtimes' directories.
func systemMounts(privileged bool) []specs.Mount {
	sysOpts := []string{"nosuid", "noexec", "nodev", "ro"}
	dev := specs.Mount{Destination: "/dev", Type: "tmpfs", Source: "tmpfs",
		Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}}
	if privileged {
		sysOpts = []string{"nosuid", "noexec", "nodev", "rw"}
		dev = specs.Mount{Destination: "/dev", Type: "bind", Source: "/dev", Options: []string{"rbind", "rw", "nosuid"}}
	}
	ms := []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc"},
		dev,
		{Destination: "/dev/pts", Type: "devpts", Source: "devpts",
			Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
		{Destination: "/dev/shm", Type: "tmpfs", Source: "shm",
			Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
		{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: sysOpts},
		{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev", "mode=1777"}},
	}
	for _, d := range runtimeDirs {
		if fi, err := os.Lstat(d); err == nil && fi.IsDir() {
			ms = append(ms, bindMount(d, d, true))
		}
	}
	return ms
}

func bindMount(src, dst string, ro bool) specs.Mount {
	opts := []string{"rbind", "rprivate", "rw", "nosuid", "nodev"}
	if ro {
		opts = []string{"rbind", "rprivate", "ro", "rro", "nosuid", "nodev"}
	}
	return specs.Mount{Destination: dst, Type: "bind", Source: src, Options: opts}
}

// write creates the bundle directory: config.json and an empty rootfs
// holding only the usr-merge symlinks.
func (b *bundle) write() error {
	if err := os.RemoveAll(b.dir); err != nil {
		return fmt.Errorf("runc: remove old bundle: %w", err)
	}
	rootfs := filepath.Join(b.dir, "rootfs")
	if err := os.MkdirAll(rootfs, 0o755); err != nil {
		return fmt.Errorf("runc: bundle: %w", err)
	}
	for _, d := range runtimeDirs {
		fi, err := os.Lstat(d)
		if err != nil || fi.Mode()&os.ModeSymlink == 0 {
			continue
		}
		target, err := os.Readlink(d)
		if err != nil {
			return fmt.Errorf("runc: bundle: %w", err)
		}
		if err := os.Symlink(target, filepath.Join(rootfs, d)); err != nil {
			return fmt.Errorf("runc: bundle: %w", err)
		}
	}
	if err := writeEtc(rootfs, b.etc); err != nil {
		return err
	}
	data, err := json.MarshalIndent(b.spec, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(b.dir, "config.json"), data, 0o600)
}

// buildEnv is PATH, HOME (the driver's directory) and LANG, overridden by
// the spec's own pairs.
func buildEnv(hostPath, home string, env []string) []string {
	base := map[string]string{"PATH": hostPath, "HOME": home, "LANG": "C.UTF-8"}
	set := map[string]bool{}
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		set[k] = true
	}
	var out []string
	for _, k := range []string{"PATH", "HOME", "LANG"} {
		if !set[k] {
			out = append(out, k+"="+base[k])
		}
	}
	return append(out, env...)
}

// resolveCommand makes argv[0] absolute: relative to dir when it holds a
// slash, else looked up on the host PATH.
func resolveCommand(argv0, dir, hostPath string) (string, error) {
	if strings.Contains(argv0, "/") {
		if !filepath.IsAbs(argv0) {
			argv0 = filepath.Join(dir, argv0)
		}
		return argv0, nil
	}
	p, err := lookPath(argv0, hostPath)
	if err != nil {
		return "", fmt.Errorf("runc: %s not found on PATH", argv0)
	}
	return p, nil
}

func lookPath(file, path string) (string, error) {
	for _, d := range filepath.SplitList(path) {
		if !filepath.IsAbs(d) {
			continue
		}
		p := filepath.Join(d, file)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", exec.ErrNotFound
}

// interpreterDirs lists the host directories outside the runtimes'
// directories that the command needs: argv[0]'s real location, and that
// of the interpreter its #! line names (one level, `env NAME` resolved).
func interpreterDirs(argv0, dir, hostPath string) ([]string, error) {
	var paths []string
	add := func(p string) {
		paths = append(paths, p)
		if real, err := filepath.EvalSymlinks(p); err == nil && real != p {
			paths = append(paths, real)
		}
	}
	add(argv0)
	if interp := shebang(argv0); len(interp) > 0 {
		add(interp[0])
		if filepath.Base(interp[0]) == "env" && len(interp) > 1 && !strings.HasPrefix(interp[1], "-") {
			if p, err := lookPath(interp[1], hostPath); err == nil {
				add(p)
			}
		}
	}
	var out []string
	for _, p := range paths {
		if !filepath.IsAbs(p) || within(p, dir) || underRuntimeDir(p) {
			continue
		}
		d := topDir(p)
		dup := false
		for _, o := range out {
			if within(d, o) {
				dup = true
			}
		}
		if !dup {
			out = append(out, d)
		}
	}
	return out, nil
}

// topDir is the directory to mount for a file outside the runtimes'
// directories: /opt/x, /root/.x or /home/user/.x, never the file itself.
func topDir(p string) string {
	parts := strings.Split(strings.TrimPrefix(filepath.Clean(p), "/"), "/")
	n := 2
	if parts[0] == "home" {
		n = 3
	}
	if n > len(parts)-1 {
		n = len(parts) - 1
	}
	if n < 1 {
		return filepath.Dir(p)
	}
	return "/" + filepath.Join(parts[:n]...)
}

func underRuntimeDir(p string) bool {
	for _, d := range runtimeDirs {
		if within(p, d) {
			return true
		}
	}
	return false
}

// within reports whether p is dir or below it.
func within(p, dir string) bool {
	p, dir = filepath.Clean(p), filepath.Clean(dir)
	return p == dir || strings.HasPrefix(p, strings.TrimSuffix(dir, "/")+"/")
}

// shebang returns the words of a script's #! line, nil for binaries.
func shebang(path string) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	buf := make([]byte, 256)
	n, _ := f.Read(buf)
	buf = buf[:n]
	if !bytes.HasPrefix(buf, []byte("#!")) {
		return nil
	}
	line, _, _ := bytes.Cut(buf[2:], []byte("\n"))
	return strings.Fields(string(line))
}
