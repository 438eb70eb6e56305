package agent

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/driverhub/driverhub/internal/driverrt"
)

// fakeBehaviourFile is the file of a test package that tells the fake
// runtime how the driver behaves: "up" (runs until stopped), "exit N"
// (exits at once with status N) or "fail" (cannot be started). A real
// driver's code decides how it behaves; here its package does.
const fakeBehaviourFile = "fake.txt"

// fakeOutputFile, in a test package, is what the fake driver prints on
// stderr when it starts (a traceback, say).
const fakeOutputFile = "fake-stderr.txt"

// fakeRuntime is a driverrt.Runtime whose drivers the test controls: it
// runs nothing, and records every start, stop and cleanup.
type fakeRuntime struct {
	mu       sync.Mutex
	starts   []driverrt.Spec      // every start, in order
	procs    map[string]*fakeProc // the latest process of each driver
	cleanups []string             // drivers cleaned up

	// gate, when set, makes Start block until it is closed; entered
	// receives the spec of each start that waits on it.
	gate    chan struct{}
	entered chan driverrt.Spec
	// started, when set, receives each process the runtime started.
	started chan *fakeProc
}

func newFakeRuntime() *fakeRuntime { return &fakeRuntime{procs: map[string]*fakeProc{}} }

func (r *fakeRuntime) Name() string { return "fake" }
func (r *fakeRuntime) Check() error { return nil }

func (r *fakeRuntime) Cleanup(name, _ string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cleanups = append(r.cleanups, name)
	return nil
}

func (r *fakeRuntime) Start(spec driverrt.Spec, stdout, stderr io.Writer) (driverrt.Process, error) {
	r.mu.Lock()
	gate, entered := r.gate, r.entered
	r.starts = append(r.starts, spec)
	r.mu.Unlock()
	if gate != nil {
		if entered != nil {
			entered <- spec
		}
		<-gate
	}
	behaviour, err := os.ReadFile(filepath.Join(spec.Dir, fakeBehaviourFile))
	if errors.Is(err, os.ErrNotExist) {
		behaviour = []byte("up")
	} else if err != nil {
		return nil, err
	}
	p := &fakeProc{spec: spec, exited: make(chan struct{})}
	switch b := strings.TrimSpace(string(behaviour)); {
	case b == "fail":
		return nil, errors.New("fake: cannot execute the driver")
	case b == "up":
	case strings.HasPrefix(b, "exit "):
		var code int
		if _, err := fmt.Sscanf(b, "exit %d", &code); err != nil {
			return nil, fmt.Errorf("fake: behaviour %q: %w", b, err)
		}
		p.end(driverrt.Exit{Code: code})
	default:
		return nil, fmt.Errorf("fake: unknown behaviour %q", b)
	}
	fmt.Fprintf(stdout, "%s started\n", spec.Name)
	if out, err := os.ReadFile(filepath.Join(spec.Dir, fakeOutputFile)); err == nil {
		stderr.Write(out)
	}
	r.mu.Lock()
	r.procs[spec.Name] = p
	started := r.started
	r.mu.Unlock()
	if started != nil {
		started <- p
	}
	return p, nil
}

// startsOf counts the starts of a driver.
func (r *fakeRuntime) startsOf(name string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, s := range r.starts {
		if s.Name == name {
			n++
		}
	}
	return n
}

// proc is the latest process of a driver, nil if it never started.
func (r *fakeRuntime) proc(name string) *fakeProc {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.procs[name]
}

// live lists the drivers whose latest process has not ended, with the
// directory each runs in.
func (r *fakeRuntime) live() map[string]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]string{}
	for name, p := range r.procs {
		if !p.ended() {
			out[name] = p.spec.Dir
		}
	}
	return out
}

// fakeProc is one run of a fake driver.
type fakeProc struct {
	spec    driverrt.Spec
	once    sync.Once
	exit    driverrt.Exit
	exited  chan struct{}
	stopped bool // guarded by once: set by Stop before the end
}

func (p *fakeProc) end(e driverrt.Exit) {
	p.once.Do(func() {
		p.exit = e
		close(p.exited)
	})
}

func (p *fakeProc) ended() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

func (p *fakeProc) Pid() int { return 4242 }

func (p *fakeProc) Wait() driverrt.Exit {
	<-p.exited
	return p.exit
}

func (p *fakeProc) Stop(time.Duration) error {
	p.once.Do(func() {
		p.stopped = true
		p.exit = driverrt.Exit{Code: -1, Signal: "SIGTERM"}
		close(p.exited)
	})
	return nil
}

// wasStopped reports whether the agent stopped this run (rather than it
// exiting by itself).
func (p *fakeProc) wasStopped() bool {
	return p.ended() && p.stopped
}

func (p *fakeProc) MemoryBytes() int64 { return 3 << 20 }
