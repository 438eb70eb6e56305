package service_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/driverhub/driverhub"
)

// deployProblem binds to an instance a driver that fails one deploy-time
// check, on a gateway that reported edge 1.0.0, x86-64 and the built-in
// driver "Other" only (gatewayFacts).
type deployProblem struct {
	code     driverhub.ProblemCode
	resource string // a name the problem's resource holds
	// needsGateway: the check waits until the gateway has reported.
	needsGateway bool
	setup        func(t *testing.T, ts *testService, inst string)
}

var gatewayFacts = driverhub.GatewayReport{EdgeVersion: "1.0.0", Arch: "x86-64", BuiltinDrivers: &[]string{"Other"}}

var deployProblems = []deployProblem{
	{driverhub.ProblemDriverConfigMissing, "CfgReq", false, func(t *testing.T, ts *testService, inst string) {
		ts.ready(t, ts.admin, driverIn("CfgReq", "python3"), func(in *driverhub.VersionInput) {
			in.ConfigChecks = &driverhub.ConfigChecks{DriverConfigRequired: true}
			// The version's own default does not count: the instance needs its config.
			in.DriverConfig = &driverhub.DriverConfig{Format: driverhub.ConfigKV, KV: []driverhub.KVPair{}}
		})
		ts.bind(t, ts.admin, inst, "CfgReq", "")
	}},
	{driverhub.ProblemDeviceConfigMissing, "pump/bare", false, func(t *testing.T, ts *testService, inst string) {
		ts.ready(t, ts.admin, driverIn("DevReq", "nodejs"), func(in *driverhub.VersionInput) {
			in.ConfigChecks = &driverhub.ConfigChecks{DeviceConfigRequired: true}
		})
		ts.bind(t, ts.admin, inst, "DevReq", "")
		ts.device(t, ts.admin, "pump", "bare", inst, "DevReq", "")
		ts.device(t, ts.admin, "pump", "set", inst, "DevReq", `{"slave": 1}`)
	}},
	{driverhub.ProblemPackageMissing, "NoPkg", false, func(t *testing.T, ts *testService, inst string) {
		ts.newDriver(t, ts.admin, driverIn("NoPkg", "python3"))
		ts.newVersion(t, ts.admin, "NoPkg", "dbg")
		ts.bind(t, ts.admin, inst, "NoPkg", "dbg")
	}},
	{driverhub.ProblemVersionMissing, "Gone", false, func(t *testing.T, ts *testService, inst string) {
		// A bound draft may still be deleted: the binding then names a
		// version that no longer exists.
		ts.newDriver(t, ts.admin, driverIn("Gone", "python3"))
		ts.newVersion(t, ts.admin, "Gone", "dbg")
		ts.upload(t, ts.admin, "Gone", "dbg")
		ts.bind(t, ts.admin, inst, "Gone", "dbg")
		ok(t, ts.DeleteVersion(ts.admin, "Gone", "dbg"))
	}},
	{driverhub.ProblemEdgeVersionTooOld, "Edgy", true, func(t *testing.T, ts *testService, inst string) {
		ts.ready(t, ts.admin, driverIn("Edgy", "python3"), func(in *driverhub.VersionInput) { in.MinEdgeVersion = ptr("1.10.0") })
		ts.bind(t, ts.admin, inst, "Edgy", "")
	}},
	{driverhub.ProblemArchMismatch, "ArmC", true, func(t *testing.T, ts *testService, inst string) {
		ts.ready(t, ts.admin, driverIn("ArmC", "c"))
		ts.bind(t, ts.admin, inst, "ArmC", "")
	}},
	{driverhub.ProblemBuiltinMissing, "Bi", true, func(t *testing.T, ts *testService, inst string) {
		in := driverIn("Bi", "java")
		in.Builtin = ptr(true)
		ts.ready(t, ts.admin, in)
		ts.bind(t, ts.admin, inst, "Bi", "")
	}},
	{driverhub.ProblemAcquisitionMissing, "Meter", false, func(t *testing.T, ts *testService, inst string) {
		acme := ts.tenantCtx(t, "acme")
		ts.ready(t, acme, driverIn("Meter", "python3"))
		must(ts.PutListing(acme, "Meter", driverhub.ListingInput{Title: "Meter"}))(t)
		must(ts.Acquire(ts.admin, "acme", "Meter"))(t)
		must(ts.Bind(ts.admin, inst, "Meter", driverhub.BindingInput{Publisher: ptr("acme")}))(t)
		// The service never deletes an acquisition; the database may still lose one.
		ts.exec(t, `DELETE FROM acquisitions WHERE tenant_id = ?`, driverhub.PrincipalFrom(ts.admin).TenantID)
	}},
}

func TestEachDeployProblemAlone(t *testing.T) {
	t.Parallel()
	for _, p := range deployProblems {
		t.Run(string(p.code), func(t *testing.T) {
			t.Parallel()
			ts := newTestService(t)
			i := ts.newInstance(t, ts.admin, "edge")
			ts.report(t, i.GatewaySecret, gatewayFacts)
			p.setup(t, ts, "edge")
			_, err := ts.CreateDeployment(ts.admin, "edge", driverhub.DeployTypeDeploy)
			if diff := cmp.Diff(codes(p.code), problemCodes(t, err)); diff != "" {
				t.Errorf("problem codes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDeployReportsEveryProblemAtOnce(t *testing.T) {
	t.Parallel()
	ts := newTestService(t)
	i := ts.newInstance(t, ts.admin, "edge")
	var all, known []driverhub.ProblemCode
	for _, p := range deployProblems {
		p.setup(t, ts, "edge")
		all = append(all, p.code)
		if !p.needsGateway {
			known = append(known, p.code)
		}
	}
	// Before the gateway reports, its version, arch and built-ins are unknown.
	_, err := ts.CreateDeployment(ts.admin, "edge", driverhub.DeployTypeDeploy)
	if diff := cmp.Diff(codes(known...), problemCodes(t, err)); diff != "" {
		t.Errorf("problems of an unreported gateway (-want +got):\n%s", diff)
	}

	ts.report(t, i.GatewaySecret, gatewayFacts)
	_, err = ts.CreateDeployment(ts.admin, "edge", driverhub.DeployTypeDeploy)
	if diff := cmp.Diff(codes(all...), problemCodes(t, err)); diff != "" {
		t.Errorf("problem codes (-want +got):\n%s", diff)
	}
	e, _ := driverhub.AsError(err)
	for _, p := range e.Problems {
		if p.Message == "" {
			t.Errorf("problem %+v has no message", p)
		}
		if strings.Contains(p.Resource, "pump/set") {
			t.Errorf("a device with its config raised %+v", p)
		}
		for _, dp := range deployProblems {
			if p.Code == dp.code && !strings.Contains(p.Resource, dp.resource) {
				t.Errorf("problem %s names resource %q, not %s", p.Code, p.Resource, dp.resource)
			}
		}
	}

	// Nothing was deployed.
	if l := must(ts.ListDeployments(ts.admin, "edge", driverhub.Page{}))(t); len(l.Items) != 0 {
		t.Errorf("a refused deployment was stored: %+v", l.Items)
	}
	if m, _ := ts.fetch(t, i.GatewaySecret, ""); m.Type != "none" {
		t.Errorf("the gateway was sent %+v", m)
	}
	// A reset checks nothing: it empties the gateway.
	r := must(ts.CreateDeployment(ts.admin, "edge", driverhub.DeployTypeReset))(t)
	if r.Type != driverhub.DeployTypeReset || len(r.Manifest.Drivers) != 0 || len(r.Resources) != 0 {
		t.Errorf("reset deployment %+v", r)
	}
}

func TestDeploymentSnapshotsTheInstance(t *testing.T) {
	t.Parallel()
	ts := newTestService(t)
	ts.ready(t, ts.admin, driverIn("Pump", "python3"), func(in *driverhub.VersionInput) {
		in.DriverConfig = &driverhub.DriverConfig{Format: driverhub.ConfigKV, KV: []driverhub.KVPair{{Key: "port", Value: "502"}}}
	})
	ts.ready(t, ts.admin, driverIn("Bare", "c"))
	ts.newDriver(t, ts.admin, driverIn("Dbg", "nodejs"))
	ts.newVersion(t, ts.admin, "Dbg", "wip")
	pkg := ts.upload(t, ts.admin, "Dbg", "wip").Package
	i := ts.newInstance(t, ts.admin, "edge")
	ts.bind(t, ts.admin, "edge", "Pump", "")
	ts.bind(t, ts.admin, "edge", "Dbg", "wip")
	ts.bind(t, ts.admin, "edge", "Bare", "")
	must(ts.SetBindingConfig(ts.admin, "edge", "Dbg", driverhub.DriverConfig{Format: driverhub.ConfigJSON, JSON: json.RawMessage(`{"debug":true}`)}))(t)
	ts.device(t, ts.admin, "pump", "p1", "edge", "Pump", `{"slave": 3}`)
	ts.device(t, ts.admin, "pump", "p2", "edge", "Pump", "")

	d := ts.deploy(t, ts.admin, "edge")
	if d.Status != driverhub.DeployPending || d.Type != driverhub.DeployTypeDeploy || !d.CreatedAt.Equal(t0) {
		t.Errorf("new deployment %+v", d)
	}
	var res []string
	for _, r := range d.Resources {
		res = append(res, string(r.Type)+" "+r.Name+" "+string(r.Stage)+" "+string(r.Status))
	}
	wantRes := []string{"driver Bare init pending", "driver_config Bare init pending", "driver Dbg init pending", "driver_config Dbg init pending",
		"driver Pump init pending", "driver_config Pump init pending",
		"device_config pump/p1 init pending", "device_config pump/p2 init pending"}
	if diff := cmp.Diff(wantRes, res); diff != "" {
		t.Errorf("resources (-want +got):\n%s", diff)
	}
	if cur := must(ts.GetInstance(ts.admin, "edge"))(t).CurrentDeployment; cur == nil || cur.ID != d.ID {
		t.Errorf("current deployment %+v, want %s", cur, d.ID)
	}

	// Editing the bound draft afterwards changes nothing deployed.
	must(ts.PutPackage(ts.admin, "Dbg", "wip", "", bytes.NewReader(packageFor(t, "nodejs", "changed"))))(t)
	m, _ := ts.fetch(t, i.GatewaySecret, "")
	if m.DeploymentID != d.ID || len(m.Drivers) != 3 {
		t.Fatalf("manifest %+v", m)
	}
	bare, dbg, pump := m.Drivers[0], m.Drivers[1], m.Drivers[2]
	// Without devices or any config, a driver still gets a list and a kv.
	if got := string(must(json.Marshal(bare.RuntimeConfig))(t)); got != `{"deviceList":[],"config":{"kv":[]}}` {
		t.Errorf("Bare's runtime config is %s", got)
	}
	if bare.CPUArch != "armv7" || bare.Runtime != "c" {
		t.Errorf("Bare in the manifest: %+v", bare)
	}
	if dbg.Package == nil || dbg.Package.SHA256 != pkg.SHA256 || dbg.Package.URL != "/api/v1/gateway/blobs/"+pkg.SHA256 {
		t.Errorf("Dbg's package %+v, want the one deployed, %s", dbg.Package, pkg.SHA256)
	}
	if string(dbg.RuntimeConfig.Config.JSON) != `{"debug":true}` || dbg.Version != "wip" || dbg.Publisher != "default" {
		t.Errorf("Dbg in the manifest: %+v", dbg)
	}
	wantDevices := []driverhub.RuntimeDevice{{ProductKey: "pump", DeviceName: "p1", Custom: `{"slave":3}`}, {ProductKey: "pump", DeviceName: "p2", Custom: "{}"}}
	if diff := cmp.Diff(wantDevices, pump.RuntimeConfig.DeviceList); diff != "" {
		t.Errorf("Pump's devices (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]driverhub.KVPair{{Key: "port", Value: "502"}}, pump.RuntimeConfig.Config.KV); diff != "" {
		t.Errorf("Pump's config, the version's default (-want +got):\n%s", diff)
	}

	_, err := ts.CreateDeployment(ts.admin, "edge", "upgrade")
	wantErr(t, err, driverhub.EInvalid, "type")
	_, err = ts.CreateDeployment(ts.userCtx(t, ts.admin, "vic", driverhub.RoleViewer), "edge", "")
	wantErr(t, err, driverhub.EPermissionDenied, "")
}

func TestANewDeploymentSupersedesTheUnfinishedOne(t *testing.T) {
	t.Parallel()
	ts := newTestService(t)
	i := ts.newInstance(t, ts.admin, "edge")
	d1 := ts.deploy(t, ts.admin, "edge")
	ts.clock.Advance(time.Minute)
	d2 := ts.deploy(t, ts.admin, "edge") // d1 was still pending
	ts.fetch(t, i.GatewaySecret, "")     // d2 now processing
	ts.clock.Advance(time.Minute)
	d3 := must(ts.CreateDeployment(ts.admin, "edge", driverhub.DeployTypeReset))(t)

	for _, tt := range []struct {
		d      *driverhub.Deployment
		by     string
		finish time.Time
	}{{d1, d2.ID, t0.Add(time.Minute)}, {d2, d3.ID, t0.Add(2 * time.Minute)}} {
		got := ts.deployment(t, ts.admin, "edge", tt.d.ID)
		if got.Status != driverhub.DeploySuperseded || got.FinishedAt == nil || !got.FinishedAt.Equal(tt.finish) {
			t.Errorf("deployment %s is %s, finished %v; want superseded at %v", got.ID, got.Status, got.FinishedAt, tt.finish)
		}
		contains(t, "reason", got.Reason, tt.by)
	}
	if got := ts.deployment(t, ts.admin, "edge", d3.ID); got.Status != driverhub.DeployPending {
		t.Errorf("newest deployment is %s", got.Status)
	}
	if l := must(ts.ListDeployments(ts.admin, "edge", driverhub.Page{}))(t); len(l.Items) != 3 || l.Items[0].ID != d3.ID {
		t.Errorf("deployments, newest first: %+v", l.Items)
	}
}

func TestCloseDeployment(t *testing.T) {
	t.Parallel()
	ts := newTestService(t)
	ts.newInstance(t, ts.admin, "edge")
	d := ts.deploy(t, ts.admin, "edge")
	dev := ts.userCtx(t, ts.admin, "dev", driverhub.RoleDeveloper)
	_, err := ts.CloseDeployment(ts.userCtx(t, ts.admin, "vic", driverhub.RoleViewer), "edge", d.ID)
	wantErr(t, err, driverhub.EPermissionDenied, "")
	_, err = ts.CloseDeployment(dev, "edge", driverhub.NewID())
	wantErr(t, err, driverhub.ENotFound, "")

	ts.clock.Advance(time.Second)
	c := must(ts.CloseDeployment(dev, "edge", d.ID))(t)
	if c.Status != driverhub.DeployClosed || c.FinishedAt == nil || !c.FinishedAt.Equal(ts.clock.Now()) {
		t.Errorf("closed deployment %+v", c)
	}
	contains(t, "reason", c.Reason, "dev")
	_, err = ts.CloseDeployment(dev, "edge", d.ID)
	wantErr(t, err, driverhub.EConflict, "")
	// The gateway keeps what it has until the next deployment.
	if cur := must(ts.GetInstance(ts.admin, "edge"))(t).CurrentDeployment; cur == nil || cur.ID != d.ID {
		t.Errorf("current deployment after closing: %+v", cur)
	}
}

func TestStaleDeploymentsFailOnce(t *testing.T) {
	t.Parallel()
	const timeout = 10 * time.Minute
	ts := newTestService(t)
	i := ts.newInstance(t, ts.admin, "edge")
	ts.newInstance(t, ts.admin, "idle")
	waiting := ts.deploy(t, ts.admin, "idle") // never fetched: still pending
	d := ts.deploy(t, ts.admin, "edge")
	ts.fetch(t, i.GatewaySecret, "") // processing since t0

	tests := []struct {
		after  time.Duration
		failed int
	}{
		{timeout - time.Second, 0},
		{timeout, 0},
		{timeout + time.Microsecond, 1},
		{timeout + time.Hour, 0}, // once only
	}
	for _, tt := range tests {
		ts.clock.Advance(t0.Add(tt.after).Sub(ts.clock.Now()))
		if n := must(ts.FailStaleDeployments(context.Background(), timeout))(t); n != tt.failed {
			t.Errorf("after %v: %d deployments failed, want %d", tt.after, n, tt.failed)
		}
	}
	got := ts.deployment(t, ts.admin, "edge", d.ID)
	if got.Status != driverhub.DeployFailed || got.FinishedAt == nil || !got.FinishedAt.Equal(t0.Add(timeout+time.Microsecond)) {
		t.Errorf("stale deployment is %s, finished %v", got.Status, got.FinishedAt)
	}
	contains(t, "reason", got.Reason, "timeout", timeout.String())
	if got := ts.deployment(t, ts.admin, "idle", waiting.ID); got.Status != driverhub.DeployPending {
		t.Errorf("a deployment no gateway fetched is %s, want pending", got.Status)
	}
	// A late report changes nothing.
	ts.report(t, i.GatewaySecret, driverhub.GatewayReport{Deployment: &driverhub.DeploymentReport{ID: d.ID, Status: driverhub.DeploySucceeded}})
	if again := ts.deployment(t, ts.admin, "edge", d.ID); !cmp.Equal(got, again) {
		t.Errorf("a report for a timed-out deployment changed it:\n%s", cmp.Diff(got, again))
	}
}

func TestRunDeployTimeouts(t *testing.T) {
	t.Parallel()
	ts := newTestService(t)
	i := ts.newInstance(t, ts.admin, "edge")
	d := ts.deploy(t, ts.admin, "edge")
	ts.fetch(t, i.GatewaySecret, "")
	ts.clock.Advance(time.Hour)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		ts.RunDeployTimeouts(ctx, time.Minute, time.Millisecond)
		close(done)
	}()
	for ts.deployment(t, ts.admin, "edge", d.ID).Status != driverhub.DeployFailed {
		time.Sleep(time.Millisecond) // until the loop's first ticks
	}
	cancel()
	<-done
}
