package service_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/service"
)

// runtimes returns each bound driver's runtime in the instance's list view.
func (ts *testService) runtimes(t *testing.T, instance string) map[string]*driverhub.DriverStatus {
	t.Helper()
	out := map[string]*driverhub.DriverStatus{}
	for _, b := range must(ts.ListBindings(ts.admin, instance))(t).Items {
		out[b.Driver] = b.Runtime
	}
	return out
}

func TestRuntimeStaleWhileTheGatewayIsOffline(t *testing.T) {
	t.Parallel()
	const period = 10 * time.Second
	ts := newTestService(t, func(c *service.Config) { c.PollPeriod = period })
	ts.ready(t, ts.admin, driverIn("Pump", "python3"))
	ts.ready(t, ts.admin, driverIn("Idle", "python3"))
	i := ts.newInstance(t, ts.admin, "edge")
	ts.bind(t, ts.admin, "edge", "Pump", "")
	ts.bind(t, ts.admin, "edge", "Idle", "")
	running := []driverhub.DriverReport{{Name: "Pump", Version: "1", State: driverhub.DriverRunning}}
	ts.report(t, i.GatewaySecret, driverhub.GatewayReport{Drivers: running})
	reportedAt := ts.clock.Now()
	stale := func(want bool) {
		t.Helper()
		b := must(ts.GetBinding(ts.admin, "edge", "Pump"))(t)
		if b.Runtime == nil || b.Runtime.Stale != want || b.Runtime.State != driverhub.DriverRunning {
			t.Errorf("%v after the report: binding view shows %+v, want running, stale %v", ts.clock.Now().Sub(reportedAt), b.Runtime, want)
		}
		if r := ts.runtimes(t, "edge")["Pump"]; r == nil || r.Stale != want {
			t.Errorf("%v after the report: list view shows %+v, want stale %v", ts.clock.Now().Sub(reportedAt), r, want)
		}
		if r := ts.runtimes(t, "edge")["Idle"]; r != nil {
			t.Errorf("a driver the gateway never reported shows %+v", r)
		}
	}
	stale(false)
	ts.clock.Advance(3 * period)
	stale(false)
	ts.clock.Advance(time.Microsecond) // offline, as the instance view says
	if must(ts.GetInstance(ts.admin, "edge"))(t).Gateway.Online {
		t.Fatal("the gateway is still online")
	}
	stale(true)
	ts.clock.Advance(time.Hour)
	stale(true)
	ts.report(t, i.GatewaySecret, driverhub.GatewayReport{Drivers: running})
	reportedAt = ts.clock.Now()
	stale(false)
}

func TestListsShowTheRunningVersionBesideTheBoundOne(t *testing.T) {
	t.Parallel()
	ts := newTestService(t)
	ts.ready(t, ts.admin, driverIn("Pump", "python3"))
	i := ts.newInstance(t, ts.admin, "edge")
	ts.report(t, i.GatewaySecret, gatewayFacts)
	ts.bind(t, ts.admin, "edge", "Pump", "1")
	ts.deploy(t, ts.admin, "edge")
	ts.report(t, i.GatewaySecret, driverhub.GatewayReport{Drivers: []driverhub.DriverReport{{Name: "Pump", Version: "1", State: driverhub.DriverRunning}}})

	// Version 2.0 is bound and deployed; it fails and the agent rolls back to 1.
	ts.newVersion(t, ts.admin, "Pump", "2.0")
	ts.upload(t, ts.admin, "Pump", "2.0")
	must(ts.PublishVersion(ts.admin, "Pump", "2.0"))(t)
	ts.bind(t, ts.admin, "edge", "Pump", "2.0")
	d := ts.deploy(t, ts.admin, "edge")
	ts.report(t, i.GatewaySecret, driverhub.GatewayReport{
		Deployment: &driverhub.DeploymentReport{ID: d.ID, Status: driverhub.DeployFailed, Reason: "Pump 2.0 exited at start: rolled back to 1"},
		Drivers:    []driverhub.DriverReport{{Name: "Pump", Version: "1", State: driverhub.DriverRunning, LastExit: "exit status 1"}}})

	want := struct{ Bound, Running string }{"2.0", "1"}
	b := must(ts.GetBinding(ts.admin, "edge", "Pump"))(t)
	if got := (struct{ Bound, Running string }{b.Version, b.Runtime.Version}); got != want || b.Runtime.State != driverhub.DriverRunning {
		t.Errorf("binding view: %+v, %s; want %+v, running", got, b.Runtime.State, want)
	}
	l := must(ts.ListBindings(ts.admin, "edge"))(t).Items
	if got := (struct{ Bound, Running string }{l[0].Version, l[0].Runtime.Version}); got != want {
		t.Errorf("list view: %+v, want %+v", got, want)
	}
}

func TestABoundDriverMissingFromAReportIsNotRunning(t *testing.T) {
	t.Parallel()
	ts := newTestService(t)
	for _, d := range []string{"Alpha", "Beta", "Gamma", "Idle"} {
		ts.ready(t, ts.admin, driverIn(d, "python3"))
	}
	i := ts.newInstance(t, ts.admin, "edge")
	for _, d := range []string{"Alpha", "Beta", "Gamma", "Idle"} {
		ts.bind(t, ts.admin, "edge", d, "")
	}
	report := func(drivers ...driverhub.DriverReport) time.Time {
		ts.clock.Advance(time.Second)
		// The agent always sends its list, empty or not.
		ts.report(t, i.GatewaySecret, driverhub.GatewayReport{Drivers: append([]driverhub.DriverReport{}, drivers...)})
		return ts.clock.Now()
	}
	alpha := driverhub.DriverReport{Name: "Alpha", Version: "1", State: driverhub.DriverRunning, MemoryBytes: 1 << 20}
	beta := driverhub.DriverReport{Name: "Beta", Version: "1", State: driverhub.DriverCrashloop, Restarts: 6, LastExit: "exit status 2", MemoryBytes: 1 << 10}
	gamma := driverhub.DriverReport{Name: "Gamma", Version: "1", State: driverhub.DriverFailed, LastExit: "exec format error"}
	first := report(alpha, beta, gamma)
	second := report(alpha)

	want := map[string]*driverhub.DriverStatus{
		"Alpha": {State: driverhub.DriverRunning, Version: "1", MemoryBytes: 1 << 20, ReportedAt: second},
		// Left out: not running any more, with what is known of its last run.
		"Beta": {State: driverhub.DriverStopped, Restarts: 6, LastExit: "exit status 2", ReportedAt: second},
		// Already not running: left as the gateway last said.
		"Gamma": {State: driverhub.DriverFailed, Version: "1", LastExit: "exec format error", ReportedAt: first},
		"Idle":  nil, // never reported
	}
	if diff := cmp.Diff(want, ts.runtimes(t, "edge")); diff != "" {
		t.Errorf("after a report without Beta and Gamma (-want +got):\n%s", diff)
	}

	// A report without a list of drivers says nothing of them.
	ts.clock.Advance(time.Second)
	ts.report(t, i.GatewaySecret, driverhub.GatewayReport{EdgeVersion: "1.0.0"})
	if diff := cmp.Diff(want, ts.runtimes(t, "edge")); diff != "" {
		t.Errorf("after a report without drivers (-want +got):\n%s", diff)
	}
	// An empty list says none runs: after a reset, say.
	third := report()
	want["Alpha"] = &driverhub.DriverStatus{State: driverhub.DriverStopped, ReportedAt: third}
	if diff := cmp.Diff(want, ts.runtimes(t, "edge")); diff != "" {
		t.Errorf("after a report of no drivers (-want +got):\n%s", diff)
	}

	// A driver listed twice is refused: which one would be true?
	err := ts.Report(ts.gatewayCtx(t, i.GatewaySecret), driverhub.GatewayReport{Drivers: []driverhub.DriverReport{alpha, beta, alpha}})
	wantErr(t, err, driverhub.EInvalid, "drivers[2].name")
}

func TestLogsOfADriverThatDiedAtStartReachTheServer(t *testing.T) {
	t.Parallel()
	ts := newTestService(t)
	ts.ready(t, ts.admin, driverIn("Crash", "python3"))
	ts.ready(t, ts.admin, driverIn("Never", "python3"))
	i := ts.newInstance(t, ts.admin, "edge")
	ts.report(t, i.GatewaySecret, gatewayFacts)
	ts.bind(t, ts.admin, "edge", "Crash", "")
	ts.bind(t, ts.admin, "edge", "Never", "")
	d := ts.deploy(t, ts.admin, "edge")
	gw := ts.gatewayCtx(t, i.GatewaySecret)
	ts.report(t, i.GatewaySecret, driverhub.GatewayReport{
		Deployment: &driverhub.DeploymentReport{ID: d.ID, Status: driverhub.DeployFailed, Reason: "Crash exited at start"},
		Drivers:    []driverhub.DriverReport{{Name: "Crash", Version: "1", State: driverhub.DriverFailed, LastExit: "exit status 1"}}})
	traceback := []driverhub.LogLine{
		{Stream: "stderr", Text: "Traceback (most recent call last):"},
		{Stream: "stderr", Text: "ModuleNotFoundError: No module named 'serial'"},
	}
	ok(t, ts.PostLogs(gw, "Crash", traceback))
	// Output of a driver the gateway never reported running is kept too.
	ok(t, ts.PostLogs(gw, "Never", traceback[1:]))

	if r := must(ts.GetBinding(ts.admin, "edge", "Crash"))(t).Runtime; r == nil || r.State != driverhub.DriverFailed || r.LastExit != "exit status 1" {
		t.Errorf("the binding shows %+v, want failed with its exit", r)
	}
	for driver, want := range map[string][]driverhub.LogLine{"Crash": traceback, "Never": traceback[1:]} {
		got := must(ts.DriverLogs(ts.admin, "edge", driver, 0))(t)
		var texts, wantTexts []string
		for k := range got {
			texts = append(texts, got[k].Stream+": "+got[k].Text)
		}
		for k := range want {
			wantTexts = append(wantTexts, want[k].Stream+": "+want[k].Text)
		}
		if diff := cmp.Diff(wantTexts, texts); diff != "" {
			t.Errorf("logs of %s (-want +got):\n%s", driver, diff)
		}
	}
}
