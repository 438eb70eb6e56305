// Package runc runs each driver as an OCI container through runc (SPEC §7,
// §12): as the driver's own user with no capabilities (root only when
// privileged), an empty read-only rootfs with the gateway's runtimes
// bind-mounted read-only and an /etc of its own (never the host's), the
// driver directory mounted read-write at its own path, and every container
// setting of SPEC §3 applied (host or private network with forwarded
// ports, privileged or listed devices, volumes, memory limit).
package runc

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/driverhub/driverhub/internal/driverrt"
	"github.com/driverhub/driverhub/internal/driverrt/cgroupfs"
)

// DefaultRoot is runc's state directory (runc --root) for driverhub.
const DefaultRoot = "/run/driverhub-runc"

const (
	startTimeout = 30 * time.Second // runc run until the pid file appears
	cmdTimeout   = 30 * time.Second // runc kill, runc delete
	killWait     = 10 * time.Second // after SIGKILL, before killing runc itself
)

var nameRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,19}$`)

func validName(s string) bool { return nameRE.MatchString(s) }

// Options configure the runtime.
type Options struct {
	// Runc is the runc binary: a path, or a name looked up on PATH
	// (default "runc").
	Runc string
	// Root is runc's state directory, runc --root (default DefaultRoot).
	Root string
	// Logger receives diagnostics (default slog.Default()).
	Logger *slog.Logger
}

// Runtime runs drivers as runc containers.
type Runtime struct {
	runc string
	root string
	log  *slog.Logger
}

var _ driverrt.Runtime = (*Runtime)(nil)

// New returns a runc runtime.
func New(opts Options) *Runtime {
	r := &Runtime{runc: opts.Runc, root: opts.Root, log: opts.Logger}
	if r.runc == "" {
		r.runc = "runc"
	}
	if r.root == "" {
		r.root = DefaultRoot
	}
	if r.log == nil {
		r.log = slog.Default()
	}
	return r
}

// Name is "runc".
func (r *Runtime) Name() string { return "runc" }

// Check reports whether runc is installed and the agent runs as root.
func (r *Runtime) Check() error {
	if _, err := r.binary(); err != nil {
		return err
	}
	if os.Geteuid() != 0 {
		return errors.New("runc: the runc runtime needs the agent to run as root")
	}
	return nil
}

func (r *Runtime) binary() (string, error) {
	p, err := exec.LookPath(r.runc)
	if err != nil {
		if strings.Contains(r.runc, "/") {
			return "", fmt.Errorf("runc not found at %s: install the runc package (apt-get install runc)", r.runc)
		}
		return "", errors.New("runc not found on PATH: install the runc package (apt-get install runc)")
	}
	return p, nil
}

// runcCmd runs a short runc command and returns its combined output.
func (r *Runtime) runcCmd(args ...string) (string, error) {
	bin, err := r.binary()
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, append([]string{"--root", r.root}, args...)...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// delete removes the container, killing it first; a missing container is
// not an error.
func (r *Runtime) delete(id string) error {
	out, err := r.runcCmd("delete", "--force", id)
	if err != nil && !strings.Contains(out, "does not exist") {
		return fmt.Errorf("runc delete %s: %v: %s", id, err, out)
	}
	return nil
}

// Cleanup kills and removes the container an earlier agent left for the
// driver, and its bundle.
func (r *Runtime) Cleanup(name, stateDir string) error {
	if !validName(name) {
		return fmt.Errorf("runc: invalid driver name %q", name)
	}
	if err := r.delete(containerID(name, stateDir)); err != nil {
		return err
	}
	if stateDir != "" {
		if err := os.RemoveAll(bundleDir(stateDir)); err != nil {
			return fmt.Errorf("runc: remove bundle: %w", err)
		}
	}
	return nil
}

// Start writes the bundle and runs `runc run` in the foreground; it returns
// once the container's process runs (runc has written its pid file).
func (r *Runtime) Start(s driverrt.Spec, stdout, stderr io.Writer) (driverrt.Process, error) {
	bin, err := r.binary()
	if err != nil {
		return nil, err
	}
	b, err := makeBundle(s)
	if err != nil {
		return nil, err
	}
	id := containerID(s.Name, s.StateDir)
	if _, err := os.Stat(filepath.Join(r.root, id)); err == nil {
		return nil, fmt.Errorf("runc: container %s already exists (left by an earlier run; clean it up first)", id)
	}
	var fw *forwarder
	if !s.Container.HostNetwork {
		if fw, err = listenPorts(r.log, s.Container.PortMappings); err != nil {
			return nil, err
		}
	} else if len(s.Container.PortMappings) > 0 {
		return nil, errors.New("runc: port mappings need a private network (host_network false); on the host network the driver serves its ports itself")
	}
	fail := func(err error) (driverrt.Process, error) {
		fw.close()
		return nil, err
	}
	if err := b.write(); err != nil {
		return fail(err)
	}
	if err := os.MkdirAll(r.root, 0o700); err != nil {
		return fail(fmt.Errorf("runc: state root: %w", err))
	}
	p, err := r.launch(bin, b, id, fw, stdout, stderr)
	if err != nil {
		return fail(err)
	}
	if err := r.awaitPid(p, b); err != nil {
		return fail(err)
	}
	if w, err := watchOOM(p.cg); err == nil {
		p.oom = w
	} else if errors.Is(err, fs.ErrNotExist) {
		r.log.Debug("runc: container ended before its OOM watch", "id", id)
	} else {
		r.log.Warn("runc: cannot watch for OOM kills", "id", id, "err", err)
	}
	if err := fw.start(p.pid); err != nil {
		r.delete(id)
		<-p.exited
		p.oom.stop()
		return fail(err)
	}
	go p.finish()
	return p, nil
}

// launch runs `runc run` for the bundle in the foreground, in its own
// process group: a terminal's ^C to the agent is not forwarded to the
// driver by runc; the agent decides.
func (r *Runtime) launch(bin string, b *bundle, id string, fw *forwarder, stdout, stderr io.Writer) (*process, error) {
	cmd := exec.Command(bin, "--root", r.root, "--log", filepath.Join(b.dir, runcLogFile), "--log-format", "json",
		"run", "--bundle", b.dir, "--pid-file", filepath.Join(b.dir, pidFileName), id)
	cmd.Dir = b.dir
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// If runc dies while the container still holds the output pipes, do
	// not wait for them forever.
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("runc: %w", err)
	}
	p := &process{rt: r, id: id, cmd: cmd, fw: fw,
		cg: cgroupfs.Memory(cgroupfs.DefaultRoot, b.cgroup), exited: make(chan struct{}), done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// awaitPid waits until the container's process runs and sets p.pid. When
// it does not, it ends runc, removes the container and says why.
func (r *Runtime) awaitPid(p *process, b *bundle) error {
	pid, err := waitPidFile(filepath.Join(b.dir, pidFileName), p.exited, startTimeout)
	if err != nil {
		select {
		case <-p.exited:
		default:
			p.cmd.Process.Kill()
			<-p.exited
		}
		if derr := r.delete(p.id); derr != nil {
			r.log.Warn("runc: delete after failed start", "id", p.id, "err", derr)
		}
		if msg := runcError(filepath.Join(b.dir, runcLogFile)); msg != "" {
			err = errors.New(msg)
		}
		return fmt.Errorf("runc: start %s: %w", p.id, err)
	}
	p.pid = pid
	return nil
}

// Files runc writes in the bundle.
const (
	pidFileName = "pid"
	runcLogFile = "runc.log"
)

// waitPidFile waits until runc has written the container's pid, runc has
// exited, or the timeout.
func waitPidFile(path string, exited <-chan struct{}, timeout time.Duration) (int, error) {
	deadline := time.After(timeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if b, err := os.ReadFile(path); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 0 {
				return pid, nil
			}
		}
		select {
		case <-exited:
			// A driver that ends at once may have started, and ended, between
			// two looks: its pid file tells.
			if b, err := os.ReadFile(path); err == nil {
				if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 0 {
					return pid, nil
				}
			}
			return 0, errors.New("runc exited before the container started")
		case <-deadline:
			return 0, fmt.Errorf("container not started after %v", timeout)
		case <-tick.C:
		}
	}
}

// runcError is the last error runc logged, "" when none.
func runcError(logFile string) string {
	f, err := os.Open(logFile)
	if err != nil {
		return ""
	}
	defer f.Close()
	msg := ""
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var e struct{ Level, Msg string }
		if json.Unmarshal(sc.Bytes(), &e) == nil && (e.Level == "error" || e.Level == "fatal") && e.Msg != "" {
			msg = e.Msg
		} else if len(bytes.TrimSpace(sc.Bytes())) > 0 && !bytes.HasPrefix(sc.Bytes(), []byte("{")) {
			msg = string(bytes.TrimSpace(sc.Bytes()))
		}
	}
	return msg
}

// process is one `runc run`.
type process struct {
	rt      *Runtime
	id      string
	pid     int
	cmd     *exec.Cmd
	cg      cgroupfs.Group
	fw      *forwarder
	oom     *oomWatch
	waitErr error
	exited  chan struct{} // runc run has exited
	done    chan struct{} // and everything of the container is gone
	exit    driverrt.Exit
}

func (p *process) Pid() int { return p.pid }

func (p *process) Wait() driverrt.Exit {
	<-p.done
	return p.exit
}

// finish runs when runc run exits: stop the forwarders and the OOM watch,
// delete the container, and work out how it ended.
func (p *process) finish() {
	<-p.exited
	oom := p.oom.stop()
	p.fw.close()
	if err := p.rt.delete(p.id); err != nil {
		p.rt.log.Warn("runc: delete", "id", p.id, "err", err)
	}
	e := exitOf(p.cmd.ProcessState, p.waitErr)
	if oom && (e.Signal == "SIGKILL" || e.Code == 137) {
		e.OOM = true
	}
	p.exit = e
	close(p.done)
}

// exitOf maps runc's exit: runc exits with the container's status, 128+n
// when the container's process was killed by signal n.
func exitOf(ps *os.ProcessState, err error) driverrt.Exit {
	if ps == nil {
		if err == nil {
			err = errors.New("runc: no exit status")
		}
		return driverrt.Exit{Code: -1, Err: err}
	}
	ws, ok := ps.Sys().(syscall.WaitStatus)
	if !ok {
		return driverrt.Exit{Code: ps.ExitCode()}
	}
	if ws.Signaled() {
		return driverrt.Exit{Code: -1, Signal: unix.SignalName(ws.Signal())}
	}
	code := ws.ExitStatus()
	if code > 128 {
		if name := unix.SignalName(syscall.Signal(code - 128)); name != "" {
			return driverrt.Exit{Code: -1, Signal: name}
		}
	}
	return driverrt.Exit{Code: code}
}

// Stop sends SIGTERM to the container (its init forwards it to the
// driver), then SIGKILL after grace.
func (p *process) Stop(grace time.Duration) error {
	select {
	case <-p.done:
		return nil
	default:
	}
	if out, err := p.rt.runcCmd("kill", p.id, "TERM"); err != nil {
		p.rt.log.Debug("runc: kill TERM", "id", p.id, "err", err, "out", out)
	}
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-p.done:
		return nil
	case <-t.C:
	}
	if out, err := p.rt.runcCmd("kill", p.id, "KILL"); err != nil {
		p.rt.log.Debug("runc: kill KILL", "id", p.id, "err", err, "out", out)
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(killWait):
	}
	// runc itself is stuck: kill it; finish deletes the container.
	p.cmd.Process.Kill()
	select {
	case <-p.done:
		return nil
	case <-time.After(cmdTimeout + killWait):
		return fmt.Errorf("runc: container %s did not stop", p.id)
	}
}

// MemoryBytes reads the container's memory cgroup.
func (p *process) MemoryBytes() int64 {
	select {
	case <-p.exited:
		return 0
	default:
	}
	return p.cg.Usage()
}
