package agent

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/driverrt"
)

// testSpec is a driver spec run by the fake runtime from an empty directory
// (behaviour "up").
func testSpec(t *testing.T, name string) (driverrt.Spec, *driverLog) {
	t.Helper()
	l, err := newDriverLog(t.TempDir(), name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.close)
	return driverrt.Spec{Name: name, Dir: t.TempDir(), Command: []string{"./main"}}, l
}

// stopReturns waits for Stop to return, or fails the test: a Stop that
// never returns makes the agent ignore SIGTERM.
func stopReturns(t *testing.T, stopped <-chan struct{}) {
	t.Helper()
	select {
	case <-stopped:
	case <-time.After(30 * time.Second):
		t.Fatal("stopping did not end: the driver started during Stop was never stopped")
	}
}

// A deployment (or a reset) that stops a driver still being started, such
// as one resumed after an agent restart, must stop what the start produced
// and return, not wait for it forever.
func TestStopWhileStarting(t *testing.T) {
	rt := newFakeRuntime()
	rt.gate, rt.entered = make(chan struct{}), make(chan driverrt.Spec, 1)
	spec, l := testSpec(t, "resumed")
	s := startSupervisor(rt, realClock{}, spec, "1.0.0", l, nil)
	<-rt.entered // the runtime is starting the driver

	stopped := make(chan struct{})
	go func() { s.Stop(); close(stopped) }()
	<-s.stop       // Stop has looked for a process and found none yet
	close(rt.gate) // the start completes
	stopReturns(t, stopped)

	if p := rt.proc("resumed"); p == nil || !p.wasStopped() {
		t.Fatal("the driver whose start completed during Stop is still running")
	}
	if st := s.status(); st.State != driverhub.DriverStopped {
		t.Errorf("state = %s, want stopped", st.State)
	}
	if n := rt.startsOf("resumed"); n != 1 {
		t.Errorf("%d starts, want 1: a stopped driver must not be restarted", n)
	}
}

// fakeClock is a clock the test moves: each After is handed to the test,
// which advances the time and fires it.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	waits chan fakeWait
}

type fakeWait struct {
	d    time.Duration
	fire chan time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC), waits: make(chan fakeWait)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	w := fakeWait{d: d, fire: make(chan time.Time, 1)}
	c.waits <- w
	return w.fire
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// nextWait returns the supervisor's next wait, failing the test if none comes.
func (c *fakeClock) nextWait(t *testing.T) fakeWait {
	t.Helper()
	select {
	case w := <-c.waits:
		return w
	case <-time.After(30 * time.Second):
		t.Fatal("the supervisor never waited to restart the driver")
		return fakeWait{}
	}
}

// elapse lets the whole wait pass.
func (c *fakeClock) elapse(w fakeWait) {
	c.advance(w.d)
	w.fire <- c.Now()
}

func behave(t *testing.T, dir, behaviour string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, fakeBehaviourFile), []byte(behaviour), 0o644); err != nil {
		t.Fatal(err)
	}
}

// A driver that keeps exiting is restarted after 1 s, 2 s, 4 s … up to
// 60 s, and reported as crash-looping from its 5th exit on.
func TestSupervisorBacksOffIntoCrashloop(t *testing.T) {
	rt, clk := newFakeRuntime(), newFakeClock()
	spec, l := testSpec(t, "crasher")
	behave(t, spec.Dir, "exit 1")
	s := startSupervisor(rt, clk, spec, "1.0.0", l, nil)
	want := []struct {
		state driverhub.DriverState
		delay time.Duration
	}{
		{driverhub.DriverRestarting, time.Second}, {driverhub.DriverRestarting, 2 * time.Second},
		{driverhub.DriverRestarting, 4 * time.Second}, {driverhub.DriverRestarting, 8 * time.Second},
		{driverhub.DriverCrashloop, 16 * time.Second}, {driverhub.DriverCrashloop, 32 * time.Second},
		{driverhub.DriverCrashloop, 60 * time.Second}, {driverhub.DriverCrashloop, 60 * time.Second},
	}
	for i, w := range want {
		wait := clk.nextWait(t)
		st := s.status()
		if wait.d != w.delay || st.State != w.state || st.Restarts != i+1 || st.LastExit != "exit status 1" {
			t.Fatalf("exit %d: %s (%d restarts, last exit %q), restart in %s; want %s (%d restarts, exit status 1), restart in %s",
				i+1, st.State, st.Restarts, st.LastExit, wait.d, w.state, i+1, w.delay)
		}
		if i < len(want)-1 {
			clk.elapse(wait)
		}
	}
	s.Stop() // while it waits to restart
	if st := s.status(); st.State != driverhub.DriverStopped {
		t.Errorf("after Stop: %s, want stopped", st.State)
	}
	if n := rt.startsOf("crasher"); n != len(want) {
		t.Errorf("%d starts, want %d", n, len(want))
	}
}

// The supervisor measures each run from its start: a driver that stayed
// up for a minute is restarted after 1 s again.
func TestSupervisorResetsBackoffAfterLongRun(t *testing.T) {
	rt, clk := newFakeRuntime(), newFakeClock()
	rt.started = make(chan *fakeProc, 10)
	spec, l := testSpec(t, "flaky")
	s := startSupervisor(rt, clk, spec, "1.0.0", l, nil)
	defer s.Stop()
	for i, run := range []struct{ up, delay time.Duration }{
		{time.Second, time.Second}, {time.Second, 2 * time.Second}, {61 * time.Second, time.Second},
	} {
		p := <-rt.started
		clk.advance(run.up)
		p.end(driverrt.Exit{Code: 2})
		wait := clk.nextWait(t)
		if wait.d != run.delay {
			t.Fatalf("run %d (up %s): restart in %s, want %s", i+1, run.up, wait.d, run.delay)
		}
		clk.elapse(wait)
	}
}
