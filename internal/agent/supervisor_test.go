package agent

import (
	"testing"
	"time"

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
		t.Fatal("supervisor.Stop did not return: the driver started during Stop was never stopped")
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
	if st := s.status(); st.State != "stopped" {
		t.Errorf("state = %s, want stopped", st.State)
	}
	if n := rt.startsOf("resumed"); n != 1 {
		t.Errorf("%d starts, want 1: a stopped driver must not be restarted", n)
	}
}
