package agent

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/driverrt"
)

// eventually polls cond until it holds, failing after 30 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("after 30 s: %s: not yet", what)
		}
	}
}

// reported finds, among every report so far, one in which the driver
// satisfies cond.
func (gw *testGateway) reported(name string, cond func(driverhub.DriverReport) bool) bool {
	gw.mu.Lock()
	defer gw.mu.Unlock()
	for _, r := range gw.reports {
		for _, d := range r.Drivers {
			if d.Name == name && cond(d) {
				return true
			}
		}
	}
	return false
}

// A driver's exit reaches the server without waiting for a heartbeat.
func TestExitIsReportedWithoutWaitingForAHeartbeat(t *testing.T) {
	ta := newTestAgent(t)
	ta.cfg.ReportEvery = time.Hour // no heartbeat during the test
	ta.deploy("d1", driverOf("meter", "1.0.0", ta.gw.pkg(t, "up")))
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { ta.reportLoop(ctx) })
	defer func() { cancel(); wg.Wait() }()

	ta.rt.proc("meter").end(driverrt.Exit{Code: 7})
	eventually(t, "a report says meter is restarting after exit status 7", func() bool {
		return ta.gw.reported("meter", func(d driverhub.DriverReport) bool {
			return d.State == driverhub.DriverRestarting && d.LastExit == "exit status 7" && d.Restarts == 1
		})
	})
}

// The agent ends: its last report says its drivers are stopped.
func TestStoppedAgentReportsItsDriversStopped(t *testing.T) {
	ta := newTestAgent(t)
	ta.deploy("d1", driverOf("meter", "1.0.0", ta.gw.pkg(t, "up")))
	ta.stopAll() // the agent that deployed ends; Run resumes meter
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- ta.Run(ctx) }()
	eventually(t, "meter reported running", func() bool {
		return ta.gw.reported("meter", func(d driverhub.DriverReport) bool { return d.State == driverhub.DriverRunning })
	})
	cancel()
	if err := <-ran; err != nil {
		t.Fatal(err)
	}
	if d := ta.gw.lastDrivers(); len(d) != 1 || d[0].Name != "meter" || d[0].State != driverhub.DriverStopped {
		t.Errorf("last report's drivers %+v, want meter stopped", d)
	}
}

// stacktrace is what the fake driver that does not stay up prints.
const stacktrace = "Traceback (most recent call last):\n  File \"index.py\", line 3, in <module>\nRuntimeError: PLC unreachable\n"

// A driver that ends at once: its output reaches the server before the
// deployment's failure, and the deployment's log shows its last lines.
// The server is then told what runs: the version rolled back to, or the
// failed version, failed.
func TestDriverThatEndsAtOnceIsHeardAndReportedAsItIs(t *testing.T) {
	for _, earlier := range []bool{true, false} {
		t.Run(map[bool]string{true: "rolled back", false: "nothing to roll back to"}[earlier], func(t *testing.T) {
			ta := newTestAgent(t)
			if earlier {
				ta.deploy("d1", driverOf("meter", "1.0.0", ta.gw.pkg(t, "up")))
			}
			ta.cfg.HealthyAfter = time.Minute
			ta.deploy("d2", driverOf("meter", "2.0.0", ta.gw.pkg(t, "exit 3", fakeOutputFile, stacktrace)))

			if got := ta.gw.received("meter"); !slices.Contains(got, "RuntimeError: PLC unreachable") {
				t.Errorf("the server received %q from meter, want its traceback", got)
			}
			events := ta.gw.eventLog()
			shipped, failed := slices.Index(events, "logs meter"), slices.Index(events, "report failed")
			if shipped < 0 || failed < 0 || shipped > failed {
				t.Errorf("events %q: the output must reach the server before the failure", events)
			}
			_, _, res := ta.gw.deployment("d2")
			if r := res[key(driverhub.ResourceDriver, "meter")]; r == nil || !has(r.lines, "meter 2.0.0 printed before it ended:\n") ||
				!has(r.lines, "RuntimeError: PLC unreachable") {
				t.Errorf("the deployment's log of meter lacks its output: %+v", r)
			}

			want := driverhub.DriverReport{Name: "meter", Version: "2.0.0", State: driverhub.DriverFailed, Restarts: 1, LastExit: "exit status 3"}
			if earlier {
				want = driverhub.DriverReport{Name: "meter", Version: "1.0.0", State: driverhub.DriverRunning, LastExit: "", MemoryBytes: 3 << 20}
				ta.mu.Lock()
				s := ta.sups["meter"]
				ta.mu.Unlock()
				eventually(t, "meter 1.0.0 runs again", func() bool { return s.status().State == driverhub.DriverRunning })
			}
			if err := ta.report(context.Background(), nil); err != nil {
				t.Fatal(err)
			}
			if d := ta.gw.lastDrivers(); len(d) != 1 || d[0] != want {
				t.Errorf("reported drivers %+v, want %+v", d, want)
			}
			// An agent restarted from its directory reports the same.
			st, err := ta.loadState()
			if _, failedSaved := st.Failed["meter"]; err != nil || failedSaved == earlier {
				t.Errorf("saved failed drivers %+v (%v), want meter there only with nothing to roll back to", st.Failed, err)
			}
		})
	}
}

// A driver that keeps crashing stays reported as crash-looping while it
// is retried, until a run lasts long enough to reset its backoff.
func TestCrashloopHoldsWhileTheDriverIsRetried(t *testing.T) {
	rt, clk := newFakeRuntime(), newFakeClock()
	rt.started = make(chan *fakeProc, 10)
	spec, l := testSpec(t, "crasher")
	s := startSupervisor(rt, clk, spec, "1.0.0", l, nil)
	defer s.Stop()
	for range crashloopCount {
		p := <-rt.started
		clk.advance(time.Second)
		p.end(driverrt.Exit{Code: 1})
		clk.elapse(clk.nextWait(t))
	}
	<-rt.started // the 6th run: up, after 5 exits within a minute
	eventually(t, "the 6th run has started", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.proc != nil
	})
	if st := s.status(); st.State != driverhub.DriverCrashloop {
		t.Errorf("running again after 5 quick exits: %s, want crashloop", st.State)
	}
	clk.advance(backoffResetAge)
	if st := s.status(); st.State != driverhub.DriverRunning {
		t.Errorf("up for %s: %s, want running", backoffResetAge, st.State)
	}
}

func TestReportsCarryCapabilitiesAndRuntimeVersions(t *testing.T) {
	ta := newTestAgent(t)
	ta.cfg.Capabilities = &driverhub.Capabilities{Runtimes: []string{"process", "runc"}, Isolation: true, Cgroup: "v2"}
	ta.versions = probeVersions(map[driverhub.Runtime][]string{
		driverhub.RuntimePython3: {"sh", "-c", "echo Python 3.11.2"},
		driverhub.RuntimeJava:    {"sh", "-c", `echo 'openjdk version "17.0.15" 2025-04-15' >&2`},
		driverhub.RuntimeNodeJS:  {"sh", "-c", "sleep 30"},           // hangs: left out after the timeout
		driverhub.RuntimeC:       {"/nonexistent/interpreter", "-v"}, // missing: left out
	}, time.Second)
	ta.versions.wait(context.Background())
	ta.deploy("d1", driverOf("meter", "1.0.0", ta.gw.pkg(t, "up")))

	r := ta.gw.lastReport()
	if r == nil || r.Capabilities == nil || !r.Capabilities.Isolation || r.Capabilities.Cgroup != "v2" ||
		!slices.Equal(r.Capabilities.Runtimes, []string{"process", "runc"}) {
		t.Errorf("report's capabilities %+v, want the agent's", r)
	}
	want := map[driverhub.Runtime]string{driverhub.RuntimePython3: "3.11.2", driverhub.RuntimeJava: "17.0.15"}
	if r == nil || len(r.RuntimeVersions) != len(want) || r.RuntimeVersions[driverhub.RuntimePython3] != "3.11.2" ||
		r.RuntimeVersions[driverhub.RuntimeJava] != "17.0.15" {
		t.Errorf("report's runtime versions %v, want %v", r.RuntimeVersions, want)
	}
}

// A deployment's result the server refuses is dropped, once said in the
// agent's log: heartbeats carry the drivers' states again.
func TestRefusedResultDoesNotHoldBackHeartbeats(t *testing.T) {
	ta := newTestAgent(t)
	var agentLog logBuffer
	ta.log = slog.New(slog.NewTextHandler(&agentLog, nil))
	ta.cfg.ReportEvery = 20 * time.Millisecond
	ta.gw.refuseReport = func(r driverhub.GatewayReport) int {
		if r.Deployment != nil && r.Deployment.ID == "refused" {
			return http.StatusBadRequest
		}
		return 0
	}
	ta.result = &driverhub.DeploymentReport{ID: "refused", Status: driverhub.DeploySucceeded}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { ta.reportLoop(ctx) })
	eventually(t, "a heartbeat reaches the server", func() bool { return ta.gw.lastReport() != nil })
	cancel()
	wg.Wait()
	if n := strings.Count(agentLog.String(), "refused the deployment's result"); n != 1 {
		t.Errorf("the agent logged the refusal %d times, want once:\n%s", n, agentLog.String())
	}
}

func TestPrintableOutput(t *testing.T) {
	in := "Traceback:\n\tline \x1b[31mred\x1b[0m \u202eevil\xff end"
	want := "Traceback:\n\tline \uFFFD[31mred\uFFFD[0m \uFFFDevil\uFFFD end"
	if got := printable(in); got != want {
		t.Errorf("printable(%q) = %q, want %q", in, got, want)
	}
}
