package agent

import (
	"sync"
	"time"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/driverrt"
)

// Supervision rules (SPEC §7): restart with backoff from 1 s doubling to
// 60 s, reset after 60 s up; 5 restarts within 5 minutes is a crash loop,
// still retried at the cap.
const (
	backoffMin      = time.Second
	backoffMax      = 60 * time.Second
	backoffResetAge = 60 * time.Second
	crashloopCount  = 5
	crashloopWindow = 5 * time.Minute
	stopGrace       = 5 * time.Second
)

// supervisor runs one driver and restarts it when it exits.
type supervisor struct {
	rt      driverrt.Runtime
	spec    driverrt.Spec
	version string
	log     *driverLog
	changed func() // called on every state change, to report it

	mu        sync.Mutex
	state     string
	restarts  int
	lastExit  string
	proc      driverrt.Process
	exits     []time.Time
	startedAt time.Time
	stopping  bool

	firstExit chan struct{} // closed when the first run ends
	stop      chan struct{}
	done      chan struct{}
}

func startSupervisor(rt driverrt.Runtime, spec driverrt.Spec, version string, log *driverLog, changed func()) *supervisor {
	s := &supervisor{rt: rt, spec: spec, version: version, log: log, changed: changed, state: "starting",
		firstExit: make(chan struct{}), stop: make(chan struct{}), done: make(chan struct{})}
	go s.run()
	return s
}

func (s *supervisor) run() {
	defer close(s.done)
	backoff := backoffMin
	first := true
	for {
		s.log.note("starting %s %s", s.spec.Name, s.version)
		started := time.Now()
		proc, err := s.rt.Start(s.spec, s.log.stream("stdout"), s.log.stream("stderr"))
		var exit driverrt.Exit
		if err != nil {
			exit = driverrt.Exit{Code: -1, Err: err}
		} else {
			s.set(func() { s.proc, s.state, s.startedAt = proc, "running", started })
			exit = proc.Wait()
		}
		s.log.note("%s exited: %s", s.spec.Name, exit)
		if first {
			close(s.firstExit)
			first = false
		}
		now := time.Now()
		var stopping bool
		s.set(func() {
			s.proc, s.lastExit = nil, exit.String()
			stopping = s.stopping
			if stopping {
				s.state = "stopped"
				return
			}
			s.restarts++
			s.exits = append(s.exits, now)
			for len(s.exits) > 0 && now.Sub(s.exits[0]) > crashloopWindow {
				s.exits = s.exits[1:]
			}
			if len(s.exits) >= crashloopCount {
				s.state = "crashloop"
			} else {
				s.state = "restarting"
			}
		})
		if stopping {
			return
		}
		if now.Sub(started) >= backoffResetAge {
			backoff = backoffMin
		}
		select {
		case <-s.stop:
			s.set(func() { s.state = "stopped" })
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, backoffMax)
	}
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
	case <-time.After(period):
		return true, ""
	}
}

// status is the driver's state as reported to the server.
func (s *supervisor) status() driverhub.DriverReport {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := driverhub.DriverReport{Name: s.spec.Name, Version: s.version, State: driverhub.DriverState(s.state), Restarts: s.restarts, LastExit: s.lastExit}
	if s.proc != nil {
		r.MemoryBytes = s.proc.MemoryBytes()
	}
	return r
}
