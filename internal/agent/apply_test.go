package agent

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/driverrt"
)

func key(typ driverhub.ResourceType, name string) string { return string(typ) + " " + name }

// wantResource is a resource as the server must see it after a
// deployment: its last stage and status, and lines its log must hold.
type wantResource struct {
	key    string
	stage  driverhub.Stage
	status driverhub.DeployStatus
	lines  []string
}

// checkDeployment checks what the server heard of a deployment: its
// status, a reason holding reason ("" for none) and exactly the resources.
func checkDeployment(t *testing.T, gw *testGateway, id string, status driverhub.DeployStatus, reason string, want ...wantResource) {
	t.Helper()
	gotStatus, gotReason, res := gw.deployment(id)
	if gotStatus != status || (reason == "" && gotReason != "") || !strings.Contains(gotReason, reason) {
		t.Errorf("deployment %s: %s (%q), want %s with a reason holding %q", id, gotStatus, gotReason, status, reason)
	}
	if len(res) != len(want) {
		t.Errorf("deployment %s reports %d resources, want %d", id, len(res), len(want))
	}
	for _, w := range want {
		r := res[w.key]
		if r == nil {
			t.Errorf("deployment %s: no resource %s", id, w.key)
			continue
		}
		if r.stage != w.stage || r.status != w.status {
			t.Errorf("%s: %s/%s, want %s/%s (log %q)", w.key, r.stage, r.status, w.stage, w.status, r.lines)
		}
		for _, l := range w.lines {
			if !has(r.lines, l) {
				t.Errorf("%s: log %q lacks %q", w.key, r.lines, l)
			}
		}
	}
}

// succeeded is a driver's three resources once it runs.
func succeeded(name string, lines ...string) []wantResource {
	return []wantResource{
		{key(driverhub.ResourceDriver, name), driverhub.StageFinish, driverhub.DeploySucceeded, lines},
		{key(driverhub.ResourceDriverConfig, name), driverhub.StageFinish, driverhub.DeploySucceeded, nil},
		{key(driverhub.ResourceDeviceConfig, "pk/"+name+"-dev"), driverhub.StageFinish, driverhub.DeploySucceeded, nil},
	}
}

// failed is a driver's three resources after it failed at stage.
func failed(name string, stage driverhub.Stage, lines ...string) []wantResource {
	return []wantResource{
		{key(driverhub.ResourceDriver, name), stage, driverhub.DeployFailed, lines},
		{key(driverhub.ResourceDriverConfig, name), stage, driverhub.DeployFailed, nil},
		{key(driverhub.ResourceDeviceConfig, "pk/"+name+"-dev"), stage, driverhub.DeployFailed, nil},
	}
}

func TestApplyStartsNewDriver(t *testing.T) {
	ta := newTestAgent(t)
	ta.deploy("d1", driverOf("meter", "1.0.0", ta.gw.pkg(t, "up")))

	checkDeployment(t, ta.gw, "d1", driverhub.DeploySucceeded, "", []wantResource{
		{key(driverhub.ResourceDriver, "meter"), driverhub.StageFinish, driverhub.DeploySucceeded,
			[]string{"downloading", "SHA-256 verified", "unpacked into", "starting meter 1.0.0", "meter 1.0.0 is running"}},
		{key(driverhub.ResourceDriverConfig, "meter"), driverhub.StageFinish, driverhub.DeploySucceeded, []string{"driver config: meter 1.0.0 is running"}},
		{key(driverhub.ResourceDeviceConfig, "pk/meter-dev"), driverhub.StageFinish, driverhub.DeploySucceeded, []string{"device config: meter 1.0.0 is running"}},
	}...)
	if st := ta.gw.statuses("d1"); len(st) < 2 || st[0] != driverhub.DeployProcessing {
		t.Errorf("reports of d1: %q, want processing first, then the outcome", st)
	}

	// The runtime got the driver contract of SPEC §7.
	p := ta.rt.proc("meter")
	if p == nil || p.ended() {
		t.Fatal("meter is not running")
	}
	argv, _, _ := driverhub.RuntimePython3.Command("")
	if !slices.Equal(p.spec.Command, argv) || !slices.Contains(p.spec.Env, "FUNCTION_NAME=meter") {
		t.Errorf("started %q with env %q, want %q and FUNCTION_NAME=meter", p.spec.Command, p.spec.Env, argv)
	}
	cfg, err := os.ReadFile(filepath.Join(p.spec.Dir, configFileName))
	var rc driverhub.RuntimeConfig
	if err != nil || json.Unmarshal(cfg, &rc) != nil || len(rc.DeviceList) != 1 || rc.DeviceList[0].DeviceName != "meter-dev" {
		t.Errorf("driver config %s (%v), want the runtime config with meter-dev", cfg, err)
	}
	if d := ta.gw.lastDrivers(); len(d) != 1 || d[0].Name != "meter" || d[0].Version != "1.0.0" || d[0].State != driverhub.DriverRunning {
		t.Errorf("last report's drivers: %+v, want meter 1.0.0 running", d)
	}
	// An agent restarted from the same directory knows what runs.
	st, err := ta.loadState()
	if err != nil || st.DeploymentID != "d1" || st.Drivers["meter"] == nil || st.Drivers["meter"].Dir != p.spec.Dir {
		t.Errorf("saved state %+v (%v), want d1 with meter in %s", st, err, p.spec.Dir)
	}
}

func TestApplyKeepsUnchangedDriverRunning(t *testing.T) {
	ta := newTestAgent(t)
	meter := driverOf("meter", "1.0.0", ta.gw.pkg(t, "up"))
	ta.deploy("d1", meter)
	first := ta.rt.proc("meter")
	ta.deploy("d2", meter, driverOf("valve", "1.0.0", ta.gw.pkg(t, "up", "valve.txt", "v")))

	if n := ta.rt.startsOf("meter"); n != 1 || first.ended() {
		t.Errorf("meter started %d times and stopped=%v: an unchanged driver must keep running", n, first.ended())
	}
	checkDeployment(t, ta.gw, "d2", driverhub.DeploySucceeded, "",
		append(succeeded("meter", "unchanged: 1.0.0 keeps running"), succeeded("valve", "valve 1.0.0 is running")...)...)
}

func TestApplyReplacesChangedDriver(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, ta *testAgent, md *driverhub.ManifestDriver)
	}{
		{"new version", func(t *testing.T, ta *testAgent, md *driverhub.ManifestDriver) {
			md.Version, md.Package = "2.0.0", ta.gw.pkg(t, "up", "v2.txt", "2")
		}},
		{"new device list", func(_ *testing.T, _ *testAgent, md *driverhub.ManifestDriver) {
			md.RuntimeConfig.DeviceList[0].Custom = `{"port":2}`
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ta := newTestAgent(t)
			v1 := driverOf("meter", "1.0.0", ta.gw.pkg(t, "up"))
			ta.deploy("d1", v1)
			first := ta.rt.proc("meter")
			v2 := driverOf("meter", "1.0.0", v1.Package)
			tc.change(t, ta, &v2)
			ta.deploy("d2", v2)

			if !first.wasStopped() {
				t.Error("the replaced version still runs")
			}
			if p := ta.rt.proc("meter"); p == first || p.ended() {
				t.Fatal("the new version does not run")
			}
			if got := ta.state.Drivers["meter"].Manifest; !sameDriver(&Installed{Manifest: got}, &Installed{Manifest: v2}) {
				t.Errorf("state holds %+v, want the new manifest", got)
			}
			checkDeployment(t, ta.gw, "d2", driverhub.DeploySucceeded, "", succeeded("meter", "starting meter "+v2.Version)...)
		})
	}
}

func TestApplyKeepsRunningVersionWhenPrepareFails(t *testing.T) {
	for _, tc := range []struct {
		name   string
		spoil  func(t *testing.T, ta *testAgent, md *driverhub.ManifestDriver)
		stage  driverhub.Stage
		reason string
	}{
		{"corrupt download", func(t *testing.T, ta *testAgent, md *driverhub.ManifestDriver) {
			good := ta.gw.pkg(t, "up", "v2.txt", "2")
			body := ta.gw.blobs[good.SHA256]
			bad := slices.Clone(body)
			bad[len(bad)/2] ^= 0xff
			md.Package = ta.gw.serve(body, bad)
		}, driverhub.StageVerify, "SHA-256 mismatch"},
		{"blob missing on the server", func(t *testing.T, ta *testAgent, md *driverhub.ManifestDriver) {
			md.Package = &driverhub.BlobLink{SHA256: strings.Repeat("ab", 32), Size: 10, URL: ta.gw.srv.URL + "/blobs/gone"}
		}, driverhub.StageDownload, "download abababababab"},
		{"edge version too old", func(_ *testing.T, _ *testAgent, md *driverhub.ManifestDriver) {
			md.MinEdge = "99.0.0"
		}, driverhub.StageInit, "needs edge version 99.0.0"},
		{"package holds the config file's name", func(t *testing.T, ta *testAgent, md *driverhub.ManifestDriver) {
			md.Package = ta.gw.pkg(t, "up", configFileName, "{}")
		}, driverhub.StageUnpack, "the package holds " + configFileName},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ta := newTestAgent(t)
			v1 := driverOf("meter", "1.0.0", ta.gw.pkg(t, "up"))
			ta.deploy("d1", v1)
			running := ta.rt.proc("meter")
			v2 := driverOf("meter", "2.0.0", v1.Package)
			tc.spoil(t, ta, &v2)
			ta.deploy("d2", v2)

			if running.ended() || ta.rt.startsOf("meter") != 1 {
				t.Error("the running version was stopped or restarted")
			}
			if v := ta.state.Drivers["meter"].Manifest.Version; v != "1.0.0" {
				t.Errorf("state holds meter %s, want 1.0.0", v)
			}
			checkDeployment(t, ta.gw, "d2", driverhub.DeployFailed, "meter: "+tc.reason, failed("meter", tc.stage, tc.reason)...)
		})
	}
}

func TestApplyRollsBackDriverThatDoesNotStayUp(t *testing.T) {
	for _, tc := range []struct {
		name      string
		behaviour string
		earlier   bool // a version ran before
		why       string
	}{
		{"exits at once", "exit 3", true, "(exit status 3)"},
		{"cannot start", "fail", true, "(error: fake: cannot execute the driver)"},
		{"exits at once, nothing to roll back to", "exit 3", false, "(exit status 3)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ta := newTestAgent(t)
			if tc.earlier {
				ta.deploy("d1", driverOf("meter", "1.0.0", ta.gw.pkg(t, "up")))
			}
			// The new version ends long before a generous health period.
			ta.cfg.HealthyAfter = time.Minute
			ta.deploy("d2", driverOf("meter", "2.0.0", ta.gw.pkg(t, tc.behaviour)))

			reason := "meter: did not stay up for 1m0s " + tc.why
			live := ta.rt.live()
			if !tc.earlier {
				if _, runs := live["meter"]; runs || ta.state.Drivers["meter"] != nil {
					t.Error("a driver that did not stay up, with no earlier version, must be stopped and forgotten")
				}
				checkDeployment(t, ta.gw, "d2", driverhub.DeployFailed, reason,
					failed("meter", driverhub.StageStart, tc.why, "no earlier version to roll back to: meter is stopped")...)
				return
			}
			if dir := live["meter"]; !strings.Contains(filepath.Base(dir), "1.0.0-") {
				t.Errorf("meter runs from %q, want version 1.0.0 again", dir)
			}
			if v := ta.state.Drivers["meter"].Manifest.Version; v != "1.0.0" {
				t.Errorf("state holds meter %s, want 1.0.0", v)
			}
			checkDeployment(t, ta.gw, "d2", driverhub.DeployFailed, reason,
				failed("meter", driverhub.StageStart, tc.why, "rolled back to version 1.0.0")...)
		})
	}
}

func TestApplyStopsRemovedDriver(t *testing.T) {
	ta := newTestAgent(t)
	meter := driverOf("meter", "1.0.0", ta.gw.pkg(t, "up"))
	ta.deploy("d1", meter, driverOf("valve", "1.0.0", ta.gw.pkg(t, "up")))
	valve := ta.rt.proc("valve")
	ta.deploy("d2", meter)

	if !valve.wasStopped() || ta.state.Drivers["valve"] != nil {
		t.Error("a driver no longer deployed still runs or is still in the state")
	}
	if ta.rt.proc("meter").ended() {
		t.Error("the driver still deployed was stopped")
	}
	checkDeployment(t, ta.gw, "d2", driverhub.DeploySucceeded, "", succeeded("meter", "unchanged")...)
}

func TestApplyResetStopsEverythingAndRemovesFiles(t *testing.T) {
	ta := newTestAgent(t)
	ta.deploy("d1", driverOf("meter", "1.0.0", ta.gw.pkg(t, "up")), driverOf("valve", "1.0.0", ta.gw.pkg(t, "up", "valve.txt", "v")))
	ta.deploy("d2", driverOf("meter", "2.0.0", ta.gw.pkg(t, "up", "v2.txt", "2")), driverOf("valve", "1.0.0", ta.gw.pkg(t, "up", "valve.txt", "v")))
	meter, valve := ta.rt.proc("meter"), ta.rt.proc("valve")
	ta.apply(context.Background(), &driverhub.Manifest{DeploymentID: "d3", Type: driverhub.DeployTypeReset}, "etag-d3")

	if !meter.wasStopped() || !valve.wasStopped() {
		t.Error("a driver still runs after a reset")
	}
	// Nothing of the drivers is left: unpacked versions, cached packages, logs.
	for _, dir := range []string{"drivers", "cache", "logs"} {
		if left := ta.files(t, dir); len(left) != 0 {
			t.Errorf("%s/ holds %q after a reset, want nothing", dir, left)
		}
	}
	if st, err := ta.loadState(); err != nil || len(st.Drivers) != 0 || len(st.Previous) != 0 || st.DeploymentID != "d3" {
		t.Errorf("saved state %+v (%v), want d3 with no drivers", st, err)
	}
	checkDeployment(t, ta.gw, "d3", driverhub.DeploySucceeded, "")
	if d := ta.gw.lastDrivers(); len(d) != 0 {
		t.Errorf("the last report lists drivers %+v after a reset", d)
	}
}

// The reported hang: a reset arriving while a driver resumed after an
// agent restart is still starting must stop it and finish.
func TestResetWhileResumedDriverIsStarting(t *testing.T) {
	ta := newTestAgent(t)
	ta.deploy("d1", driverOf("meter", "1.0.0", ta.gw.pkg(t, "up")))
	ta.stopAll() // the agent ends; the state says meter should run

	ta.rt.gate, ta.rt.entered = make(chan struct{}), make(chan driverrt.Spec, 1)
	if err := ta.resume(); err != nil {
		t.Fatal(err)
	}
	<-ta.rt.entered // the runtime is starting meter again
	s := ta.sups["meter"]
	applied := make(chan struct{})
	go func() {
		ta.apply(context.Background(), &driverhub.Manifest{DeploymentID: "d2", Type: driverhub.DeployTypeReset}, "etag-d2")
		close(applied)
	}()
	<-s.stop // the reset is stopping meter, which has no process yet
	close(ta.rt.gate)
	stopReturns(t, applied)
	if p := ta.rt.proc("meter"); !p.wasStopped() {
		t.Error("the resumed driver runs on after the reset")
	}
	checkDeployment(t, ta.gw, "d2", driverhub.DeploySucceeded, "")
}
