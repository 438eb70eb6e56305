package agent

import (
	"sync"
	"time"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/driverrt"
)

// stopGrace is how long a stopped driver has to end before it is killed.
const stopGrace = 5 * time.Second

// supervisor runs one driver and restarts it when it exits, as its
// restartPolicy says.
type supervisor struct {
	rt      driverrt.Runtime
	clock   clock
	spec    driverrt.Spec
	version string
	log     *driverLog
	changed func() // called on every state change, to report it

	mu       sync.Mutex
	state    driverhub.DriverState
	restarts int
	lastExit string
	proc     driverrt.Process
	started  time.Time // when proc started
	policy   restartPolicy
	stopping bool

	firstExit chan struct{} // closed when the first run ends
	stop      chan struct{}
	done      chan struct{}
}

func startSupervisor(rt driverrt.Runtime, clk clock, spec driverrt.Spec, version string, log *driverLog, changed func()) *supervisor {
	s := &supervisor{rt: rt, clock: clk, spec: spec, version: version, log: log, changed: changed,
		state:     driverhub.DriverStarting,
		firstExit: make(chan struct{}), stop: make(chan struct{}), done: make(chan struct{})}
	go s.run()
	return s
}

// run starts the driver, and again after each exit, until Stop.
func (s *supervisor) run() {
	defer close(s.done)
	for first := true; ; first = false {
		started := s.clock.Now()
		exit := s.runOnce()
		s.log.note("%s exited: %s", s.spec.Name, exit)
		now := s.clock.Now()
		var stopping bool
		var delay time.Duration
		s.set(func() {
			s.proc, s.lastExit = nil, exit.String()
			if stopping = s.stopping; stopping {
				s.state = driverhub.DriverStopped
				return
			}
			s.restarts++
			s.state, delay = s.policy.exited(now, now.Sub(started))
		})
		if first {
			close(s.firstExit) // after the exit is recorded: healthy reports it
		}
		if stopping {
			return
		}
		select {
		case <-s.stop:
			s.set(func() { s.state = driverhub.DriverStopped })
			return
		case <-s.clock.After(delay):
		}
	}
}

// runOnce starts the driver and waits for it to end.
func (s *supervisor) runOnce() driverrt.Exit {
	s.log.note("starting %s %s", s.spec.Name, s.version)
	proc, err := s.rt.Start(s.spec, s.log.stream("stdout"), s.log.stream("stderr"))
	if err != nil {
		return driverrt.Exit{Code: -1, Err: err}
	}
	var stopping bool
	s.set(func() {
		s.proc, s.started, stopping = proc, s.clock.Now(), s.stopping
		if !stopping && !s.policy.looping() {
			// A crash-looping driver stays so while it runs, until it
			// has run long enough to reset its backoff (status).
			s.state = driverhub.DriverRunning
		}
	})
	if stopping {
		// Stop came while the runtime was starting the driver: it found no
		// process to stop, so this one is stopped here.
		_ = proc.Stop(stopGrace)
	}
	return proc.Wait()
}

func (s *supervisor) set(f func()) {
	s.mu.Lock()
	f()
	s.mu.Unlock()
	if s.changed != nil {
		s.changed()
	}
}

// Stop ends the driver and its supervision, and waits for both.
func (s *supervisor) Stop() {
	s.mu.Lock()
	if s.stopping {
		s.mu.Unlock()
		<-s.done
		return
	}
	s.stopping = true
	proc := s.proc
	close(s.stop)
	s.mu.Unlock()
	if proc != nil {
		_ = proc.Stop(stopGrace)
	}
	<-s.done
}

// healthy waits up to period for the first run to end early; it reports
// whether the driver stayed up, and else how it ended.
func (s *supervisor) healthy(period time.Duration) (bool, string) {
	select {
	case <-s.firstExit:
		s.mu.Lock()
		defer s.mu.Unlock()
		return false, s.lastExit
	case <-s.clock.After(period):
		return true, ""
	}
}

// status is the driver's state as reported to the server.
func (s *supervisor) status() driverhub.DriverReport {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := driverhub.DriverReport{Name: s.spec.Name, Version: s.version, Restarts: s.restarts, LastExit: s.lastExit}
	r.State = s.state
	if s.proc != nil {
		r.MemoryBytes = s.proc.MemoryBytes()
		if r.State == driverhub.DriverCrashloop && s.clock.Now().Sub(s.started) >= backoffResetAge {
			r.State = driverhub.DriverRunning // up long enough: no longer looping
		}
	}
	return r
}
