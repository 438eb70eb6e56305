package process

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/driverhub/driverhub/internal/driverrt"
)

const (
	// killTimeout bounds the wait for a process group to be gone after SIGKILL.
	killTimeout = 5 * time.Second
	// outputTimeout bounds the wait for the output pipes to be drained once
	// the process group is gone (a process that left the group may hold them).
	outputTimeout = 2 * time.Second
)

// process is one run of a driver. It implements driverrt.Process.
type process struct {
	proc       *os.Process
	pid, pgid  int
	start      uint64 // start time of pid, /proc/<pid>/stat field 22
	cg         *cgroup
	inCgroup   bool // started inside cg (v2 CLONE_INTO_CGROUP)
	log        *slog.Logger
	limit      int64
	every      time.Duration
	recordPath string
	devices    []grant // device ACL entries to take back at the end

	readers []*os.File
	copies  sync.WaitGroup

	// mu guards signalling against reaping: while the leader is not
	// reaped its pid (= the pgid) cannot be reused, so signals are safe.
	mu       sync.Mutex
	reaped   bool
	stopping bool // Stop sent SIGKILL

	oom  atomic.Bool // killed by the monitor for exceeding the limit
	done chan struct{}
	exit driverrt.Exit
}

var _ driverrt.Process = (*process)(nil)

// Pid is the driver's main process id.
func (p *process) Pid() int { return p.pid }

// Wait blocks until the driver has exited, its process group (and cgroup)
// is empty and its output has been copied.
func (p *process) Wait() driverrt.Exit {
	<-p.done
	return p.exit
}

// Stop sends SIGTERM to the process group, SIGKILL after grace, and
// returns once the driver is gone.
func (p *process) Stop(grace time.Duration) error {
	select {
	case <-p.done:
		return nil
	default:
	}
	err := p.signal(unix.SIGTERM)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-p.done:
		return nil
	case <-t.C:
	}
	p.mu.Lock()
	p.stopping = true
	p.mu.Unlock()
	if kerr := p.signal(unix.SIGKILL); kerr != nil {
		err = kerr
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(2 * killTimeout):
		return errors.Join(fmt.Errorf("pid %d still running after SIGKILL", p.pid), err)
	}
}

// MemoryBytes is the larger of the cgroup's memory use and the summed RSS
// of the group: a cgroup does not count what a driver touched before it
// joined (cgroup v1 charges pages where they were first touched).
func (p *process) MemoryBytes() int64 {
	select {
	case <-p.done:
		return 0
	default:
	}
	var cg int64
	if p.cg != nil {
		cg = p.cg.Usage()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.reaped {
		return 0
	}
	return max(cg, groupRSS(p.pgid))
}

// signal sends sig to the process group and its leader, and with SIGKILL
// to everything in the cgroup. It does nothing once the leader is reaped.
func (p *process) signal(sig unix.Signal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.reaped {
		return nil
	}
	gerr := unix.Kill(-p.pgid, sig)
	perr := unix.Kill(p.pid, sig) // in case the leader left its group
	if sig == unix.SIGKILL && p.cg != nil {
		p.cg.kill()
	}
	if gerr == nil || perr == nil || (errors.Is(gerr, unix.ESRCH) && errors.Is(perr, unix.ESRCH)) {
		return nil
	}
	return fmt.Errorf("signal %s to group %d: %w", unix.SignalName(sig), p.pgid, gerr)
}

// run waits for the driver, makes sure nothing of it remains, reaps it
// and records how it ended.
func (p *process) run() {
	stopMonitor := make(chan struct{})
	var monitor sync.WaitGroup
	if p.limit > 0 {
		monitor.Go(func() { p.monitor(stopMonitor) })
	}

	// Wait for the leader to exit without reaping it, so that its pid
	// still names the group while the rest of the group is killed.
	if err := waitExited(p.pid); err != nil {
		p.log.Warn("waitid", "pid", p.pid, "err", err)
	}
	close(stopMonitor)
	monitor.Wait()
	if !p.killRest() {
		p.log.Warn("processes of the driver still running", "pgid", p.pgid, "after", killTimeout)
	}

	p.mu.Lock()
	p.reaped = true
	p.mu.Unlock()
	state, err := p.proc.Wait()
	var exit driverrt.Exit
	if err != nil {
		exit.Err = err
	} else if ws, ok := state.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		exit.Code, exit.Signal = -1, signalName(ws.Signal())
	} else {
		exit.Code = state.ExitCode()
	}

	exit.OOM = p.oom.Load()
	if p.cg != nil {
		if n, ok := p.cg.OOMKills(); ok {
			exit.OOM = exit.OOM || n > 0
		} else if exit.Signal == "SIGKILL" && !p.stopping && p.limit > 0 && p.cg.LimitHits() > 0 {
			exit.OOM = true // v1 without oom_kill: an unexplained SIGKILL at the limit
		}
	}
	p.drainOutput()
	if p.cg != nil {
		if err := p.cg.remove(); err != nil {
			p.log.Warn("cannot remove cgroup", "dir", p.cg.Dir, "err", err)
		}
	}
	revokeDevices(p.devices)
	p.removeRecord()
	if exit.OOM {
		p.log.Warn("driver killed: memory limit exceeded", "pid", p.pid, "limit", p.limit)
	}
	p.exit = exit
	close(p.done)
}

// waitExited blocks until pid has exited, leaving it unreaped.
func waitExited(pid int) error {
	for {
		var info unix.Siginfo
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}

// killRest kills what remains of the group (and cgroup) after the leader
// exited, and waits, bounded, until it is gone.
func (p *process) killRest() bool {
	return pollUntil(killTimeout, 20*time.Millisecond, func() bool {
		rest := len(groupMembers(p.pgid))
		if p.cg != nil {
			rest += len(p.cg.procs())
		}
		if rest == 0 {
			return true
		}
		_ = p.signal(unix.SIGKILL)
		return false
	})
}

// monitor enforces the memory limit: with a cgroup it turns any OOM kill
// into the end of the whole driver; without one it samples the RSS of
// the group and kills the group above the limit.
func (p *process) monitor(stop <-chan struct{}) {
	t := time.NewTicker(p.every)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		if p.cg != nil {
			if n, ok := p.cg.OOMKills(); ok && n > 0 {
				p.oom.Store(true)
				_ = p.signal(unix.SIGKILL)
				return
			}
			continue
		}
		if rss := groupRSS(p.pgid); rss > p.limit {
			p.log.Warn("memory limit exceeded; killing the driver", "rss", rss, "limit", p.limit)
			p.oom.Store(true)
			_ = p.signal(unix.SIGKILL)
			return
		}
	}
}

// copy copies one output pipe to its writer; write errors are ignored so
// that the driver never blocks or gets EPIPE because of a writer.
func (p *process) copy(r *os.File, w io.Writer, mu *sync.Mutex) {
	defer p.copies.Done()
	defer r.Close()
	if w == nil {
		w = io.Discard
	}
	buf := make([]byte, 8<<10) // per pipe of every driver: the agent's memory; a longer line takes several reads
	for {
		n, err := r.Read(buf)
		if n > 0 {
			mu.Lock()
			_, _ = w.Write(buf[:n])
			mu.Unlock()
		}
		if err != nil {
			return
		}
	}
}

// drainOutput waits for the output to be copied; a process that escaped
// the group may still hold the pipes, which are then closed.
func (p *process) drainOutput() {
	copied := make(chan struct{})
	go func() {
		p.copies.Wait()
		close(copied)
	}()
	select {
	case <-copied:
		return
	case <-time.After(outputTimeout):
	}
	for _, r := range p.readers {
		r.Close()
	}
	select {
	case <-copied:
	case <-time.After(outputTimeout):
		p.log.Warn("output writer blocked; not waiting for it")
	}
}

// removeRecord removes process.json if it still describes this run.
func (p *process) removeRecord() {
	data, err := os.ReadFile(p.recordPath)
	if err != nil {
		return
	}
	var rec record
	if json.Unmarshal(data, &rec) == nil && rec.Pid == p.pid && rec.StartTime == p.start {
		_ = os.Remove(p.recordPath)
	}
}

func signalName(s syscall.Signal) string {
	if name := unix.SignalName(s); name != "" {
		return name
	}
	return fmt.Sprintf("signal %d", int(s))
}
