package service_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/driverhub/driverhub"
)

// Gateways as their agents describe themselves (SPEC §12).
var (
	isolating = driverhub.Capabilities{Runtimes: []string{"process", "runc"}, Isolation: true, Cgroup: "v2"}
	plainHost = driverhub.Capabilities{Runtimes: []string{"process"}, Isolation: false, Cgroup: "v1"}
)

// agentReport is what an agent of this release reports of its gateway.
func agentReport(c driverhub.Capabilities) driverhub.GatewayReport {
	r := gatewayFacts
	r.Capabilities = &c
	r.RuntimeVersions = map[driverhub.Runtime]string{"python3": "3.11.2", "java": "17.0.9"}
	return r
}

func TestCapabilitiesShownInTheInstanceView(t *testing.T) {
	t.Parallel()
	ts := newTestService(t)
	i := ts.newInstance(t, ts.admin, "edge")
	if g := must(ts.GetInstance(ts.admin, "edge"))(t).Gateway; g.Capabilities != nil || g.RuntimeVersions != nil {
		t.Fatalf("a gateway that never reported shows capabilities %+v, runtimes %v", g.Capabilities, g.RuntimeVersions)
	}
	ts.report(t, i.GatewaySecret, agentReport(isolating))
	ts.report(t, i.GatewaySecret, driverhub.GatewayReport{}) // a report without them keeps them
	want := driverhub.Gateway{Capabilities: &isolating, RuntimeVersions: map[driverhub.Runtime]string{"python3": "3.11.2", "java": "17.0.9"}}
	pick := func(g driverhub.Gateway) driverhub.Gateway {
		return driverhub.Gateway{Capabilities: g.Capabilities, RuntimeVersions: g.RuntimeVersions}
	}
	if diff := cmp.Diff(want, pick(must(ts.GetInstance(ts.admin, "edge"))(t).Gateway)); diff != "" {
		t.Errorf("instance view (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, pick(must(ts.ListInstances(ts.admin, driverhub.Page{}))(t).Items[0].Gateway)); diff != "" {
		t.Errorf("instance list (-want +got):\n%s", diff)
	}

	// An agent that says less than before is believed: no runc any more.
	ts.report(t, i.GatewaySecret, agentReport(driverhub.Capabilities{Runtimes: nil, Cgroup: ""}))
	if c := must(ts.GetInstance(ts.admin, "edge"))(t).Gateway.Capabilities; !cmp.Equal(c, &driverhub.Capabilities{Runtimes: []string{}}) {
		t.Errorf("capabilities after a report of none: %+v", c)
	}
	// An agent naming its version without capabilities predates them: what
	// the one before it could enforce no longer holds.
	// Runtime versions, mere information an agent sends once it has
	// measured them, stay as they were.
	ts.report(t, i.GatewaySecret, agentReport(isolating))
	ts.report(t, i.GatewaySecret, gatewayFacts)
	if g := must(ts.GetInstance(ts.admin, "edge"))(t).Gateway; g.Capabilities != nil || g.RuntimeVersions["python3"] != "3.11.2" {
		t.Errorf("after a report of an older agent: capabilities %+v, runtimes %v; want none, and the runtimes kept", g.Capabilities, g.RuntimeVersions)
	}
}

func TestReportRefusesCapabilitiesItCannotRecord(t *testing.T) {
	t.Parallel()
	ts := newTestService(t)
	i := ts.newInstance(t, ts.admin, "edge")
	ts.report(t, i.GatewaySecret, agentReport(plainHost))
	versions := func(rt driverhub.Runtime, v string) driverhub.GatewayReport {
		r := agentReport(plainHost)
		r.RuntimeVersions = map[driverhub.Runtime]string{"nodejs": "v18.19.0", rt: v}
		return r
	}
	tests := []struct {
		name  string
		r     driverhub.GatewayReport
		field string
	}{
		{"unknown runtime", agentReport(driverhub.Capabilities{Runtimes: []string{"process", "docker"}}), "capabilities.runtimes[1]"},
		{"runtime twice", agentReport(driverhub.Capabilities{Runtimes: []string{"runc", "runc"}, Isolation: true}), "capabilities.runtimes[1]"},
		{"cgroup v3", agentReport(driverhub.Capabilities{Runtimes: []string{"process"}, Cgroup: "v3"}), "capabilities.cgroup"},
		{"language runtime unknown", versions("perl", "5.36"), "runtime_versions.perl"},
		{"empty version", versions("python3", ""), "runtime_versions.python3"},
		{"long version", versions("java", strings.Repeat("1", driverhub.MaxRuntimeVersionBytes+1)), "runtime_versions.java"},
		{"control character", versions("python3", "3.11\n\x1b[31m"), "runtime_versions.python3"},
		{"bidirectional override", versions("python3", "3.11\u202e"), "runtime_versions.python3"},
		{"not UTF-8", versions("python3", "3.11\xff"), "runtime_versions.python3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantErr(t, ts.Report(ts.gatewayCtx(t, i.GatewaySecret), tt.r), driverhub.EInvalid, tt.field)
		})
	}
	g := must(ts.GetInstance(ts.admin, "edge"))(t).Gateway
	if !cmp.Equal(g.Capabilities, &plainHost) || g.RuntimeVersions["python3"] != "3.11.2" {
		t.Errorf("refused reports changed the gateway: %+v, %v", g.Capabilities, g.RuntimeVersions)
	}
	long := versions("java", strings.Repeat("1", driverhub.MaxRuntimeVersionBytes))
	ts.report(t, i.GatewaySecret, long) // at the limit: kept
	if v := must(ts.GetInstance(ts.admin, "edge"))(t).Gateway.RuntimeVersions["java"]; len(v) != driverhub.MaxRuntimeVersionBytes {
		t.Errorf("a version of %d bytes was kept as %q", driverhub.MaxRuntimeVersionBytes, v)
	}
}

// isolatedVersion publishes a python3 driver whose version has container
// settings that need isolation: a private network with port mappings, and
// a volume mapping.
func (ts *testService) isolatedVersion(t *testing.T, name string) {
	t.Helper()
	c := driverhub.DefaultContainer()
	c.HostNetwork = false
	c.PortMappings = []driverhub.PortMapping{{HostPort: 1502, ContainerPort: 502, Protocol: "tcp"}}
	c.VolumeMappings = []driverhub.VolumeMapping{{HostPath: "/var/lib/plc", ContainerPath: "/data", Permission: "rw"}}
	ts.ready(t, ts.admin, driverIn(name, "python3"), func(in *driverhub.VersionInput) { in.Container = &c })
}

// isolationProblems returns the isolation_unavailable problems of a deployment's refusal.
func isolationProblems(t *testing.T, err error) []driverhub.Problem {
	t.Helper()
	var out []driverhub.Problem
	for _, p := range wantErr(t, err, driverhub.EFailedPrecondition, "").Problems {
		if p.Code == driverhub.ProblemIsolationUnavailable {
			out = append(out, p)
		}
	}
	return out
}

func TestIsolationUnavailableNamesEverySetting(t *testing.T) {
	t.Parallel()
	ts := newTestService(t)
	i := ts.newInstance(t, ts.admin, "edge")
	ts.report(t, i.GatewaySecret, agentReport(plainHost))
	ts.isolatedVersion(t, "Walled")
	ts.bind(t, ts.admin, "edge", "Walled", "")
	// Other problems come in the same answer.
	for _, p := range deployProblems {
		if p.code == driverhub.ProblemEdgeVersionTooOld || p.code == driverhub.ProblemPackageMissing {
			p.setup(t, ts, "edge")
		}
	}
	_, err := ts.CreateDeployment(ts.admin, "edge", driverhub.DeployTypeDeploy)
	want := codes(driverhub.ProblemIsolationUnavailable, driverhub.ProblemEdgeVersionTooOld, driverhub.ProblemPackageMissing)
	if diff := cmp.Diff(want, problemCodes(t, err)); diff != "" {
		t.Fatalf("problem codes (-want +got):\n%s", diff)
	}
	ps := isolationProblems(t, err)
	if len(ps) != 1 || ps[0].Resource != "driver Walled" {
		t.Fatalf("isolation problems %+v, want one of driver Walled", ps)
	}
	contains(t, "the problem", ps[0].Message, "Walled", "host_network false", "port_mappings", "volume_mappings", "runtimes: process", "runc")
}

func TestIsolationChecksOnlyWhatNeedsIt(t *testing.T) {
	t.Parallel()
	ts := newTestService(t)
	plain := ts.newInstance(t, ts.admin, "plain")
	walled := ts.newInstance(t, ts.admin, "walled")
	ts.report(t, plain.GatewaySecret, agentReport(plainHost))
	ts.report(t, walled.GatewaySecret, agentReport(isolating))
	// Privileged and device mappings need no isolation: the process runtime
	// enforces device access itself.
	ts.ready(t, ts.admin, driverIn("Root", "python3"), func(in *driverhub.VersionInput) {
		c := driverhub.DefaultContainer()
		c.Privileged, c.MemoryLimitMB = true, 64
		in.Container = &c
	})
	ts.ready(t, ts.admin, driverIn("Serial", "nodejs"), func(in *driverhub.VersionInput) {
		c := driverhub.DefaultContainer()
		c.DeviceMappings = []driverhub.DeviceMapping{{HostPath: "/dev/ttyUSB0", Permission: "rw"}}
		in.Container = &c
	})
	ts.ready(t, ts.admin, driverIn("Plain", "python3"))
	ts.isolatedVersion(t, "Walled")
	for _, d := range []string{"Root", "Serial", "Plain"} {
		ts.bind(t, ts.admin, "plain", d, "")
		ts.bind(t, ts.admin, "walled", d, "")
	}
	ts.bind(t, ts.admin, "walled", "Walled", "")
	ts.deploy(t, ts.admin, "plain")
	ts.deploy(t, ts.admin, "walled")

	// The same version on the gateway that cannot isolate is refused.
	ts.bind(t, ts.admin, "plain", "Walled", "")
	_, err := ts.CreateDeployment(ts.admin, "plain", driverhub.DeployTypeDeploy)
	if diff := cmp.Diff(codes(driverhub.ProblemIsolationUnavailable), problemCodes(t, err)); diff != "" {
		t.Errorf("problem codes (-want +got):\n%s", diff)
	}
	// A reset needs nothing of the gateway.
	must(ts.CreateDeployment(ts.admin, "plain", driverhub.DeployTypeReset))(t)
}

func TestIsolationOfAGatewayThatNeverSaid(t *testing.T) {
	t.Parallel()
	ts := newTestService(t)
	i := ts.newInstance(t, ts.admin, "edge")
	ts.isolatedVersion(t, "Walled")
	ts.bind(t, ts.admin, "edge", "Walled", "")
	refusal := func(parts ...string) {
		t.Helper()
		_, err := ts.CreateDeployment(ts.admin, "edge", driverhub.DeployTypeDeploy)
		ps := isolationProblems(t, err)
		if len(ps) != 1 {
			t.Fatalf("isolation problems %+v, want one", ps)
		}
		contains(t, "the problem", ps[0].Message, parts...)
	}
	// Unknown is refused: an agent older than its capabilities would run
	// the driver on the host's network and file system.
	refusal("has not reported what it can enforce", "start its agent")
	ts.fetch(t, i.GatewaySecret, "") // polling says nothing of the gateway
	refusal("has not reported what it can enforce")
	ts.report(t, i.GatewaySecret, gatewayFacts)
	refusal("edge version 1.0.0", "does not report what it can enforce", "upgrade")

	ts.report(t, i.GatewaySecret, agentReport(isolating))
	ts.deploy(t, ts.admin, "edge")
}
